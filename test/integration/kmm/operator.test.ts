import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import { rebootNode, upgradeKernel } from '../../../src/cluster/nodes.js';
import {
  installCrds,
  ModuleImagesConfigs,
  Modules,
  NodeModulesConfigs,
  type Module,
} from '../../../src/api/index.js';
import {
  DaemonSets,
  Events,
  Manager,
  Nodes,
  Pods,
  ResourceClient,
  ServiceAccounts,
  createLogger,
  silentLogger,
  type Condition,
  type KubeObject,
} from '../../../src/runtime/index.js';
import { defaultConfig, setupKmmControllers } from '../../../src/kmm/operator/index.js';
import { startWorkerDriver, type Outcome } from '../../../src/cluster/kmm-workers.js';
import {
  DEVICE_PLUGIN_LABEL,
  devicePluginVersionLabel,
  readyLabel,
  WORKER_LABELS,
  type WorkerPod,
} from '../../../src/kmm/common/index.js';

const cluster = await testCluster();
const client = cluster.client;
await installCrds(client);

const K1 = '5.14.0-284.30.1.el9_2.x86_64';
const K2 = '6.1.0-18-amd64';
const K3 = '4.18.0-80.el8.x86_64'; // no mapping
const sel = uniqueName('kmm-sel');
const n = (i: number) => `${sel}-n${i}`;
const nodeNames = [1, 2, 3, 4, 5, 6].map(n);

const opNs = await testNamespace(client, 'kmm-op'); // the trusted namespace
const userNs = await testNamespace(client, 'kmm-user');

const modules = new ResourceClient<Module>(client, Modules, 'test');
const mics = new ResourceClient(client, ModuleImagesConfigs, 'test');
const nmcs = new ResourceClient(client, NodeModulesConfigs, 'test');
const nodesApi = new ResourceClient(client, Nodes, 'test');
const podsApi = new ResourceClient<WorkerPod>(client, Pods, 'test');
const dsApi = new ResourceClient(client, DaemonSets, 'test');
const events = new ResourceClient<
  KubeObject & { reason: string; message: string; involvedObject: { name?: string; kind?: string } }
>(client, Events, 'test');

/** Per module name: the termination message to fail its worker pods with. */
const failWith = new Map<string, string>();
/** Module names whose worker pods are held (neither succeed nor fail) while listed. */
const holdFor = new Set<string>();
const driver = await startWorkerDriver(client, (pod): Outcome => {
  if (!nodeNames.includes(pod.spec.nodeName)) return 'hold';
  const mod = pod.metadata.labels?.[WORKER_LABELS.moduleName] ?? '';
  if (holdFor.has(mod)) return 'hold';
  const msg = failWith.get(mod);
  return msg ? { fail: msg } : 'succeed';
});
onCleanup(() => driver.stop());

const mgr = new Manager({
  client,
  name: 'kmm-test',
  log: process.env.HWE_LOG_LEVEL ? createLogger({ name: 'kmm-test' }) : silentLogger,
});
setupKmmControllers(mgr, {
  config: defaultConfig(),
  operatorNamespace: opNs,
  workerImage: 'hwe:test',
  retryBaseMs: 500,
});

before(async () => {
  const sas = new ResourceClient(client, ServiceAccounts, 'test');
  for (const name of ['kmm-operator-module-loader', 'kmm-operator-device-plugin']) {
    await sas.create({ metadata: { name, namespace: opNs } });
  }
  await testNodes(client, [
    { name: n(1), labels: { [sel]: 'yes' }, kernelVersion: K1 },
    { name: n(2), labels: { [sel]: 'yes' }, kernelVersion: K1 },
    { name: n(3), labels: { [sel]: 'yes' }, kernelVersion: K2 },
    { name: n(4), labels: { [sel]: 'yes' }, kernelVersion: K3 },
    { name: n(5), kernelVersion: K1 }, // not selected
    {
      name: n(6),
      labels: { [sel]: 'yes' },
      kernelVersion: K1,
      taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
    },
  ]);
  await mgr.start();
});
after(() => mgr.stop());

function module(name: string, namespace: string, extra: Partial<Module['spec']> = {}): Module {
  return {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name, namespace },
    spec: {
      selector: { [sel]: 'yes' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'kmm_ci_a' },
          kernelMappings: [
            { literal: K1, containerImage: 'registry.example/kmm-ci:${KERNEL_FULL_VERSION}' },
            { regexp: '^6\\.1\\.', containerImage: 'registry.example/kmm-ci-deb:${KERNEL_X}' },
          ],
        },
      },
      ...extra,
    },
  };
}

async function labelsOf(node: string): Promise<Record<string, string>> {
  return (await nodesApi.get(node)).metadata.labels ?? {};
}

async function readyNodes(ns: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const node of nodeNames) if (readyLabel(ns, name) in (await labelsOf(node))) out.push(node);
  return out;
}

async function condition(ns: string, name: string, type: string): Promise<Condition | undefined> {
  const m = await modules.get(name, ns);
  return m.status?.conditions?.find((c) => c.type === type);
}

/** The test plays the image controller: every image of the MIC exists. */
async function imagesExist(ns: string, name: string): Promise<string[]> {
  const mic = await eventually('the ModuleImagesConfig', async () => {
    const m = (await mics.find(name, ns)) as
      (KubeObject & { spec: { images?: { image: string }[] } }) | undefined;
    return m?.spec.images?.length ? m : undefined;
  });
  const images = mic.spec.images!.map((i) => i.image);
  await mics.patchStatus(
    name,
    { status: { imagesStates: images.map((image) => ({ image, status: 'Exists' })) } },
    { namespace: ns },
  );
  return images;
}

const modName = uniqueName('ci');

test('a Module waits for its images, then is loaded on exactly the selected, schedulable nodes with a mapping', async () => {
  await modules.create(
    module(modName, opNs, {
      devicePlugin: { container: { image: 'registry.example/kmm-ci-plugin:1' } },
    }),
  );
  const waiting = await eventually('Progressing=ImagePending', async () => {
    const c = await condition(opNs, modName, 'Progressing');
    return c?.reason === 'ImagePending' ? c : undefined;
  });
  assert.match(waiting.message, /registry\.example\/kmm-ci:5\.14\.0/);
  assert.deepEqual(await readyNodes(opNs, modName), [], 'nothing loads before the image exists');

  const images = await imagesExist(opNs, modName);
  assert.deepEqual(images.sort(), [
    `registry.example/kmm-ci-deb:6`,
    `registry.example/kmm-ci:${K1}`,
  ]);
  await eventually(
    'the module ready on n1, n2, n3',
    async () => (await readyNodes(opNs, modName)).join() === [n(1), n(2), n(3)].join(),
  );
  const nmc3 = (await nmcs.get(n(3))) as KubeObject & {
    status?: {
      modules?: { name: string; config?: { containerImage: string; kernelVersion: string } }[];
    };
  };
  const entry = nmc3.status?.modules?.find((e) => e.name === modName);
  assert.equal(entry?.config?.containerImage, 'registry.example/kmm-ci-deb:6');
  assert.equal(entry?.config?.kernelVersion, K2);
  assert.equal(await nmcs.find(n(5)), undefined, 'no NMC on an unselected node');
  assert.equal(await nmcs.find(n(6)), undefined, 'no NMC on a node whose taint is not tolerated');

  const degraded = await eventually('Degraded=NoKernelMapping', async () => {
    const c = await condition(opNs, modName, 'Degraded');
    return c?.reason === 'NoKernelMapping' ? c : undefined;
  });
  assert.match(
    degraded.message,
    new RegExp(`kernel ${K3.replace(/\./g, '\\.')} on node\\(s\\) ${n(4)}`),
  );
  const m = await eventually('status counts', async () => {
    const m = await modules.get(modName, opNs);
    return m.status?.moduleLoader?.availableNumber === 3 ? m : undefined;
  });
  assert.equal(m.status?.moduleLoader?.nodesMatchingSelectorNumber, 5);
  assert.equal(m.status?.moduleLoader?.desiredNumber, 4);

  const loaded = await eventually('a ModuleLoaded event on a Node', async () => {
    const list = await events.list({ namespace: 'default' });
    return list.items.find((e) => e.reason === 'ModuleLoaded' && e.involvedObject.name === n(1));
  });
  assert.match(loaded.message, new RegExp(modName));
  assert.deepEqual(
    (await podsApi.list({ namespace: opNs, labelSelector: `${WORKER_LABELS.role}=worker` })).items
      .filter((p) => p.status?.phase === 'Succeeded')
      .map((p) => p.metadata.name),
    [],
    'finished worker pods are collected',
  );
});

test('the device plugin DaemonSet runs only on nodes where the module is ready', async () => {
  const ds = await dsApi.get(`${modName}-device-plugin`, opNs);
  const selector = (
    ds as unknown as { spec: { template: { spec: { nodeSelector: Record<string, string> } } } }
  ).spec.template.spec.nodeSelector;
  assert.equal(selector[readyLabel(opNs, modName)], '');
  const pods = await eventually('device plugin pods on the 3 ready nodes', async () => {
    const list = await podsApi.list({
      namespace: opNs,
      labelSelector: 'kmm.node.kubernetes.io/device-plugin',
    });
    const placed = list.items
      .map((p) => p.spec.nodeName)
      .filter(Boolean)
      .sort();
    return placed.length === 3 ? placed : undefined;
  });
  assert.deepEqual(pods, [n(1), n(2), n(3)]);
});

test('a kernel upgrade moves the node to the mapping of its new kernel', async () => {
  await upgradeKernel(client, n(3), K1);
  await eventually('n3 loaded with the K1 image', async () => {
    const nmc = (await nmcs.get(n(3))) as KubeObject & {
      status?: { modules?: { name: string; config?: { containerImage: string } }[] };
    };
    const e = nmc.status?.modules?.find((x) => x.name === modName);
    return (
      e?.config?.containerImage === `registry.example/kmm-ci:${K1}` &&
      readyLabel(opNs, modName) in (await labelsOf(n(3)))
    );
  });
});

test('a reboot (new bootID) loads the module again', async () => {
  const before = driver.seen.filter((s) => s === `load ${n(1)}/${modName}`).length;
  const bootID = await rebootNode(client, n(1));
  await eventually('a new load on n1 recorded with the new bootID', async () => {
    const nmc = (await nmcs.get(n(1))) as KubeObject & {
      status?: { modules?: { name: string; bootId?: string }[] };
    };
    return nmc.status?.modules?.find((x) => x.name === modName)?.bootId === bootID;
  });
  assert.equal(driver.seen.filter((s) => s === `load ${n(1)}/${modName}`).length, before + 1);
});

test('a load failure surfaces in the Module status and as a Node event', async () => {
  const name = uniqueName('unsigned');
  failWith.set(name, "modprobe: ERROR: could not insert 'kmm_ci_a': Required key not available");
  await modules.create(
    module(name, opNs, { selector: { [sel]: 'yes', 'kubernetes.io/hostname': n(2) } }),
  );
  await imagesExist(opNs, name);
  const c = await eventually('Degraded=LoadFailed', async () => {
    const c = await condition(opNs, name, 'Degraded');
    return c?.reason === 'LoadFailed' ? c : undefined;
  });
  assert.match(c.message, /Required key not available/);
  assert.match(c.message, new RegExp(n(2)));
  await eventually('a LoadFailed event on the node', async () => {
    const list = await events.list({ namespace: 'default' });
    return list.items.some(
      (e) =>
        e.reason === 'LoadFailed' &&
        e.involvedObject.name === n(2) &&
        /Required key/.test(e.message),
    );
  });
  assert.ok(!(readyLabel(opNs, name) in (await labelsOf(n(2)))));
  await modules.delete(name, { namespace: opNs });
  await eventually('the failing Module gone', async () => !(await modules.find(name, opNs)));
});

test('a Module in a namespace that enforces Pod Security cannot run privileged worker pods', async () => {
  await client.request(`/api/v1/namespaces/${userNs}`, {
    method: 'PATCH',
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } },
  });
  const name = uniqueName('untrusted');
  await modules.create(
    module(name, userNs, { selector: { [sel]: 'yes', 'kubernetes.io/hostname': n(1) } }),
  );
  await imagesExist(userNs, name);
  const c = await eventually('Degraded=LoadFailed (refused)', async () => {
    const c = await condition(userNs, name, 'Degraded');
    return c?.reason === 'LoadFailed' ? c : undefined;
  });
  assert.match(c.message, /violates PodSecurity/);
  assert.match(c.message, /SYS_MODULE/);
  await eventually('a WorkerPodRejected event on the Module', async () => {
    const list = await events.list({ namespace: userNs });
    return list.items.some(
      (e) => e.reason === 'WorkerPodRejected' && e.involvedObject.name === name,
    );
  });
  const pods = await podsApi.list({ namespace: userNs });
  assert.equal(pods.items.length, 0, 'no worker pod ran in the untrusted namespace');
  const nmc = (await nmcs.get(n(1))) as KubeObject & {
    spec: { modules?: { name: string; serviceAccountName: string }[] };
  };
  assert.equal(nmc.spec.modules?.find((e) => e.name === name)?.serviceAccountName, 'default');
  await modules.delete(name, { namespace: userNs });
});

test('deleting the Module unloads it everywhere and removes its labels', async () => {
  await modules.delete(modName, { namespace: opNs });
  await eventually(
    'the Module gone after unloading',
    async () => !(await modules.find(modName, opNs)),
    60_000,
  );
  for (const node of [n(1), n(2), n(3)]) {
    assert.ok(driver.seen.includes(`unload ${node}/${modName}`), `unloaded on ${node}`);
    assert.ok(!(readyLabel(opNs, modName) in (await labelsOf(node))));
  }
  await eventually('the empty NMCs removed', async () => {
    for (const node of nodeNames) {
      const nmc = (await nmcs.find(node)) as
        (KubeObject & { spec: { modules?: { namespace: string }[] } }) | undefined;
      if (nmc?.spec.modules?.some((e) => e.namespace === opNs)) return false;
    }
    return !(await nmcs.find(n(3)));
  });
});

/** Device-plugin pods of a Module by node, with the version each serves. */
async function pluginPods(
  ns: string,
  name: string,
): Promise<Map<string, { uid: string; version: string }[]>> {
  const vl = devicePluginVersionLabel(ns, name);
  const out = new Map<string, { uid: string; version: string }[]>();
  const list = await podsApi.list({
    namespace: ns,
    labelSelector: `${DEVICE_PLUGIN_LABEL}=${name}`,
  });
  for (const p of list.items) {
    if (!p.spec.nodeName) continue;
    const l = out.get(p.spec.nodeName) ?? [];
    l.push({ uid: p.metadata.uid!, version: p.metadata.labels?.[vl] ?? '' });
    out.set(p.spec.nodeName, l);
  }
  return out;
}

test('ordered upgrade: a node moves to the new version only when labelled for it, and every node with the module keeps exactly one device plugin of its version', async () => {
  const name = uniqueName('ordered');
  const vLabel = `kmm.node.kubernetes.io/version-module.${opNs}.${name}`;
  const vReady = `kmm.node.kubernetes.io/${opNs}.${name}.version.ready`;
  const nodes = [n(1), n(2)];
  const label = (node: string, v: string) =>
    nodesApi.patch(node, { metadata: { labels: { [`${sel}-ordered`]: 'yes', [vLabel]: v } } });
  const m = (version: string): Module => {
    const x = module(name, opNs, {
      selector: { [`${sel}-ordered`]: 'yes' },
      devicePlugin: { container: { image: `registry.example/ordered-plugin:${version}` } },
    });
    x.spec.moduleLoader!.container.version = version;
    x.spec.moduleLoader!.container.kernelMappings = [
      { literal: K1, containerImage: `registry.example/ordered:${version}` },
    ];
    return x;
  };
  /**
   * Every node that has the module loaded (its version.ready label) has exactly one plugin pod,
   * of the version it runs, and no other node has one; returns the pods by node.
   */
  const settled = (step: string) =>
    eventually(
      `${step}: one plugin pod of the loaded version on each node`,
      async () => {
        const pods = await pluginPods(opNs, name);
        for (const node of nodes) {
          const v = (await labelsOf(node))[vReady];
          const here = pods.get(node) ?? [];
          if (v === undefined ? here.length !== 0 : here.length !== 1 || here[0]!.version !== v)
            return undefined;
        }
        return pods;
      },
      60_000,
    );
  const versions = async () =>
    (await dsApi.list({ namespace: opNs, labelSelector: `${DEVICE_PLUGIN_LABEL}=${name}` })).items
      .map((d) => d.metadata.name!)
      .sort();

  // Selected but not yet labelled for any version: nothing to load, and the status says why.
  await nodesApi.patch(n(1), { metadata: { labels: { [`${sel}-ordered`]: 'yes' } } });
  await modules.create(m('v1'));
  await imagesExist(opNs, name);
  const unlabelled = await eventually('Ready=VersionNotLabelled', async () => {
    const c = await condition(opNs, name, 'Ready');
    return c?.reason === 'VersionNotLabelled' ? c : undefined;
  });
  assert.match(unlabelled.message, new RegExp(`${vLabel.replace(/\./g, '\\.')}=v1: ${n(1)}`));
  assert.equal((await modules.get(name, opNs)).status?.moduleLoader?.desiredNumber, 0);

  await label(n(1), 'v1');
  await label(n(2), 'v1');
  await eventually('v1 ready on n1 and n2', async () => {
    const [a, b] = [await labelsOf(n(1)), await labelsOf(n(2))];
    return a[vReady] === 'v1' && b[vReady] === 'v1';
  });
  const onV1 = await settled('v1 everywhere');
  assert.deepEqual(await versions(), [`${name}-device-plugin-v1`]);

  const cur = await modules.get(name, opNs);
  await modules.patch(
    name,
    {
      metadata: { resourceVersion: cur.metadata.resourceVersion },
      spec: { moduleLoader: m('v2').spec.moduleLoader, devicePlugin: m('v2').spec.devicePlugin },
    },
    { namespace: opNs },
  );
  await eventually('the MIC lists the v2 image', async () => {
    const mic = (await mics.get(name, opNs)) as KubeObject & {
      spec: { images?: { image: string }[] };
    };
    return mic.spec.images?.some((i) => i.image.endsWith(':v2'));
  });
  await imagesExist(opNs, name);
  await eventually(
    'a v2 DaemonSet beside the v1 one',
    async () =>
      (await versions()).join() === [`${name}-device-plugin-v1`, `${name}-device-plugin-v2`].join(),
  );
  const kept = await settled('Module at v2, no node moved');
  for (const node of nodes) {
    assert.equal(kept.get(node)![0]!.uid, onV1.get(node)![0]!.uid, `${node} keeps its v1 plugin`);
  }
  const ready = await eventually('Ready says the nodes keep v1', async () => {
    const c = await condition(opNs, name, 'Ready');
    return c?.reason === 'ModuleLoaded' && /keep an older version/.test(c.message) ? c : undefined;
  });
  assert.match(ready.message, /loaded on all 2 node\(s\); 2 nodes/);

  const seenBefore = driver.seen.length;
  await label(n(1), 'v2');
  await eventually('n1 on v2', async () => (await labelsOf(n(1)))[vReady] === 'v2');
  const moved = driver.seen.slice(seenBefore);
  assert.ok(
    moved.indexOf(`unload ${n(1)}/${name}`) >= 0 &&
      moved.indexOf(`unload ${n(1)}/${name}`) < moved.indexOf(`load ${n(1)}/${name}`),
    `n1 unloads v1 before loading v2: ${moved.join(', ')}`,
  );
  const mid = await settled('n1 on v2, n2 on v1');
  assert.equal(mid.get(n(1))![0]!.version, 'v2');
  assert.equal(mid.get(n(2))![0]!.uid, onV1.get(n(2))![0]!.uid, 'n2 keeps its v1 plugin');
  assert.equal((await labelsOf(n(2)))[vReady], 'v1', 'n2 stays on v1 until labelled');
  assert.ok(!driver.seen.slice(seenBefore).some((s) => s.includes(`${n(2)}/${name}`)));
  assert.ok((await versions()).includes(`${name}-device-plugin-v1`), 'v1 kept while n2 runs it');

  await label(n(2), 'v2');
  await eventually('n2 on v2', async () => (await labelsOf(n(2)))[vReady] === 'v2');
  const done = await settled('both on v2');
  assert.deepEqual(
    nodes.map((x) => done.get(x)![0]!.version),
    ['v2', 'v2'],
  );
  await eventually(
    'the v1 DaemonSet removed once no node runs v1',
    async () => (await versions()).join() === `${name}-device-plugin-v2`,
  );
  await modules.delete(name, { namespace: opNs });
  await eventually(
    'the ordered Module gone',
    async () => !(await modules.find(name, opNs)),
    60_000,
  );
});

test('the reasons a Module reports from no node to loading, loaded, unloading, and when invalid', async () => {
  const name = uniqueName('reasons');
  const conds = async () => {
    const m = await modules.get(name, opNs);
    const list = (m.status?.conditions ?? []) as Condition[];
    const get = (t: string) => list.find((c) => c.type === t);
    const l = m.status?.moduleLoader;
    return {
      ready: get('Ready'),
      progressing: get('Progressing'),
      degraded: get('Degraded'),
      counts: [l?.nodesMatchingSelectorNumber, l?.desiredNumber, l?.availableNumber],
    };
  };
  const until = (what: string, ok: (c: Awaited<ReturnType<typeof conds>>) => boolean) =>
    eventually(
      what,
      async () => {
        const c = await conds();
        return ok(c) ? c : undefined;
      },
      60_000,
    );

  await modules.create(module(name, opNs, { selector: { [sel]: 'nobody' } }));
  const none = await until('NoMatchingNodes', (c) => c.ready?.reason === 'NoMatchingNodes');
  assert.equal(none.progressing?.reason, 'NoMatchingNodes');
  assert.match(none.ready!.message, /no node matches spec\.selector/);
  assert.deepEqual(none.counts, [0, 0, 0]);

  holdFor.add(name);
  const cur = await modules.get(name, opNs);
  await modules.patch(
    name,
    {
      metadata: { resourceVersion: cur.metadata.resourceVersion },
      spec: { selector: { [sel]: 'yes', 'kubernetes.io/hostname': n(1) } },
    },
    { namespace: opNs },
  );
  await imagesExist(opNs, name);
  const loading = await until('Progressing=Loading', (c) => c.progressing?.reason === 'Loading');
  assert.equal(loading.progressing!.status, 'True');
  assert.match(
    loading.progressing!.message,
    new RegExp(`loaded on 0 of 1 node\\(s\\); loading on ${n(1)}`),
  );
  assert.deepEqual([loading.ready?.status, loading.ready?.reason], ['False', 'Loading']);
  assert.deepEqual(loading.counts, [1, 1, 0]);

  holdFor.delete(name);
  const loaded = await until('Ready=ModuleLoaded', (c) => c.ready?.reason === 'ModuleLoaded');
  assert.equal(loaded.ready!.status, 'True');
  assert.deepEqual(
    [loaded.progressing?.status, loaded.progressing?.reason],
    ['False', 'ModuleLoaded'],
  );
  assert.deepEqual([loaded.degraded?.status, loaded.degraded?.reason], ['False', 'AsExpected']);
  assert.deepEqual(loaded.counts, [1, 1, 1]);

  holdFor.add(name);
  await modules.delete(name, { namespace: opNs });
  const unloading = await until(
    'Progressing=Unloading',
    (c) => c.progressing?.reason === 'Unloading',
  );
  assert.match(unloading.progressing!.message, new RegExp(`unloading from 1 node\\(s\\): ${n(1)}`));
  assert.deepEqual([unloading.ready?.status, unloading.ready?.reason], ['False', 'Unloading']);
  holdFor.delete(name);
  await eventually('the Module gone', async () => !(await modules.find(name, opNs)), 60_000);

  const invalid = uniqueName('invalid');
  const bad = module(invalid, opNs, { selector: { 'kubernetes.io/hostname': n(5) } });
  bad.spec.moduleLoader!.container.kernelMappings = [
    { regexp: '(', containerImage: 'r.example/i:1' },
  ];
  await modules.create(bad);
  const c = await eventually('Degraded=InvalidModule', async () => {
    const c = await condition(opNs, invalid, 'Degraded');
    return c?.reason === 'InvalidModule' ? c : undefined;
  });
  assert.match(c.message, /fix the Module/);
  assert.equal((await condition(opNs, invalid, 'Ready'))?.reason, 'InvalidModule');
  await modules.delete(invalid, { namespace: opNs });
  await eventually('the invalid Module gone', async () => !(await modules.find(invalid, opNs)));
});

test('without moduleLoader (in-tree driver) only the device plugin runs, on every selected schedulable node', async () => {
  const name = uniqueName('intree');
  await modules.create({
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name, namespace: opNs },
    spec: {
      selector: { [sel]: 'yes' },
      devicePlugin: { container: { image: 'registry.example/intree-plugin:1' } },
    },
  });
  const placed = await eventually('device plugin pods on n1-n4', async () => {
    const list = await podsApi.list({
      namespace: opNs,
      labelSelector: `kmm.node.kubernetes.io/device-plugin=${name}`,
    });
    const nodes = list.items
      .map((p) => p.spec.nodeName)
      .filter(Boolean)
      .sort();
    return nodes.length === 4 ? nodes : undefined;
  });
  assert.deepEqual(placed, [n(1), n(2), n(3), n(4)]);
  const ready = await eventually('Ready=DevicePluginOnly', async () => {
    const c = await condition(opNs, name, 'Ready');
    return c?.reason === 'DevicePluginOnly' ? c : undefined;
  });
  assert.equal(ready.status, 'True');
  assert.equal(await mics.find(name, opNs), undefined, 'no images to check');
  await modules.delete(name, { namespace: opNs });
  await eventually('the in-tree Module gone', async () => !(await modules.find(name, opNs)));
});

test('a device plugin whose pods cannot be created keeps the in-tree Module at DevicePluginStarting', async () => {
  const name = uniqueName('nosa');
  await modules.create({
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name, namespace: opNs },
    spec: {
      selector: { [sel]: 'yes', 'kubernetes.io/hostname': n(1) },
      // The ServiceAccount does not exist: admission refuses every pod of the DaemonSet.
      devicePlugin: {
        container: { image: 'registry.example/intree-plugin:1' },
        serviceAccountName: 'no-such-account',
      },
    },
  });
  const c = await eventually('Ready=DevicePluginStarting with the DaemonSet counted', async () => {
    const m = await modules.get(name, opNs);
    const ready = m.status?.conditions?.find((x) => x.type === 'Ready');
    return ready?.reason === 'DevicePluginStarting' && m.status?.devicePlugin?.desiredNumber === 1
      ? { ready, m }
      : undefined;
  });
  assert.equal(c.ready.status, 'False');
  assert.match(c.ready.message, /device plugin available on 0 of 1 node\(s\)/);
  assert.equal((await condition(opNs, name, 'Progressing'))?.reason, 'DevicePluginStarting');
  await modules.delete(name, { namespace: opNs });
  await eventually('the Module gone', async () => !(await modules.find(name, opNs)));
});
