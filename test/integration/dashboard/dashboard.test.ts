/**
 * `hwe dashboard` on the real control plane, its page driven in a headless Chromium: NFD and
 * KMM objects are created, each view shows their counts, changes on the apiserver reach the
 * page, no Secret data reaches it, and off loopback every request is reviewed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { installCrds } from '../../../src/api/index.js';
import { DashboardServer } from '../../../src/dashboard/server.js';
import type { KubeClient } from '../../../src/runtime/index.js';
import { artefactDir, chromiumPath, launchChromium, startUntil } from '../../support/browser.js';
import { HWE_MAIN } from '../../support/cli.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import { getInsecure } from '../../support/https.js';

const DEADLINE = 60_000;
const F = 'feature.node.kubernetes.io';
const KERNEL = '5.14.0-284.30.1.el9_2.x86_64';
const OTHER_KERNEL = '4.18.0-1.el8.x86_64';
const SECRET_VALUE = 'do-not-show-7c1e9b2f';

const cluster = await testCluster();
const client = cluster.client;
await installCrds(client);
const ns = await testNamespace(client, 'dashboard');
const id = ns.slice('dashboard-'.length);
const prefix = `dash-${id}`;
const shots = artefactDir('dashboard');

type Json = Record<string, unknown>;
const post = (path: string, body: Json) => client.request<Json>(path, { method: 'POST', body });
const patch = (path: string, body: Json) =>
  client.request<Json>(path, {
    method: 'PATCH',
    body,
    contentType: 'application/merge-patch+json',
  });

const KMM = '/apis/kmm.sigs.x-k8s.io';
const NFD = '/apis/nfd.k8s-sigs.io/v1alpha1';
const node = (i: number) => `${prefix}-${i}`;
const select = `hwe.test/dash-${id}`;
const vendor = `Vendor${id}`;

// Four nodes selected by the Module: loaded, failing, pending, and one on a kernel no mapping
// covers; two of them (0 and 1) with a CPU vendor the rule matches.
await testNodes(client, [
  { name: node(0), labels: { [select]: 'yes', [`${F}/cpu-cpuid.AVX2`]: 'true' } },
  { name: node(1), labels: { [select]: 'yes', [`${F}/pci-0300_10de.present`]: 'true' } },
  { name: node(2), labels: { [select]: 'yes' } },
  { name: node(3), labels: { [select]: 'yes' }, kernelVersion: OTHER_KERNEL },
]);

async function setup(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await post(`${NFD}/namespaces/${ns}/nodefeatures`, {
      apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
      kind: 'NodeFeature',
      metadata: {
        name: node(i),
        namespace: ns,
        labels: { 'nfd.node.kubernetes.io/node-name': node(i) },
      },
      spec: {
        features: {
          attributes: { 'cpu.model': { elements: { vendor_id: i < 2 ? vendor : 'Other' } } },
        },
      },
    });
  }
  await post(`${NFD}/nodefeaturerules`, {
    apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
    kind: 'NodeFeatureRule',
    metadata: { name: `${prefix}-rule` },
    spec: {
      rules: [
        {
          name: 'our-vendor',
          labels: { [`dash-${id}`]: 'true' },
          matchFeatures: [
            {
              feature: 'cpu.model',
              matchExpressions: { vendor_id: { op: 'In', value: [vendor] } },
            },
          ],
        },
      ],
    },
  });
  onCleanup(() => client.request(`${NFD}/nodefeaturerules/${prefix}-rule`, { method: 'DELETE' }));
  await post(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'pull' },
    stringData: { '.dockerconfigjson': `{"auths":{"r":{"auth":"${SECRET_VALUE}"}}}` },
    type: 'kubernetes.io/dockerconfigjson',
  });
  await createModule('drv');
  // What the KMM operator would have written: node 0 loaded, node 1 failed, an image present.
  await patch(`/api/v1/nodes/${node(0)}`, {
    metadata: { labels: { [`kmm.node.kubernetes.io/${ns}.drv.ready`]: '' } },
  });
  await post(`${KMM}/v1beta1/nodemodulesconfigs`, {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'NodeModulesConfig',
    metadata: {
      name: node(1),
      annotations: { [`kmm.node.kubernetes.io/last-error.${ns}.drv`]: 'modprobe: FATAL: drv' },
    },
    spec: {},
  });
  onCleanup(() =>
    client.request(`${KMM}/v1beta1/nodemodulesconfigs/${node(1)}`, { method: 'DELETE' }),
  );
  await post(`${KMM}/v1beta1/namespaces/${ns}/moduleimagesconfigs`, {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'ModuleImagesConfig',
    metadata: { name: 'drv', namespace: ns },
    spec: { images: [{ image: `reg.example/drv:${KERNEL}`, kernelVersion: KERNEL }] },
  });
  await patchStatus(`${KMM}/v1beta1/namespaces/${ns}/moduleimagesconfigs/drv`, {
    status: { imagesStates: [{ image: `reg.example/drv:${KERNEL}`, status: 'Exists' }] },
  });
  await post(`${KMM}/v1beta2/preflightvalidations`, {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
    kind: 'PreflightValidation',
    metadata: { name: `${prefix}-pf` },
    spec: { kernelVersion: '6.2.0-1.el9.x86_64' },
  });
  onCleanup(() =>
    client.request(`${KMM}/v1beta2/preflightvalidations/${prefix}-pf`, { method: 'DELETE' }),
  );
  const at = '2026-01-01T00:00:00Z';
  await patchStatus(`${KMM}/v1beta2/preflightvalidations/${prefix}-pf`, {
    status: {
      modules: [
        {
          name: 'drv',
          namespace: ns,
          verificationStatus: 'Success',
          verificationStage: 'Done',
          lastTransitionTime: at,
        },
        {
          name: 'other',
          namespace: ns,
          verificationStatus: 'Failure',
          verificationStage: 'Done',
          statusReason: 'no kernel mapping',
          lastTransitionTime: at,
        },
      ],
    },
  });
  await post('/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies', {
    apiVersion: 'topology.node.k8s.io/v1alpha2',
    kind: 'NodeResourceTopology',
    metadata: { name: node(0) },
    zones: [
      {
        name: 'node-0',
        type: 'Node',
        resources: [{ name: 'cpu', capacity: '8', allocatable: '8', available: '6' }],
      },
      {
        name: 'node-1',
        type: 'Node',
        resources: [{ name: 'cpu', capacity: '8', allocatable: '8', available: '8' }],
      },
    ],
  });
  onCleanup(() =>
    client.request(`/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies/${node(0)}`, {
      method: 'DELETE',
    }),
  );
}

async function patchStatus(path: string, body: Json): Promise<void> {
  await client.request(`${path}/status`, {
    method: 'PATCH',
    body,
    contentType: 'application/merge-patch+json',
  });
}

async function createModule(name: string): Promise<void> {
  await post(`${KMM}/v1beta1/namespaces/${ns}/modules`, {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name, namespace: ns },
    spec: {
      selector: { [select]: 'yes' },
      imageRepoSecret: { name: 'pull' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: name },
          kernelMappings: [{ literal: KERNEL, containerImage: `reg.example/${name}:${KERNEL}` }],
        },
      },
    },
  });
}

/** The text of the first element matching `sel`, or undefined. */
function text(page: Page, sel: string): Promise<string | undefined> {
  return page
    .$eval(sel, (e) => (e as unknown as { textContent: string | null }).textContent ?? '')
    .catch(() => undefined);
}

async function waitText(page: Page, sel: string, want: string, what: string): Promise<void> {
  await eventually(
    `${what}: ${sel} to read ${JSON.stringify(want)}`,
    async () => (await text(page, sel))?.trim() === want,
    DEADLINE,
    200,
  );
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

test('the page shows each view with the right counts and follows changes live', async () => {
  chromiumPath(); // fails with how to install it, before anything else
  await setup();
  const dash = await startUntil(
    HWE_MAIN,
    ['dashboard', '--kubeconfig', cluster.kubeconfig, '--listen', '127.0.0.1:0'],
    /dashboard: serving (http:\/\/127\.0\.0\.1:\d+\/)/,
  );
  onCleanup(() => dash.stop());
  const url = dash.match[1]!;
  const browser: Browser = await launchChromium();
  onCleanup(() => browser.close());
  const page = await browser.newPage();
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(String(e)));
  page.on('requestfailed', (r) => {
    if (!r.url().endsWith('/api/events')) failures.push(`${r.url()}: ${r.failure()?.errorText}`);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: DEADLINE });

  // Nodes: the search finds our four nodes; the feature groups are counted.
  await page.type('#search', prefix);
  await waitText(page, '#nodes-total', '4', 'nodes view');
  assert.equal(await text(page, `[data-node="${node(0)}"] span:nth-child(4)`), '1'); // cpu
  assert.equal(await text(page, `[data-node="${node(1)}"] span:nth-child(6)`), '1'); // pci
  assert.match((await text(page, `[data-node="${node(0)}"]`)) ?? '', /1 loaded/);
  assert.match((await text(page, `[data-node="${node(1)}"]`)) ?? '', /1 failed/);
  assert.ok(await page.$(`#kernel-plot [data-kernel="${OTHER_KERNEL}"]`), 'kernel plot bar');
  await shot(page, 'nodes');

  // A node's page: its NodeFeature as stored and the rule that matched it.
  await page.goto(`${url}#node/${node(0)}`);
  await page.waitForSelector('#raw-nodefeature', { timeout: DEADLINE });
  assert.match((await text(page, '#raw-nodefeature')) ?? '', new RegExp(vendor));
  assert.match(
    (await text(page, '#node-rules')) ?? '',
    new RegExp(`our-vendor.*${F}/dash-${id}=true`),
  );
  assert.match((await text(page, '#node-modules')) ?? '', new RegExp(`${ns}/drv\\s*loaded`));
  await shot(page, 'node');

  // Rules: two nodes carry the vendor.
  await page.goto(`${url}#rules`);
  await waitText(page, `tr[data-rule="${prefix}-rule"] td.matched`, '2', 'rules view');
  await shot(page, 'rules');

  // Modules: 4 nodes, 1 loaded, 1 pending, 2 failed (a load error, no mapping for a kernel).
  await page.goto(`${url}#modules`);
  const card = `[data-module="${ns}/drv"]`;
  await waitText(page, `${card} .matched`, '4', 'modules view');
  assert.equal(await text(page, `${card} .loaded`), '1');
  assert.equal(await text(page, `${card} .pending`), '1');
  assert.equal(await text(page, `${card} .failed`), '2');
  const cardText = (await text(page, card)) ?? '';
  assert.match(cardText, /modprobe: FATAL: drv/);
  assert.match(
    cardText,
    new RegExp(`no entry matches kernel ${OTHER_KERNEL.replace(/\./g, '\\.')}`),
  );
  assert.match(cardText, /present/);
  assert.ok(await page.$('#rollout-plot path'), 'rollout plot');
  await shot(page, 'modules');

  // Preflight and topology.
  await page.goto(`${url}#preflight`);
  await waitText(page, `[data-preflight="${prefix}-pf"] .failure`, '1', 'preflight view');
  assert.equal(await text(page, `[data-preflight="${prefix}-pf"] .success`), '1');
  await shot(page, 'preflight');
  await page.goto(`${url}#topology`);
  await page.waitForSelector(`[data-topology="${node(0)}"]`, { timeout: DEADLINE });
  assert.equal(await page.$$eval(`[data-topology="${node(0)}"] tbody tr`, (r) => r.length), 2);
  await shot(page, 'topology');

  // Live: the pending node gets the module, and a second Module appears, without a reload.
  await page.goto(`${url}#modules`);
  await waitText(page, `${card} .loaded`, '1', 'modules view again');
  await patch(`/api/v1/nodes/${node(2)}`, {
    metadata: { labels: { [`kmm.node.kubernetes.io/${ns}.drv.ready`]: '' } },
  });
  await waitText(page, `${card} .loaded`, '2', 'a node labelled loaded');
  await createModule('second');
  await waitText(page, `[data-module="${ns}/second"] .matched`, '4', 'a new Module');
  await shot(page, 'modules-live');

  // Live on the nodes view: a label added to a node makes it match the search.
  await page.goto(`${url}#nodes`);
  await page.waitForSelector('#search');
  await page.type('#search', `gpu-${id}`);
  await waitText(page, '#nodes-total', '0', 'no node with the label yet');
  await patch(`/api/v1/nodes/${node(3)}`, { metadata: { labels: { [`${F}/gpu-${id}`]: 'yes' } } });
  await waitText(page, '#nodes-total', '1', 'a node labelled on the apiserver');
  await shot(page, 'nodes-live');

  // No Secret data anywhere the page can reach.
  const paths = [
    '/',
    '/api/summary',
    `/api/nodes?q=${prefix}`,
    `/api/nodes/${node(0)}`,
    '/api/rules',
    '/api/modules',
    '/api/preflight',
    '/api/topology',
    '/api/rollout',
  ];
  const bodies = await page.evaluate(
    (ps) => Promise.all(ps.map((p) => fetch(p).then((r) => r.text()))),
    paths,
  );
  const b64 = Buffer.from(SECRET_VALUE).toString('base64');
  for (const [i, body] of bodies.entries()) {
    assert.ok(!body.includes(SECRET_VALUE) && !body.includes(b64), `${paths[i]} shows secret data`);
  }
  assert.deepEqual(failures, []);
});

async function serviceAccountToken(c: KubeClient, name: string): Promise<string> {
  await c.request(`/api/v1/namespaces/${ns}/serviceaccounts`, {
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
  });
  const tr = await c.request<{ status: { token: string } }>(
    `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
    {
      method: 'POST',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    },
  );
  return tr.status.token;
}

test('off loopback every request needs a token that may list what the view shows', async () => {
  const viewer = await serviceAccountToken(client, 'viewer');
  const stranger = await serviceAccountToken(client, 'stranger');
  const role = uniqueName('dashboard-nodes');
  await post('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: role },
    rules: [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
      { apiGroups: ['nfd.k8s-sigs.io'], resources: ['nodefeatures'], verbs: ['get', 'list'] },
      {
        apiGroups: ['kmm.sigs.x-k8s.io'],
        resources: ['nodemodulesconfigs'],
        verbs: ['get', 'list'],
      },
    ],
  });
  onCleanup(() =>
    client.request(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${role}`, { method: 'DELETE' }),
  );
  await post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: role },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace: ns }],
  });
  onCleanup(() =>
    client.request(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${role}`, {
      method: 'DELETE',
    }),
  );
  // As in-cluster, on loopback only because tests listen nowhere else.
  const server = new DashboardServer({ client, listen: '127.0.0.1:0', authenticate: true });
  await server.start();
  onCleanup(() => server.stop());
  const port = Number(new URL(server.url).port);
  assert.match(server.url, /^https:/);

  assert.equal((await getInsecure(port, '/api/nodes')).status, 401);
  assert.equal((await getInsecure(port, '/api/nodes', 'not-a-token')).status, 401);
  const denied = await getInsecure(port, '/api/nodes', stranger);
  assert.equal(denied.status, 403);
  assert.match(denied.body, /may not list nodes, nodefeatures, nodemodulesconfigs/);
  await eventually(
    'the viewer to be allowed the nodes view (RBAC is applied asynchronously)',
    async () => (await getInsecure(port, `/api/nodes?q=${prefix}`, viewer)).status === 200,
    DEADLINE,
    500,
  );
  const nodes = JSON.parse((await getInsecure(port, `/api/nodes?q=${prefix}`, viewer)).body) as {
    total: number;
  };
  assert.ok(nodes.total >= 4);
  const modules = await getInsecure(port, '/api/modules', viewer);
  assert.equal(modules.status, 403);
  assert.match(modules.body, /may not list modules/);
  const summary = JSON.parse((await getInsecure(port, '/api/summary', viewer)).body) as {
    hidden: string[];
  };
  assert.ok(summary.hidden.includes('modules') && !summary.hidden.includes('nodes'));
  assert.equal((await getInsecure(port, '/', viewer)).status, 200);
});

test('a kind the cluster did not serve at start gets its view once it is served', async () => {
  await createModule('late');
  // The apiserver's discovery of the KMM group answers "no resources" until `hidden` is cleared,
  // as before KMM's CRDs are installed; every other request goes to the real apiserver.
  let hidden = true;
  const kmmGroup = `${KMM}/v1beta1`;
  const hiding = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'request')
        return <T>(path: string, init?: Parameters<KubeClient['request']>[1]): Promise<T> =>
          hidden && path === kmmGroup
            ? Promise.resolve({ resources: [] } as T)
            : target.request<T>(path, init);
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const server = new DashboardServer({ client: hiding, listen: '127.0.0.1:0', discoverMs: 500 });
  await server.start();
  onCleanup(() => server.stop());
  const modules = async () => {
    const r = await fetch(new URL('/api/modules', server.url));
    assert.equal(r.status, 200);
    return ((await r.json()) as { items: { namespace: string; name: string }[] }).items;
  };
  const late = (items: { namespace: string; name: string }[]) =>
    items.some((m) => m.namespace === ns && m.name === 'late');
  assert.equal(late(await modules()), false, 'Modules are not served yet');
  hidden = false;
  await eventually(
    'the Module to show once its kind is served',
    async () => late(await modules()),
    DEADLINE,
    500,
  );
});
