import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../src/version.js';

/** The compiled CLI of the same build as this file (dist/src/cli/main.js or another outDir). */
export const HWE_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * What runs `hwe`: the committed launcher bin/hwe when this is the regular build (dist/), as a
 * user runs it; the build's own main.js otherwise.
 */
export const HWE_ENTRY =
  HWE_MAIN === join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js')
    ? join(PACKAGE_ROOT, 'bin', 'hwe')
    : HWE_MAIN;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `hwe ARGS...` as a child process, as a user would. */
export function runHwe(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HWE_ENTRY, ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
