/**
 * A headless Chromium for tests and benchmarks that drive web pages: Debian's `chromium`
 * (scripts/apt-packages.txt), driven with puppeteer-core. HWE_CHROMIUM names another binary.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { launch, type Browser } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium binary, or an error that says how to install it. */
export function chromiumPath(): string {
  const given = process.env.HWE_CHROMIUM;
  if (given) {
    if (!existsSync(given)) throw new Error(`HWE_CHROMIUM=${given}: no such file`);
    return given;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `Chromium is not installed (looked for ${CANDIDATES.join(', ')}): run ./scripts/setup.sh, ` +
        "which installs Debian's chromium package listed in scripts/apt-packages.txt " +
        '(or set HWE_CHROMIUM to a Chromium binary)',
    );
  }
  return found;
}

/** Starts a headless Chromium; close it with `browser.close()`. */
export function launchChromium(): Promise<Browser> {
  return launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in a container has no user namespace for Chromium's sandbox.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    defaultViewport: { width: 1400, height: 900 },
    protocolTimeout: 120_000,
  });
}

/** Where screenshots and other artefacts of a test go (dist/test-artifacts/NAME, gitignored). */
export function artefactDir(name: string): string {
  const dir = new URL(`../../test-artifacts/${name}/`, import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Starts `node MAIN ARGS…` and resolves once a line of its stderr matches `ready`. */
export function startUntil(
  main: string,
  args: string[],
  ready: RegExp,
  timeoutMs = 120_000,
): Promise<{ match: RegExpExecArray; stop: () => Promise<void>; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no line matching ${ready} within ${timeoutMs / 1000}s; stderr:\n${err}`));
    }, timeoutMs);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = ready.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          match: m,
          pid: child.pid!,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before it was ready; stderr:\n${err}`));
    });
  });
}
