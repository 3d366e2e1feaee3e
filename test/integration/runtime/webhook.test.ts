import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { eventually, testCluster, testNamespace, uniqueName } from '../../support/cluster.js';
import {
  allow,
  ConfigMaps,
  deny,
  isKubeError,
  MutatingWebhookConfigurations,
  ResourceClient,
  silentLogger,
  ValidatingWebhookConfigurations,
  WebhookServer,
  type KubeObject,
} from '../../../src/runtime/index.js';
import { servingCertificate } from './certs.js';
import type { ConfigMap } from './sample.js';

const cluster = await testCluster();
const ns = await testNamespace(cluster.client, 'rt-webhook');
const cms = new ResourceClient<ConfigMap>(cluster.client, ConfigMaps, 'hwe-test');

const dir = mkdtempSync(join(tmpdir(), 'hwe-webhook-'));
const certFile = join(dir, 'tls.crt');
const keyFile = join(dir, 'tls.key');
/** Writes a pair the way kubelet updates a mounted Secret: new files renamed into place. */
function install(pair: { cert: string; key: string }): void {
  writeFileSync(`${keyFile}.new`, pair.key);
  writeFileSync(`${certFile}.new`, pair.cert);
  renameSync(`${keyFile}.new`, keyFile);
  renameSync(`${certFile}.new`, certFile);
}
const first = servingCertificate();
install(first);
/** The pair installed by the reload test, if it ran. */
let second: ReturnType<typeof servingCertificate> | undefined;

const MESSAGE =
  'data.forbidden: this key is not allowed in ConfigMaps of this namespace; remove it';
const server = new WebhookServer({
  host: '127.0.0.1',
  port: 0,
  certFile,
  keyFile,
  reloadIntervalMs: 100,
  log: silentLogger,
})
  .validating<ConfigMap>('/validate', (req) =>
    req.object?.data?.forbidden !== undefined ? deny(MESSAGE) : allow(),
  )
  .mutating<ConfigMap>('/mutate', (obj) => {
    obj.metadata.labels = { ...obj.metadata.labels, 'hwe.test/mutated': 'yes' };
    return obj;
  });
const { port } = await server.start();
after(() => server.stop());

const name = uniqueName('hwe-test-webhook');
const rules = [
  {
    operations: ['CREATE', 'UPDATE'],
    apiGroups: [''],
    apiVersions: ['v1'],
    resources: ['configmaps'],
    scope: 'Namespaced',
  },
];
const hook = (path: string, ca: string) => ({
  name: `${path.slice(1)}.hwe.test`,
  clientConfig: {
    url: `https://127.0.0.1:${port}${path}`,
    caBundle: Buffer.from(ca).toString('base64'),
  },
  rules,
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
  sideEffects: 'None',
  admissionReviewVersions: ['v1'],
  failurePolicy: 'Fail',
  timeoutSeconds: 5,
});
const vwc = new ResourceClient<KubeObject & { webhooks: unknown[] }>(
  cluster.client,
  ValidatingWebhookConfigurations,
);
const mwc = new ResourceClient<KubeObject & { webhooks: unknown[] }>(
  cluster.client,
  MutatingWebhookConfigurations,
);
await vwc.create({ metadata: { name }, webhooks: [hook('/validate', first.ca)] });
await mwc.create({ metadata: { name }, webhooks: [hook('/mutate', first.ca)] });
after(async () => {
  // Run alone, the file's own control plane may already be gone: nothing to clean then.
  await vwc.deleteIfExists(name).catch(() => undefined);
  await mwc.deleteIfExists(name).catch(() => undefined);
});

async function rejectionOf(obj: ConfigMap): Promise<unknown> {
  try {
    await cms.create(obj);
    await cms.deleteIfExists(obj.metadata.name!, { namespace: ns });
    return undefined;
  } catch (e) {
    return e;
  }
}

test('a ValidatingWebhookConfiguration makes the apiserver reject a bad object with our message', async () => {
  const e = await eventually('the webhook to be in force', () =>
    rejectionOf({ metadata: { name: uniqueName('bad'), namespace: ns }, data: { forbidden: 'x' } }),
  );
  assert.ok(isKubeError(e, 'Forbidden'), String(e));
  assert.ok(e.message.includes(MESSAGE), e.message);
  const good = await cms.create({
    metadata: { name: uniqueName('good'), namespace: ns },
    data: { fine: 'y' },
  });
  assert.equal(
    good.metadata.labels?.['hwe.test/mutated'],
    'yes',
    'the mutating webhook patched it',
  );
});

function servedCertificate(ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const fp = s.getPeerX509Certificate()?.fingerprint256 ?? '';
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

test('the serving certificate is reloaded when its files change', async () => {
  assert.equal(await servedCertificate(first.ca), new X509Certificate(first.cert).fingerprint256);
  const next = servingCertificate();
  second = next;
  install(next);
  const want = new X509Certificate(next.cert).fingerprint256;
  await eventually(
    'the new certificate to be served',
    async () => (await servedCertificate(next.ca)) === want,
  );
  // The apiserver, told the new CA, reaches the webhook through the new certificate.
  await vwc.patch(
    name,
    [
      {
        op: 'replace',
        path: '/webhooks/0/clientConfig/caBundle',
        value: Buffer.from(next.ca).toString('base64'),
      },
    ],
    { type: 'json' },
  );
  const e = await eventually('rejection through the new certificate', async () => {
    const r = await rejectionOf({
      metadata: { name: uniqueName('bad'), namespace: ns },
      data: { forbidden: 'x' },
    });
    return isKubeError(r, 'Forbidden') && r.message.includes(MESSAGE) ? r : undefined;
  });
  assert.ok(e);
});

async function post(
  path: string,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca: [first.ca, second?.ca ?? ''].join('\n'),
        servername: 'localhost',
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('AdmissionReview handling: answers, patches, and refusals of bad requests', async () => {
  const review = (path: string, object: unknown) =>
    post(
      path,
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: 'u-1', operation: 'CREATE', object },
      }),
    );
  const m = await review('/mutate', { metadata: { name: 'x', labels: { a: 'b' } } });
  assert.equal(m.status, 200);
  const resp = m.json.response as {
    uid: string;
    allowed: boolean;
    patchType: string;
    patch: string;
  };
  assert.equal(resp.uid, 'u-1');
  assert.equal(resp.patchType, 'JSONPatch');
  assert.deepEqual(JSON.parse(Buffer.from(resp.patch, 'base64').toString()), [
    { op: 'add', path: '/metadata/labels/hwe.test~1mutated', value: 'yes' },
  ]);
  const v = await review('/validate', { metadata: { name: 'x' }, data: { forbidden: '1' } });
  assert.deepEqual((v.json.response as { status: unknown }).status, {
    code: 403,
    message: MESSAGE,
    reason: 'Forbidden',
  });
  assert.equal((await post('/nowhere', '{}')).status, 404);
  assert.equal((await post('/validate', 'not json')).status, 400);
  assert.equal((await post('/validate', '{"kind":"Other"}')).status, 400);
});
