/**
 * The tools that check the install artefacts, built once from their Go modules by
 * tools/install-box/build.sh (cached under ~/.cache/hwe/install-box); build progress is shown.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/version.js';

export type InstallTool = 'helm' | 'operator-verify';

const built = new Map<InstallTool, Promise<string>>();

/** Path of the tool's binary, building it first when the cache lacks it. */
export function installTool(tool: InstallTool): Promise<string> {
  let p = built.get(tool);
  if (!p) {
    p = new Promise<string>((resolve, reject) => {
      const child = spawn('bash', [join(PACKAGE_ROOT, 'tools', 'install-box', 'build.sh'), tool], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const dir = out.trim().split('\n').pop();
        if (code === 0 && dir) resolve(join(dir, tool));
        else reject(new Error(`tools/install-box/build.sh ${tool} failed (exit ${code})`));
      });
    });
    built.set(tool, p);
  }
  return p;
}
