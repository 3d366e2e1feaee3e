import { spawn } from 'node:child_process';

export interface ModprobeResult {
  /** Exit status; 127 when the program could not be started. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs modprobe with the given arguments. Tests pass a recording fake or a dry-run wrapper. */
export type ModprobeRunner = (args: readonly string[]) => Promise<ModprobeResult>;

/**
 * Runs the modprobe binary at `path`, copying its output to `out` as it comes (so the pod log
 * shows the `insmod …` lines of `-v`) and keeping it for the error message.
 */
export function spawnModprobe(
  path: string,
  out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): ModprobeRunner {
  return (args) =>
    new Promise((resolve) => {
      const child = spawn(path, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        out.stdout.write(d);
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        out.stderr.write(d);
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'ENOENT' ? 'not found' : e.message;
        resolve({ code: 127, stdout, stderr: `${stderr}cannot run ${path}: ${why}\n` });
      });
      child.on('close', (code, signal) => {
        if (signal) stderr += `${path} killed by ${signal}\n`;
        resolve({ code: code ?? 128, stdout, stderr });
      });
    });
}

export interface ModprobeFailure {
  /** The module modprobe names in its message, when it names one. */
  module?: string;
  /** The cause, e.g. `Required key not available`, `Module foo not found in directory …`. */
  reason: string;
}

const MESSAGE = /^(?:\S*modprobe): (?:ERROR|FATAL): (.*)$/;
const COULD_NOT = /^could not (?:insert|remove) '([^']+)': (.*)$/;

/** What went wrong, from modprobe's stderr; the last ERROR/FATAL line is the one that counts. */
export function modprobeFailure(result: ModprobeResult): ModprobeFailure {
  const lines = result.stderr.split('\n').map((l) => l.trim());
  const messages = lines.map((l) => MESSAGE.exec(l)?.[1]).filter((m): m is string => !!m);
  const last = messages.at(-1);
  if (last) {
    const c = COULD_NOT.exec(last);
    return c ? { module: c[1]!, reason: c[2]! } : { reason: last };
  }
  const tail = lines.filter((l) => l !== '').at(-1);
  return { reason: tail ?? `modprobe exited with status ${result.code}` };
}

/** A hint for causes users meet often, so the message says what to do. */
export function failureHint(reason: string): string | undefined {
  if (/Required key not available|Key was rejected by service/i.test(reason)) {
    return (
      'the node enforces module signatures (Secure Boot) and does not trust the key this module ' +
      'was signed with: sign it (spec.moduleLoader.container.sign) with a key enrolled in the ' +
      "node's MOK database"
    );
  }
  if (/not found in directory/.test(reason)) {
    return (
      'the image has no module of that name for this kernel under <dirName>/lib/modules/<kernel>; ' +
      'check the kernel mapping and run depmod -b <dirName> <kernel> when building the image'
    );
  }
  if (/Invalid module format|Exec format error/i.test(reason)) {
    return 'the module was built for another kernel than the one this node runs';
  }
  return undefined;
}
