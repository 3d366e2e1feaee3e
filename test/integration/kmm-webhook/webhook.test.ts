/**
 * The KMM webhook registered with the real apiserver (reached by URL on 127.0.0.1, certificate
 * self-managed): invalid objects are refused with the field named, the seeds' examples are
 * admitted, and a namespace holding Modules cannot be deleted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { installCrds } from '../../../src/api/index.js';
import {
  isKubeError,
  ResourceClient,
  ValidatingWebhookConfigurations,
} from '../../../src/runtime/index.js';
import { isValidatedKind } from '../../../src/kmm/validation/index.js';
import {
  kmmWebhookConfiguration,
  startKmmWebhook,
  type ValidatingWebhookConfiguration,
} from '../../../src/kmm/webhook/index.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { eventually, onCleanup, testCluster, uniqueName } from '../../support/cluster.js';

type Json = Record<string, unknown>;

const cluster = await testCluster();
const client = cluster.client;
await installCrds(client);

const TEST_LABEL = 'hwe.test/kmm-webhook';
const run = uniqueName('kmmwh');
const labels = { [TEST_LABEL]: run };
const vwcName = uniqueName('hwe-test-kmm-webhook');

// The webhook's own namespace guard makes namespace clean-up order matter: Modules first.
async function createNamespace(): Promise<string> {
  const name = uniqueName('kmm-webhook');
  await client.request('/api/v1/namespaces', {
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
  });
  onCleanup(async () => {
    await client
      .request(`/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${name}/modules`, { method: 'DELETE' })
      .catch(() => undefined);
    await client.request(`/api/v1/namespaces/${name}`, { method: 'DELETE' }).catch(() => undefined);
  });
  return name;
}
const ns = await createNamespace();

const vwcApi = new ResourceClient<ValidatingWebhookConfiguration>(
  client,
  ValidatingWebhookConfigurations,
);
// The configuration exists before the webhook starts, as in a deployment: the webhook
// injects its CA into it.
await vwcApi.create(
  kmmWebhookConfiguration({
    name: vwcName,
    target: { url: 'https://127.0.0.1:1' },
    namespaceSelector: { matchLabels: labels },
    objectSelector: { matchLabels: labels },
  }),
);
onCleanup(() => vwcApi.deleteIfExists(vwcName));

const hook = await startKmmWebhook({
  client,
  host: '127.0.0.1',
  port: 0,
  certificates: {
    mode: 'self',
    certDir: mkdtempSync(join(tmpdir(), 'hwe-kmm-webhook-')),
    ipAddresses: ['127.0.0.1'],
    dnsNames: [],
    secretNamespace: ns,
    secretName: 'kmm-webhook-cert',
    webhookConfigurationName: vwcName,
  },
});
onCleanup(() => hook.stop());
// Point the configuration at the port the server got.
{
  const vwc = await vwcApi.get(vwcName);
  for (const w of vwc.webhooks) {
    const cc = w['clientConfig'] as { url: string };
    cc.url = cc.url.replace('https://127.0.0.1:1', `https://127.0.0.1:${hook.port}`);
  }
  await vwcApi.update(vwc);
}

const paths: Record<string, string> = {
  Module: `/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${ns}/modules`,
  PreflightValidation: '/apis/kmm.sigs.x-k8s.io/v1beta2/preflightvalidations',
  PreflightValidationOCP: '/apis/kmm.sigs.x-k8s.io/v1beta2/preflightvalidationsocp',
  ManagedClusterModule: '/apis/hub.kmm.sigs.x-k8s.io/v1beta1/managedclustermodules',
};

function prepare(obj: Json): Json {
  const meta: Json = { ...(obj['metadata'] as Json), name: uniqueName('obj'), labels };
  if (obj['kind'] === 'Module') meta['namespace'] = ns;
  else delete meta['namespace'];
  return { ...obj, metadata: meta };
}

/** Creates the object; the error if the apiserver refused it (else deletes it again). */
async function refusal(obj: Json): Promise<Error | undefined> {
  const o = prepare(obj);
  const base = paths[o['kind'] as string]!;
  try {
    await client.request(base, { method: 'POST', body: o });
  } catch (e) {
    return e as Error;
  }
  await client.request(`${base}/${(o['metadata'] as Json)['name'] as string}`, {
    method: 'DELETE',
  });
  return undefined;
}

const module = (container: Json = {}, spec: Json = {}): Json => ({
  apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
  kind: 'Module',
  metadata: {},
  spec: {
    selector: { 'hwe.test/none': run },
    moduleLoader: {
      container: {
        modprobe: { moduleName: 'kmod' },
        kernelMappings: [{ regexp: '^.+$', containerImage: 'reg.example/kmod:${KERNEL_XYZ}' }],
        ...container,
      },
    },
    ...spec,
  },
});

test('the webhook is in force (an invalid regexp is refused by the webhook)', async () => {
  const e = await eventually('the webhook to refuse a bad regexp', () =>
    refusal(module({ kernelMappings: [{ regexp: '(x', containerImage: 'r.example/i:1' }] })),
  );
  assert.ok(e.message.includes('denied the request'), e.message);
  assert.ok(e.message.includes('kernelMappings[0].regexp'), e.message);
});

// [case, object, text the refusal must contain (the field)]
const invalid: [string, Json, string][] = [
  [
    'regexp that does not compile',
    module({ kernelMappings: [{ regexp: 'a{2000}', containerImage: 'r.example/i:1' }] }),
    'kernelMappings[0].regexp',
  ],
  [
    'image without tag',
    module({ kernelMappings: [{ literal: '6.1.0-1', containerImage: 'r.example:5000/kmod' }] }),
    'kernelMappings[0].containerImage',
  ],
  [
    'mapping without any image',
    module({ kernelMappings: [{ literal: '6.1.0-1', containerImage: '' }] }),
    'kernelMappings[0].containerImage',
  ],
  [
    'literal and regexp',
    module({
      kernelMappings: [{ literal: '6.1.0-1', regexp: 'x', containerImage: 'r.example/i:1' }],
    }),
    'kernelMappings[0]',
  ],
  [
    'moduleName and rawArgs',
    module({ modprobe: { moduleName: 'a', rawArgs: { load: ['a'], unload: ['a'] } } }),
    'modprobe.rawArgs',
  ],
  ['rawArgs without unload', module({ modprobe: { rawArgs: { load: ['a'] } } }), 'modprobe'],
  [
    'modulesLoadingOrder duplicate',
    module({ modprobe: { moduleName: 'a', modulesLoadingOrder: ['a', 'b', 'b'] } }),
    'modulesLoadingOrder[2]',
  ],
  [
    'modulesLoadingOrder not starting with moduleName',
    module({ modprobe: { moduleName: 'a', modulesLoadingOrder: ['b', 'a'] } }),
    'modulesLoadingOrder',
  ],
  [
    'file to sign outside dirName',
    module({
      sign: {
        keySecret: { name: 'k' },
        certSecret: { name: 'c' },
        unsignedImage: 'r.example/u:1',
        filesToSign: ['/etc/x.ko'],
      },
    }),
    'sign.filesToSign[0]',
  ],
  [
    'no files to sign',
    module({
      sign: {
        keySecret: { name: 'k' },
        certSecret: { name: 'c' },
        unsignedImage: 'r.example/u:1',
        filesToSign: [],
      },
    }),
    'sign.filesToSign',
  ],
  [
    'toleration key',
    module({}, { tolerations: [{ key: 'a/b/c', operator: 'Exists' }] }),
    'tolerations[0].key',
  ],
  [
    'toleration Exists with value',
    module({}, { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }),
    'tolerations[0].value',
  ],
  [
    'tolerationSeconds without NoExecute',
    module({}, { tolerations: [{ key: 'k', effect: 'NoSchedule', tolerationSeconds: 1 }] }),
    'tolerations[0]',
  ],
  [
    'device plugin hostPath /etc',
    module(
      {},
      {
        devicePlugin: {
          container: { image: 'r.example/p:1' },
          volumes: [{ name: 'v', hostPath: { path: '/etc' } }],
        },
      },
    ),
    'devicePlugin.volumes[0].hostPath.path',
  ],
  [
    'device plugin hostPath escaping /dev',
    module(
      {},
      {
        devicePlugin: {
          container: { image: 'r.example/p:1' },
          volumes: [{ name: 'v', hostPath: { path: '/dev/../root' } }],
        },
      },
    ),
    'devicePlugin.volumes[0].hostPath.path',
  ],
  [
    'preflight kernel tesdt',
    {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
      kind: 'PreflightValidation',
      metadata: {},
      spec: { kernelVersion: 'tesdt' },
    },
    'spec.kernelVersion',
  ],
  [
    'preflight kernel a.b.c',
    {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
      kind: 'PreflightValidation',
      metadata: {},
      spec: { kernelVersion: 'a.b.c' },
    },
    'spec.kernelVersion',
  ],
  [
    'preflight OCP kernel too long',
    {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
      kind: 'PreflightValidationOCP',
      metadata: {},
      spec: { kernelVersion: `5.14.0-${'1.'.repeat(40)}x86_64` },
    },
    'spec.kernelVersion',
  ],
  [
    'managed module with a bad regexp',
    {
      apiVersion: 'hub.kmm.sigs.x-k8s.io/v1beta1',
      kind: 'ManagedClusterModule',
      metadata: {},
      spec: {
        spokeNamespace: 'kmm',
        selector: { a: 'b' },
        moduleSpec: module({
          kernelMappings: [{ regexp: '[z-a]', containerImage: 'r.example/i:1' }],
        })['spec'],
      },
    },
    'spec.moduleSpec.moduleLoader.container.kernelMappings[0].regexp',
  ],
];

/** Cases the CRD's own schema and CEL rules catch before admission webhooks run. */
const CRD_REFUSES = new Set([
  'literal and regexp',
  'rawArgs without unload',
  'modulesLoadingOrder duplicate',
  'modulesLoadingOrder not starting with moduleName',
  'tolerationSeconds without NoExecute',
  'preflight kernel tesdt',
  'preflight OCP kernel too long',
]);

for (const [name, obj, field] of invalid) {
  test(`refused: ${name}`, async () => {
    const e = await refusal(obj);
    assert.ok(e, 'the apiserver admitted it');
    assert.ok(isKubeError(e), String(e));
    assert.ok(e.message.includes(field), `"${field}" not in: ${e.message}`);
    // Shapes the CRD schema already refuses never reach the webhook; the rest must be its.
    if (!CRD_REFUSES.has(name)) assert.ok(e.message.includes('denied the request'), e.message);
  });
}

test('crafted kernel versions and regexps are answered, not crashed on', async () => {
  const crafted = [
    '((((((((((a*)*)*)*)*)*)*)*)*)*)*',
    '(a|aa)*b'.repeat(100),
    '\uFFFD\uD800.*',
    'x{1000}{1000}',
    '(?P<n>a)(?P<n>b)',
  ];
  for (const regexp of crafted) {
    // Either answer is fine; what matters is an answer from a live webhook.
    await refusal(module({ kernelMappings: [{ regexp, containerImage: 'r.example/i:1' }] }));
  }
  for (const kernelVersion of [
    '5.14.0-\uD800',
    '9'.repeat(60) + '.1.1',
    '1.2.3-' + '\u0000',
    '-.-.-',
  ]) {
    await refusal({
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
      kind: 'PreflightValidation',
      metadata: {},
      spec: { kernelVersion },
    });
  }
  const e = await refusal(
    module({ kernelMappings: [{ regexp: '(', containerImage: 'r.example/i:1' }] }),
  );
  assert.ok(e?.message.includes('denied the request'), 'the webhook still answers');
});

test("the seeds' KMM examples are admitted", async () => {
  const dir = join(PACKAGE_ROOT, 'examples/kmm');
  let admitted = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    for (const d of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const obj = d.toJS() as Json;
      if (!isValidatedKind(obj)) continue;
      const e = await refusal(obj);
      assert.equal(e, undefined, `${f}: ${String(e)}`);
      admitted++;
    }
  }
  assert.ok(admitted >= 5, `only ${admitted} examples`);
});

test('version cannot switch between empty and set on update', async () => {
  const o = prepare(module());
  const name = (o['metadata'] as Json)['name'] as string;
  const created = await client.request<Json>(paths['Module']!, { method: 'POST', body: o });
  const spec = structuredClone(created['spec']) as { moduleLoader: { container: Json } };
  spec.moduleLoader.container['version'] = 'v2';
  await assert.rejects(
    client.request(`${paths['Module']}/${name}`, {
      method: 'PUT',
      body: { ...created, spec },
    }),
    (e: Error) => e.message.includes('spec.moduleLoader.container.version'),
  );
  await client.request(`${paths['Module']}/${name}`, { method: 'DELETE' });
});

test('a namespace holding Modules cannot be deleted; without them it can', async () => {
  const other = await createNamespace();
  const o = prepare(module());
  (o['metadata'] as Json)['namespace'] = other;
  const name = (o['metadata'] as Json)['name'] as string;
  const base = `/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${other}/modules`;
  await client.request(base, { method: 'POST', body: o });
  await assert.rejects(
    client.request(`/api/v1/namespaces/${other}`, { method: 'DELETE' }),
    (e: Error) => e.message.includes(`still holds Modules (${name})`),
  );
  await client.request(`${base}/${name}`, { method: 'DELETE' });
  await eventually('the Module to be gone', async () => {
    const list = await client.request<{ items: unknown[] }>(base);
    return list.items.length === 0;
  });
  await client.request(`/api/v1/namespaces/${other}`, { method: 'DELETE' });
});

test('the self-managed certificate is kept in a Secret and its CA in the configuration', async () => {
  const secret = await client.request<{ data: Record<string, string> }>(
    `/api/v1/namespaces/${ns}/secrets/kmm-webhook-cert`,
  );
  assert.equal(Buffer.from(secret.data['ca.crt']!, 'base64').toString(), hook.caPem);
  const vwc = await vwcApi.get(vwcName);
  for (const w of vwc.webhooks) {
    const cc = w['clientConfig'] as { caBundle: string };
    assert.equal(Buffer.from(cc.caBundle, 'base64').toString(), hook.caPem);
  }
  assert.equal(
    vwc.webhooks.every((w) => w['failurePolicy'] === 'Fail'),
    true,
  );
});
