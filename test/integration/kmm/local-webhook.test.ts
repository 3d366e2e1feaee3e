/**
 * config/webhook/local/manifests.yaml, the configuration for a webhook run on a workstation,
 * on the real apiserver: it is the generated configuration; the webhook checks Modules only in
 * namespaces labelled kmm.node.k8s.io/contains-modules; once the webhook stops, only those
 * namespaces are blocked from deletion, and removing the label releases them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { installCrds } from '../../../src/api/index.js';
import { ResourceClient, ValidatingWebhookConfigurations } from '../../../src/runtime/index.js';
import {
  kmmWebhookConfiguration,
  startKmmWebhook,
  type ValidatingWebhookConfiguration,
} from '../../../src/kmm/webhook/index.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { eventually, onCleanup, testCluster, uniqueName } from '../../support/cluster.js';

const LABEL = 'kmm.node.k8s.io/contains-modules';
const LOCAL_URL = 'https://127.0.0.1:9443';

const cluster = await testCluster();
const client = cluster.client;
await installCrds(client);
const vwcApi = new ResourceClient<ValidatingWebhookConfiguration>(
  client,
  ValidatingWebhookConfigurations,
);

const shipped = parse(
  readFileSync(join(PACKAGE_ROOT, 'config/webhook/local/manifests.yaml'), 'utf8'),
) as ValidatingWebhookConfiguration;

async function namespace(labelled: boolean): Promise<string> {
  const name = uniqueName(labelled ? 'kmm-local-in' : 'kmm-local-out');
  await client.request('/api/v1/namespaces', {
    method: 'POST',
    body: { metadata: { name, ...(labelled ? { labels: { [LABEL]: '' } } : {}) } },
  });
  return name;
}

async function deleteNamespace(name: string): Promise<void> {
  await client.request(`/api/v1/namespaces/${name}`, { method: 'DELETE' });
}

/** A Module whose regexp does not compile: only the webhook refuses it (the CRD cannot). */
function badModule(ns: string) {
  return {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name: uniqueName('bad'), namespace: ns },
    spec: {
      selector: { 'hwe.test/none': 'x' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'kmod' },
          kernelMappings: [{ regexp: '(x', containerImage: 'r.example/i:1' }],
        },
      },
    },
  };
}
const createModule = (ns: string) =>
  client.request(`/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${ns}/modules`, {
    method: 'POST',
    body: badModule(ns),
  });

test('the shipped local configuration is the generated one, by url, scoped by the label', () => {
  const generated = kmmWebhookConfiguration({
    name: 'kmm-local-validating-webhook-configuration',
    target: { url: LOCAL_URL },
    namespaceSelector: { matchExpressions: [{ key: LABEL, operator: 'Exists' }] },
  });
  assert.deepEqual(shipped, JSON.parse(JSON.stringify(generated)));
});

test('a stopped local webhook blocks only labelled namespaces, until the label goes', async () => {
  const inNs = await namespace(true);
  const outNs = await namespace(false);
  // The shipped configuration under a name of our own, its urls on the port the server gets.
  const name = uniqueName('kmm-local-webhook');
  await vwcApi.create({ ...structuredClone(shipped), metadata: { name } });
  onCleanup(() => vwcApi.deleteIfExists(name));
  const hook = await startKmmWebhook({
    client,
    host: '127.0.0.1',
    port: 0,
    certificates: {
      mode: 'self',
      certDir: mkdtempSync(join(tmpdir(), 'hwe-kmm-local-webhook-')),
      ipAddresses: ['127.0.0.1'],
      dnsNames: [],
      secretNamespace: outNs,
      secretName: 'kmm-webhook-cert',
      webhookConfigurationName: name,
    },
  });
  let stopped = false;
  onCleanup(async () => {
    if (!stopped) await hook.stop();
  });
  const vwc = await eventually('the CA in the configuration', async () => {
    const v = await vwcApi.get(name);
    return v.webhooks.every((w) => (w['clientConfig'] as { caBundle?: string }).caBundle)
      ? v
      : undefined;
  });
  for (const w of vwc.webhooks) {
    const cc = w['clientConfig'] as { url: string };
    assert.ok(cc.url.startsWith(LOCAL_URL), cc.url);
    cc.url = cc.url.replace(LOCAL_URL, `https://127.0.0.1:${hook.port}`);
  }
  await vwcApi.update(vwc);

  const refused = await eventually(
    'the webhook to refuse a bad regexp in the labelled namespace',
    () =>
      createModule(inNs).then(
        () => undefined,
        (e: Error) => (/denied the request/.test(e.message) ? e : undefined),
      ),
  );
  assert.match(refused.message, /kernelMappings\[0\]\.regexp/);
  await createModule(outNs); // not labelled: the webhook is not asked

  await hook.stop();
  stopped = true;
  await deleteNamespace(outNs);
  const blocked = await eventually('deleting the labelled namespace refused', () =>
    deleteNamespace(inNs).then(
      () => assert.fail('the labelled namespace was deleted with its webhook down'),
      (e: Error) => (/namespace-deletion\.kmm\.sigs\.x-k8s\.io/.test(e.message) ? e : undefined),
    ),
  );
  assert.match(blocked.message, /failed calling webhook/);
  await client.request(`/api/v1/namespaces/${inNs}`, {
    method: 'PATCH',
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { [LABEL]: null } } },
  });
  await eventually('the namespace deleted once unlabelled', () =>
    deleteNamespace(inNs).then(
      () => true,
      () => false,
    ),
  );
});
