import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../version.js';

export const K8S_BOX_PROGRAMS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
] as const;

export type K8sBoxProgram = (typeof K8S_BOX_PROGRAMS)[number];

/**
 * The directory holding the control plane's programs. HWE_K8S_BOX_BIN names a ready directory;
 * otherwise tools/k8s-box/build.sh builds them (once per change of tools/k8s-box) and says where.
 * Build progress goes to `log`.
 */
export async function ensureK8sBox(log: (line: string) => void = () => undefined): Promise<string> {
  const given = process.env.HWE_K8S_BOX_BIN;
  if (given) {
    const missing = K8S_BOX_PROGRAMS.filter((p) => !existsSync(join(given, p)));
    if (missing.length) throw new Error(`HWE_K8S_BOX_BIN=${given} lacks ${missing.join(', ')}`);
    return given;
  }
  const script = join(PACKAGE_ROOT, 'tools', 'k8s-box', 'build.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let errBuf = '';
    child.stderr.on('data', (d: Buffer) => {
      errBuf += d.toString();
      let nl: number;
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        log(errBuf.slice(0, nl));
        errBuf = errBuf.slice(nl + 1);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (errBuf) log(errBuf);
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else reject(new Error(`tools/k8s-box/build.sh failed (exit ${code}); see the lines above`));
    });
  });
}
