import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HWE_MAIN } from '../../support/cli.js';
import { onCleanup } from '../../support/cluster.js';

export interface MasterProgram extends ChildProcess {
  /** What it wrote to stderr so far (its JSON log lines), up to the last 200 kB. */
  log(): string;
}

let link: string | undefined;

/**
 * Runs nfd-master as a program, under upstream's name with single-dash flags, as upstream
 * manifests do; stopped when the file's tests end.
 */
export function runMasterProgram(
  args: string[],
  o: { kubeconfig: string; namespace: string },
): MasterProgram {
  if (!link) {
    const dir = mkdtempSync(join(tmpdir(), 'nfdm-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    link = join(dir, 'nfd-master');
    symlinkSync(HWE_MAIN, link);
  }
  const child = spawn(
    process.execPath,
    [link, ...args, '-kubeconfig', o.kubeconfig, '-port', '0'],
    {
      env: { ...process.env, POD_NAMESPACE: o.namespace },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-200_000)));
  child.on('exit', (code, sig) => {
    if (code && sig !== 'SIGTERM' && sig !== 'SIGKILL') {
      process.stderr.write(`nfd-master exited ${code}: ${err.slice(-4000)}\n`);
    }
  });
  onCleanup(async () => void child.kill('SIGTERM'));
  return Object.assign(child, { log: () => err });
}

/** Stops a master program with SIGTERM (or `signal`) and waits for it to exit. */
export function stopChild(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill(signal);
  });
}
