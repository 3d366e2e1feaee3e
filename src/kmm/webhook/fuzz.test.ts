/**
 * Fuzzing: thousands of generated kernel versions and regexps (long, nested quantifiers, huge
 * repetition counts, lone surrogates, invalid UTF-8 bytes) through the validation functions
 * and through the webhook's HTTPS endpoint. Every input must get an answer — allowed or a
 * refusal naming the field — within the webhook timeout the configuration gives the apiserver.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../runtime/index.js';
import { validateKmmObject } from '../validation/index.js';
import { startKmmWebhook, WEBHOOK_PATHS, type KmmWebhook } from './index.js';
import { rng } from '../../../test/support/fuzz.js';
import { testModule } from '../../../test/fixtures/kmm/module.js';

/** The timeoutSeconds kmmWebhookConfiguration sets: past it the apiserver fails the request. */
const WEBHOOK_TIMEOUT_MS = 10_000;

const KERNEL_PARTS = [
  '5',
  '14',
  '0',
  '284',
  '.',
  '-',
  ',',
  '_',
  '+',
  'el9',
  'x86_64',
  'tesdt',
  '',
  ' ',
  '\u0000',
  '\uD800',
  '\uDFFF',
  '\uFFFD',
  'é',
  '🐧',
  '999999999999999999999',
  '$',
  '${KERNEL_X}',
  '/',
  '\\',
];
const RE_PARTS = [
  'a',
  '.',
  '*',
  '+',
  '?',
  '(',
  ')',
  '(?:',
  '(?i)',
  '(?P<n>',
  '[',
  ']',
  '[^',
  '\\',
  '\\d',
  '\\p{Greek}',
  '\\C',
  '\\Q',
  '\\E',
  '|',
  '^',
  '$',
  '{',
  '}',
  '{1000}',
  '{1001}',
  '{0,1000}',
  '{2147483648}',
  '{99999999999}',
  '\uD800',
  '\uFFFD',
  '🐧',
  '\\x{10FFFF}',
  '\\x{110000}',
  '\\1',
  '(?=',
  '(?<',
  '\u0000',
  '\\.',
  'fc37',
  '\\f',
];

function kernelVersion(r: ReturnType<typeof rng>): string {
  switch (r.int(4)) {
    case 0:
      return Array.from({ length: r.int(12) }, () => r.pick(KERNEL_PARTS)).join('');
    case 1: // long
      return (
        `${r.int(10)}.${r.int(30)}.${r.int(300)}-` +
        r.pick(['1.', 'x', '-', '\uD800']).repeat(r.int(50_000))
      );
    case 2: // invalid UTF-8 bytes, decoded as a server would
      return Buffer.from(Array.from({ length: r.int(80) }, () => r.int(256))).toString('utf8');
    default:
      return `${r.int(10)}.${r.int(30)}.${r.int(300)}-${r.int(1000)}.el${r.int(10)}.x86_64`;
  }
}

function regexp(r: ReturnType<typeof rng>, depth = 0): string {
  switch (r.int(depth > 3 ? 2 : 5)) {
    case 0:
      return Array.from({ length: 1 + r.int(20) }, () => r.pick(RE_PARTS)).join('');
    case 1:
      return r.pick(['a', '(a|aa)', '.', '[a-z]']).repeat(r.int(3000));
    case 2: // nested quantifiers
      return `(${regexp(r, depth + 1)})${r.pick(['*', '+', '{1000}', '{2,999}', '*?', ''])}`;
    case 3:
      return Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256))).toString('utf8');
    default:
      return `(${regexp(r, depth + 1)}|${regexp(r, depth + 1)})`;
  }
}

const moduleWith = (re: string) =>
  testModule(
    { kernelMappings: [{ regexp: re, containerImage: 'r.example/m:1' }] },
    {},
    { name: 'fuzz', namespace: 'fuzz' },
  );
const preflightWith = (kernelVersion: string) => ({
  apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
  kind: 'PreflightValidation',
  metadata: { name: 'fuzz' },
  spec: { kernelVersion },
});

test('validation answers every generated kernel version and regexp', () => {
  const r = rng(0x6b6d6d);
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const k = validateKmmObject(preflightWith(kernelVersion(r)))!;
    const m = validateKmmObject(moduleWith(regexp(r)))!;
    for (const e of [...k.errors, ...m.errors]) {
      assert.ok(e.field.startsWith('spec.'), e.field);
      refused++;
    }
  }
  // The generators produce both kinds of input: a fuzzer that only hits errors tests little.
  assert.ok(refused > 500 && refused < 5500, `${refused} refusals of 6000`);
  assert.deepEqual(
    validateKmmObject(preflightWith('tesdt'))!.errors[0]?.field,
    'spec.kernelVersion',
  );
});

let hook: KmmWebhook;
before(async () => {
  hook = await startKmmWebhook({
    host: '127.0.0.1',
    port: 0,
    certificates: {
      mode: 'self',
      certDir: mkdtempSync(join(tmpdir(), 'hwe-kmm-fuzz-')),
      dnsNames: [],
      ipAddresses: ['127.0.0.1'],
    },
    log: silentLogger,
  });
});
after(() => hook.stop());

/** Posts a raw body; resolves with the status and parsed response, or fails at the timeout. */
function post(
  path: string,
  body: Buffer,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: hook.port,
        path,
        method: 'POST',
        ca: hook.caPem,
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode!,
              json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
            });
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function review(uid: string, object: unknown): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', kind: 'Module' },
        resource: { group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', resource: 'modules' },
        operation: 'CREATE',
        object,
      },
    }),
  );
}

test('the webhook endpoint answers every generated input', async () => {
  const r = rng(0x77656268);
  const inputs: { path: string; body: Buffer; uid: string }[] = [];
  for (let i = 0; i < 1000; i++) {
    inputs.push({
      path: WEBHOOK_PATHS.module,
      uid: `m${i}`,
      body: review(`m${i}`, moduleWith(regexp(r))),
    });
    inputs.push({
      path: WEBHOOK_PATHS.preflightValidation,
      uid: `k${i}`,
      body: review(`k${i}`, preflightWith(kernelVersion(r))),
    });
  }
  // Raw invalid UTF-8 inside the JSON strings, as a broken client could send it.
  for (let i = 0; i < 200; i++) {
    const bytes = Buffer.from(Array.from({ length: 1 + r.int(40) }, () => 0x80 + r.int(128)));
    const body = Buffer.from(
      review(`u${i}`, preflightWith('@@')).toString().replace('@@', '\u0001'),
    );
    const at = body.indexOf(1);
    inputs.push({
      path: WEBHOOK_PATHS.preflightValidation,
      uid: `u${i}`,
      body: Buffer.concat([body.subarray(0, at), bytes, body.subarray(at + 1)]),
    });
  }
  let next = 0;
  let denied = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const { path, body, uid } = inputs[next++]!;
      const { status, json } = await post(path, body);
      assert.equal(status, 200, JSON.stringify(json));
      const res = json['response'] as {
        uid: string;
        allowed: boolean;
        status?: { code: number; message: string };
      };
      assert.equal(res.uid, uid);
      if (!res.allowed) {
        denied++;
        assert.equal(res.status?.code, 403, res.status?.message);
        assert.match(res.status.message, /spec\./);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.ok(denied > 0 && denied < inputs.length, `${denied} of ${inputs.length} denied`);
});
