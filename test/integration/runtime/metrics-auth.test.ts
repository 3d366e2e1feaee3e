import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  uniqueName,
  serviceAccountToken,
} from '../../support/cluster.js';
import { DelegatingAuth, Manager, silentLogger } from '../../../src/runtime/index.js';
import { getInsecure as get } from '../../support/https.js';
import { generateServingCertificate } from '../../../src/pki/index.js';

const cluster = await testCluster();
const { client } = cluster;
const ns = await testNamespace(client, 'rt-metrics-auth');

async function newServiceAccountToken(name: string): Promise<string> {
  await client.request(`/api/v1/namespaces/${ns}/serviceaccounts`, {
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
  });
  return serviceAccountToken(client, ns, name);
}

test('secure metrics: no token 401, a token without the permission 403, with it 200', async () => {
  const reader = await newServiceAccountToken('prometheus');
  const stranger = await newServiceAccountToken('stranger');
  const role = uniqueName('metrics-reader');
  await client.request('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    method: 'POST',
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: role },
      rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
    },
  });
  onCleanup(() =>
    client.request(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${role}`, { method: 'DELETE' }),
  );
  await client.request('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    method: 'POST',
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: role },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: ns }],
    },
  });
  onCleanup(() =>
    client.request(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${role}`, {
      method: 'DELETE',
    }),
  );

  const mgr = new Manager({
    client,
    name: 'rt-metrics-auth',
    healthProbeAddress: '127.0.0.1:0',
    metricsAddress: '127.0.0.1:0',
    metricsSecure: true, // loopback is plain unless asked
    metricsAuth: new DelegatingAuth(client, { cacheTtlMs: 0 }),
    log: silentLogger,
  });
  await mgr.start();
  onCleanup(() => mgr.stop());
  const port = mgr.addresses.metrics!.port;

  const none = await get(port, '/metrics');
  assert.equal(none.status, 401, none.body);
  assert.equal((await get(port, '/metrics', 'not-a-token')).status, 401);
  const forbidden = await get(port, '/metrics', stranger);
  assert.equal(forbidden.status, 403, forbidden.body);
  assert.match(forbidden.body, new RegExp(`system:serviceaccount:${ns}:stranger`));
  // RBAC bindings reach the authorizer's cache within moments; tests poll, never sleep.
  const ok = await eventually(
    '200 for the bound ServiceAccount',
    async () => {
      const r = await get(port, '/metrics', reader);
      return r.status === 200 ? r : undefined;
    },
    60_000,
    500,
  );
  assert.match(ok.body, /hwe_build_info\{/);
  // The probes stay plain HTTP on their own port, without a token.
  const health = await fetch(`http://127.0.0.1:${mgr.addresses.health!.port}/healthz`);
  assert.equal(health.status, 200);
});

test('a mounted metrics certificate is served and reloaded when it changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hwe-metrics-cert-'));
  const write = () => {
    const pair = generateServingCertificate({
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    // Key first, then the certificate, each by rename, as a Secret volume update does.
    writeFileSync(join(dir, 'tls.key.new'), pair.keyPem);
    renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
    writeFileSync(join(dir, 'tls.crt.new'), pair.certPem);
    renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
    return new X509Certificate(pair.certPem).fingerprint256;
  };
  const first = write();
  const mgr = new Manager({
    client,
    name: 'rt-metrics-cert',
    metricsAddress: '127.0.0.1:0',
    metricsSecure: true,
    metricsCertDir: dir,
    log: silentLogger,
  });
  await mgr.start();
  onCleanup(() => mgr.stop());
  const port = mgr.addresses.metrics!.port;
  assert.equal((await get(port, '/metrics')).fingerprint, first);
  const second = write();
  await eventually(
    'the renewed certificate served',
    async () => (await get(port, '/metrics')).fingerprint === second,
    60_000,
    500,
  );
});

test('metrics on the probe address must be plain', async () => {
  const mgr = new Manager({
    client,
    name: 'rt-metrics-shared',
    healthProbeAddress: '127.0.0.1:18099',
    metricsAddress: '127.0.0.1:18099',
    metricsSecure: true,
  });
  await assert.rejects(mgr.start(), /secure metrics need their own port/);
  await mgr.stop();
});
