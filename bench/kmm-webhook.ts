/**
 * KMM admission webhook: validation time per object (the seed's annotated Module, and the
 * worst inputs the limits allow: a 1024-character case-insensitive regexp, a Module whose
 * regexps fill the 16 KiB budget, a 64 KiB kernel version), then AdmissionReviews per second
 * and latency percentiles over HTTPS with 8 concurrent clients.
 *
 * Usage: kmm-webhook [REQUESTS=4000]
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { silentLogger } from '../src/runtime/index.js';
import { validateKmmObject } from '../src/kmm/validation/index.js';
import { startKmmWebhook, WEBHOOK_PATHS } from '../src/kmm/webhook/index.js';
import { PACKAGE_ROOT } from '../src/version.js';

const module = (kernelMappings: unknown[]) => ({
  apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
  kind: 'Module',
  metadata: { name: 'bench', namespace: 'bench' },
  spec: {
    selector: {},
    moduleLoader: { container: { modprobe: { moduleName: 'm' }, kernelMappings } },
  },
});

function perObject(name: string, obj: unknown, runs: number): void {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) validateKmmObject(obj);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / runs;
  const errors = validateKmmObject(obj)!.errors.length;
  console.log(`  ${name.padEnd(44)} ${us.toFixed(1).padStart(9)} µs  (${errors} errors)`);
}

export default async function (args: string[]): Promise<void> {
  const requests = Number(args[0] ?? 4000);
  const seed = parse(
    readFileSync(join(PACKAGE_ROOT, 'examples/kmm/module.yaml'), 'utf8'),
  ) as unknown;
  console.log('validation, per object:');
  perObject('seed module.yaml', seed, 2000);
  perObject(
    'regexp (?i) of 1024 characters',
    module([{ regexp: `(?i)${'ab|'.repeat(340)}`, containerImage: 'r/m:1' }]),
    200,
  );
  perObject(
    '16 regexps of 1024 (the whole budget)',
    module(
      Array.from({ length: 16 }, (_, i) => ({
        regexp: `${i}${'(a|b)*'.repeat(170)}`,
        containerImage: 'r/m:1',
      })),
    ),
    50,
  );
  perObject(
    '17 regexps of 1024 (over the budget)',
    module(
      Array.from({ length: 17 }, (_, i) => ({
        regexp: `${i}${'(a|b)*'.repeat(170)}`,
        containerImage: 'r/m:1',
      })),
    ),
    50,
  );
  perObject(
    'kernel version of 64 KiB',
    {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
      kind: 'PreflightValidation',
      metadata: { name: 'p' },
      spec: { kernelVersion: '5.14.0-'.padEnd(65536, '1.') },
    },
    200,
  );

  const hook = await startKmmWebhook({
    host: '127.0.0.1',
    port: 0,
    certificates: {
      mode: 'self',
      certDir: mkdtempSync(join(tmpdir(), 'hwe-bench-')),
      dnsNames: [],
      ipAddresses: ['127.0.0.1'],
    },
    log: silentLogger,
  });
  const body = Buffer.from(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'bench',
        kind: { group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', kind: 'Module' },
        resource: { group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', resource: 'modules' },
        operation: 'CREATE',
        object: seed,
      },
    }),
  );
  // Kept-alive connections, as the apiserver keeps them to a webhook.
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = request(
        {
          host: '127.0.0.1',
          port: hook.port,
          path: WEBHOOK_PATHS.module,
          method: 'POST',
          ca: hook.caPem,
          agent,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const latencies: number[] = [];
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < requests) latencies.push(await once());
    }),
  );
  const secs = (Date.now() - t0) / 1000;
  agent.destroy();
  await hook.stop();
  latencies.sort((a, b) => a - b);
  const p = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
  console.log(
    `HTTPS (kept-alive connections, 8 clients): ${requests} reviews in ${secs.toFixed(1)} s = ${(requests / secs).toFixed(0)}/s`,
  );
  console.log(`  latency ms: p50 ${p(0.5)}  p99 ${p(0.99)}  max ${p(1)}`);
}
