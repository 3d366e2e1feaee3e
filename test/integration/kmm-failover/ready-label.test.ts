import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import {
  installCrds,
  ModuleImagesConfigs,
  Modules,
  NodeModulesConfigs,
  type Module,
  type NodeModulesConfig,
} from '../../../src/api/index.js';
import {
  Informer,
  Manager,
  Nodes,
  ResourceClient,
  ServiceAccounts,
  createLogger,
  silentLogger,
  type KubeObject,
} from '../../../src/runtime/index.js';
import { defaultConfig, setupKmmControllers } from '../../../src/kmm/operator/index.js';
import { startWorkerDriver, type Outcome } from '../../../src/cluster/kmm-workers.js';
import { readyLabel, type WorkerPod } from '../../../src/kmm/common/index.js';
import { testModule } from '../../fixtures/kmm/module.js';

// A Module edited on a node where it is loaded: the node config controller unloads the old
// config and loads the new one. The chaos run saw the ready label go between the two, after the
// operator that started the unload had been stopped and another one finished it. The label must
// stay: the module is wanted all along (upstream removes it only when neither wanted nor loaded).

const cluster = await testCluster();
const client = cluster.client;
await installCrds(client);

const K1 = '5.14.0-284.30.1.el9_2.x86_64';
const sel = uniqueName('kmm-flap');
const node = `${sel}-n1`;
const ns = await testNamespace(client, 'kmm-flap');
const name = uniqueName('nic');
const ready = readyLabel(ns, name);

const modules = new ResourceClient<Module>(client, Modules, 'test');
const mics = new ResourceClient(client, ModuleImagesConfigs, 'test');
const nmcs = new ResourceClient<NodeModulesConfig>(client, NodeModulesConfigs, 'test');

/** Worker pods are held while this is set (the kubelet has not finished them yet). */
let holding = false;
const driver = await startWorkerDriver(
  client,
  (pod: WorkerPod): Outcome => (pod.spec.nodeName !== node || holding ? 'hold' : 'succeed'),
  { namespace: ns },
);
onCleanup(() => driver.stop());

/** Every change of the ready label on the node, as a watch sees it (undefined: removed). */
const readyChanges: (string | undefined)[] = [];
const nodeWatch = new Informer<KubeObject>(new ResourceClient(client, Nodes, 'test'), {
  fieldSelector: `metadata.name=${node}`,
  log: silentLogger,
});
nodeWatch.addEventHandler({
  onUpdate: (o, n) => {
    const [a, b] = [o.metadata.labels?.[ready], n.metadata.labels?.[ready]];
    if (a !== b) readyChanges.push(b);
  },
});

const managers: Manager[] = [];
/** One operator process: the core controllers on their own manager. */
async function startOperator(id: string): Promise<Manager> {
  const mgr = new Manager({
    client,
    name: `kmm-${id}`,
    log: process.env.HWE_LOG_LEVEL ? createLogger({ name: `kmm-${id}` }) : silentLogger,
  });
  setupKmmControllers(mgr, {
    config: defaultConfig(),
    operatorNamespace: ns,
    workerImage: 'hwe:test',
    retryBaseMs: 500,
  });
  managers.push(mgr);
  await mgr.start();
  return mgr;
}
after(async () => {
  for (const m of managers) await m.stop();
  await nodeWatch.stop();
});

function moduleObject(args?: string): Module {
  return testModule(
    {
      modprobe: { moduleName: 'kmm_flap', ...(args ? { args: { load: [args] } } : {}) },
      kernelMappings: [{ literal: K1, containerImage: 'registry.example/kmm-flap:1' }],
    },
    { selector: { [sel]: 'yes' } },
    { name, namespace: ns },
  );
}

/** The NMC status entry of the Module on the node, when loaded with modprobe load args `args`. */
async function loadedWith(args: string | undefined): Promise<boolean> {
  const nmc = await nmcs.find(node);
  const e = nmc?.status?.modules?.find((m) => m.namespace === ns && m.name === name);
  return !!e?.config && e.config.modprobe.args?.load?.[0] === args;
}

test('a Module edit reloads the module without taking its ready label away, across a change of operator', async () => {
  const sas = new ResourceClient(client, ServiceAccounts, 'test');
  for (const sa of ['kmm-operator-module-loader', 'kmm-operator-device-plugin']) {
    await sas.create({ metadata: { name: sa, namespace: ns } });
  }
  await testNodes(client, [{ name: node, labels: { [sel]: 'yes' }, kernelVersion: K1 }]);
  nodeWatch.start();
  await nodeWatch.waitForSync();

  const first = await startOperator('a');
  await modules.create(moduleObject());
  // The test plays the image controller: the image exists.
  const mic = await eventually('the ModuleImagesConfig', async () => {
    const m = (await mics.find(name, ns)) as
      (KubeObject & { spec: { images?: { image: string }[] } }) | undefined;
    return m?.spec.images?.length ? m : undefined;
  });
  await mics.patchStatus(
    name,
    {
      status: { imagesStates: mic.spec.images!.map((i) => ({ image: i.image, status: 'Exists' })) },
    },
    { namespace: ns },
  );
  await eventually(
    'loaded and labelled',
    async () =>
      (await loadedWith(undefined)) && nodeWatch.getByName(node)?.metadata.labels?.[ready] === '',
    60_000,
  );
  const changesBefore = readyChanges.length;

  // The edit: the first operator starts the unload of the old config, then stops before the
  // unload pod is done; a second operator takes over and sees it finished.
  holding = true;
  await modules.patch(name, { spec: moduleObject('debug=1').spec }, { namespace: ns });
  await eventually(
    'an unload pod for the old config',
    async () => driver.seen.includes(`unload ${node}/${name}`) || undefined,
    60_000,
  );
  await first.stop();
  holding = false;
  await startOperator('b');
  await eventually('the new config loaded and labelled', async () => loadedWith('debug=1'), 90_000);
  await eventually(
    'the watch to catch up',
    async () => nodeWatch.getByName(node)?.metadata.labels?.[ready] === '',
    30_000,
  );
  assert.ok(driver.seen.includes(`load ${node}/${name}`));
  assert.deepEqual(
    readyChanges.slice(changesBefore),
    [],
    'the ready label changed on the node while the module was reloaded',
  );
});
