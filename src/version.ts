import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: two levels above dist/src (or src when run from source). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return dir;
    dir = up;
  }
  return dir;
}

export const PACKAGE_ROOT = packageRoot();

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

/** The commit hwe was built from: HWE_COMMIT, else the checkout's HEAD, else "unknown". */
function readCommit(): string {
  if (process.env.HWE_COMMIT) return process.env.HWE_COMMIT;
  try {
    const head = readFileSync(join(PACKAGE_ROOT, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 12);
    const ref = head.slice(5);
    const loose = join(PACKAGE_ROOT, '.git', ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim().slice(0, 12);
    const packed = readFileSync(join(PACKAGE_ROOT, '.git', 'packed-refs'), 'utf8');
    const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
    return line ? line.slice(0, 12) : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const VERSION = readVersion();
export const COMMIT = readCommit();
