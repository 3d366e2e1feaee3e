/**
 * KMM hub and spoke on two local control planes: the shared test cluster is the hub (KMM-Hub's
 * ManagedClusterModule controller with the image controllers, OCM's ManagedCluster and
 * ManifestWork CRDs from OCM's Go module), and a second control plane started here is the spoke
 * (KMM in managed mode, kwok nodes on two kernels, OCM's ClusterClaim CRD).
 *
 * What plays a part here because nothing runs containers or OCM agents:
 * - the hub's kaniko build pods: the test pushes the image the build would have produced (a
 *   module tree compiled for the pod's KERNEL_FULL_VERSION) to the pod's --destination and
 *   completes the pod as a kubelet would; the signing pods' program (`hwe kmm sign-image`)
 *   runs with the pod's arguments and Secrets;
 * - the spoke's worker pods: `dryRunWorkerPod` pulls the pod's image and runs the worker's load
 *   or unload with `modprobe -n` for the node's kernel, so a pod succeeds only if the image has
 *   the module for that kernel;
 * - OCM's work and registration agents: `startAgentStandIn` (test/support/ocm.ts) applies the
 *   ManifestWork's manifests on the spoke, writes back its Applied/Available conditions, deletes
 *   what it applied when the ManifestWork goes, and copies the spoke's ClusterClaims into the
 *   ManagedCluster's status, as the agents do. OCM's real agents are not run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  ManagedClusterModules,
  ManagedClusters,
  ManifestWorks,
  ModuleBuildSignConfigs,
  Modules,
  NodeModulesConfigs,
  installCrds,
  type ManagedClusterModule,
  type Module,
  type ModuleImagesConfig,
  ModuleImagesConfigs,
} from '../../../src/api/index.js';
import { LocalCluster } from '../../../src/cluster/local.js';
import { dryRunWorkerPod, startWorkerDriver } from '../../../src/cluster/kmm-workers.js';
import type { Pod } from '../../../src/kmm/build/index.js';
import {
  KERNEL_VERSIONS_CLAIM,
  setupHubController,
  type ManagedCluster,
  type ManifestWork,
} from '../../../src/kmm/hub/index.js';
import { setupImageControllers } from '../../../src/kmm/images/index.js';
import { readyLabel } from '../../../src/kmm/common/index.js';
import { defaultConfig, setupKmmOperator } from '../../../src/kmm/operator/index.js';
import {
  RegistryClient,
  extractFiles,
  imageExists,
  parseReference,
  resolveImage,
  type LayerFile,
} from '../../../src/oci/index.js';
import {
  ConfigMaps,
  Manager,
  Nodes,
  Pods,
  ResourceClient,
  Secrets,
  ServiceAccounts,
  silentLogger,
  type KubeObject,
} from '../../../src/runtime/index.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import { finishPodAsKubelet, runSignPodProgram } from '../../support/kmm.js';
import { installOcmCrds, startAgentStandIn } from '../../support/ocm.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';
import { makeModuleTree } from '../../fixtures/kmm/modtree.js';
import { makeKeyPair, tool } from '../../fixtures/signing/fixtures.js';

const K1 = '5.14.0-284.30.1.el9_2.x86_64';
const K2 = '6.1.0-18-amd64';
const MODULE = 'hub_kmod';
const NO_NODE = { 'hwe.test/build-node': 'none' };

const reg = await testRegistry();
const push = new RegistryClient({ registry: reg.host, tls: reg.tls });
onCleanup(async () => push.close());
const work = mkdtempSync(join(tmpdir(), 'kmm-hub-'));
onCleanup(async () => rmSync(work, { recursive: true, force: true }));

// Two control planes: the shared one is the hub, a second one the spoke.
const hub = (await testCluster()).client;
const spokeCluster = await LocalCluster.start({ ownedByProcess: true });
onCleanup(() => spokeCluster.stop());
const spoke = spokeCluster.client;
await Promise.all([installCrds(hub), installCrds(spoke)]);
await installOcmCrds(
  hub,
  /^(managedclusters|manifestworks|policies|placementbindings|placementrules)\./,
);
await installOcmCrds(spoke, /^(clusterclaims|appliedmanifestworks)\./);

// Hub: the operator's namespace, and the managed cluster with its namespace (OCM names it
// after the cluster).
const hubNs = await testNamespace(hub, 'kmm-hub');
const cluster = await testNamespace(hub, 'spoke');
const clusterSel = uniqueName('wants-mcm');
const clusters = new ResourceClient<ManagedCluster>(hub, ManagedClusters, 'test');
await clusters.create({
  metadata: { name: cluster, labels: { [clusterSel]: 'true' } },
  spec: { hubAcceptsClient: true },
} as ManagedCluster);
onCleanup(() => clusters.deleteIfExists(cluster));
await new ResourceClient(hub, ConfigMaps, 'test').create({
  metadata: { name: 'kmod-dockerfile', namespace: hubNs },
  data: { dockerfile: 'FROM scratch\nARG KERNEL_FULL_VERSION\n' },
} as KubeObject);
// The Secure Boot key and certificate the hub signs with.
const keys = await makeKeyPair(work, 'hub', { cn: 'kmm hub signer' });
const b64 = (b: Buffer) => b.toString('base64');
for (const [name, data] of [
  ['signing-key', { key: b64(readFileSync(keys.key)) }],
  ['signing-cert', { cert: b64(readFileSync(keys.certDer)) }],
] as const) {
  await new ResourceClient(hub, Secrets, 'test').create({
    metadata: { name, namespace: hubNs },
    data,
  } as KubeObject);
}

// Spoke: nodes on two kernels, two of them selected by the Module; KMM in managed mode.
const spokeOpNs = await testNamespace(spoke, 'kmm-spoke-op');
const spokeNs = await testNamespace(spoke, 'kmm-spoke');
const nodeSel = uniqueName('node-wants-mcm');
const nodeA = `${nodeSel}-a`;
const nodeB = `${nodeSel}-b`;
const nodeC = `${nodeSel}-c`;
const kernelOf: Record<string, string> = { [nodeA]: K1, [nodeB]: K2, [nodeC]: K1 };

const hubMgr = new Manager({ client: hub, name: 'kmm-hub-test', log: silentLogger });
await setupImageControllers(hubMgr, {
  namespace: hubNs,
  signImage: 'registry.example/hwe/hwe:test',
  buildImage: 'registry.example/kaniko/executor:test',
  buildBackend: 'kaniko',
  nodeSelector: NO_NODE,
  gcDelayMs: 0,
  retryMs: 2_000,
});
setupHubController(hubMgr, { namespace: hubNs, retryMs: 2_000 });

// The spoke's operator exactly as `KMM_MANAGED=1 hwe kmm operator` wires it.
const spokeMgr = new Manager({ client: spoke, name: 'kmm-spoke-test', log: silentLogger });
await setupKmmOperator(spokeMgr, {
  managed: true,
  config: defaultConfig(),
  operatorNamespace: spokeOpNs,
  workerImage: 'hwe:test',
  signImage: 'registry.example/hwe/hwe:test',
  buildImage: 'registry.example/kaniko/executor:test',
});

const workers = await startWorkerDriver(spoke, async (pod) => {
  const kernel = kernelOf[pod.spec.nodeName];
  if (!kernel) return 'hold';
  const r = await dryRunWorkerPod(pod, { workDir: join(work, 'workers'), kernel });
  return r.outcome;
});
onCleanup(() => workers.stop());

/**
 * Plays the hub's build and sign pods: a kaniko pod's image is pushed to its --destination, a
 * signing pod's program runs; then the pod is completed as a kubelet would.
 */
const builtFor: string[] = [];
const signed: string[] = [];
function files(root: string, dir = root): LayerFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(root, p) : [{ path: relative(root, p), data: readFileSync(p) }];
  });
}
const hubPods = new ResourceClient<Pod>(hub, Pods, 'test');
const hubSecrets = new ResourceClient<KubeObject>(hub, Secrets, 'test');
let building = true;
const builder = (async () => {
  while (building) {
    const list = await hubPods
      .list({ namespace: hubNs, labelSelector: 'kmm.node.kubernetes.io/pod-type=build' })
      .catch(() => ({ items: [] as Pod[] }));
    const signPods = await hubPods
      .list({ namespace: hubNs, labelSelector: 'kmm.node.kubernetes.io/pod-type=sign' })
      .catch(() => ({ items: [] as Pod[] }));
    for (const pod of signPods.items.filter(
      (p) => !p.status?.phase || p.status.phase === 'Pending',
    )) {
      const r = await runSignPodProgram(hubSecrets, pod, work);
      await finishPodAsKubelet(hubPods, pod, r.code === 0, r.stderr);
      if (r.code === 0) signed.push(pod.metadata.name!);
    }
    for (const pod of list.items.filter((p) => !p.status?.phase || p.status.phase === 'Pending')) {
      const args = pod.spec.containers[0]!.args ?? [];
      const arg = (prefix: string) => args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
      const dest = parseReference(arg('--destination=')!);
      const kernel = arg('--build-arg=KERNEL_FULL_VERSION=')!;
      const src = mkdtempSync(join(work, 'build-'));
      await makeModuleTree(src, '/opt', kernel, [{ name: MODULE }]);
      await pushTestImage(push, dest.repository, dest.tag!, { layers: [files(src)] });
      await finishPodAsKubelet(hubPods, pod, true);
      builtFor.push(kernel);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
})();
onCleanup(async () => {
  building = false;
  await builder;
});

const agents = startAgentStandIn(hub, spoke, cluster);
onCleanup(() => agents.stop());

before(async () => {
  const sas = new ResourceClient(spoke, ServiceAccounts, 'test');
  for (const name of ['kmm-operator-module-loader', 'kmm-operator-device-plugin']) {
    await sas.create({ metadata: { name, namespace: spokeOpNs } });
  }
  await testNodes(spoke, [
    { name: nodeA, labels: { [nodeSel]: 'true' }, kernelVersion: K1 },
    { name: nodeB, labels: { [nodeSel]: 'true' }, kernelVersion: K2 },
    { name: nodeC, kernelVersion: K1 },
  ]);
  await Promise.all([hubMgr.start(), spokeMgr.start()]);
});
after(async () => {
  await hubMgr.stop();
  await spokeMgr.stop();
});

const mcms = new ResourceClient<ManagedClusterModule>(hub, ManagedClusterModules, 'test');
const works = new ResourceClient<ManifestWork>(hub, ManifestWorks, 'test');
const spokeModules = new ResourceClient<Module>(spoke, Modules, 'test');
const spokeNodes = new ResourceClient(spoke, Nodes, 'test');
const mcmName = uniqueName('mcm');

it('the seed’s RHACM Policy, PlacementRule and PlacementBinding apply on the hub with OCM’s CRDs', async () => {
  const file = join(PACKAGE_ROOT, 'examples', 'ocm', 'spoke-policy.yaml');
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject);
  assert.deepEqual(
    docs.map((d) => d.kind),
    ['Policy', 'PlacementRule', 'PlacementBinding'],
  );
  const ns = await testNamespace(hub, 'policy');
  for (const d of docs) {
    const [group, version] = d.apiVersion!.split('/');
    const plural = `${d.kind!.toLowerCase()}s`.replace(/ys$/, 'ies');
    const path = `/apis/${group}/${version}/namespaces/${ns}/${plural}`;
    const out = await hub.request<KubeObject>(path, {
      method: 'POST',
      body: d,
      query: { fieldValidation: 'Strict' },
    });
    assert.equal(out.metadata.name, d.metadata.name);
  }
});

it('the spoke publishes its kernels and the hub sees them on the ManagedCluster', async () => {
  const claims = await eventually(
    'the kernel ClusterClaim in the ManagedCluster status',
    async () =>
      (await clusters.get(cluster)).status?.clusterClaims?.find(
        (c) => c.name === KERNEL_VERSIONS_CLAIM && c.value.includes(K2),
      ),
    90_000,
  );
  // Every node of the spoke counts, selected by the Module or not; sorted, one a line.
  assert.equal(claims.value, [K1, K2].sort().join('\n'));
});

it('an MCM is built and signed on the hub and its digest-pinned Module loaded on the spoke’s selected nodes', async () => {
  await mcms.create({
    metadata: { name: mcmName },
    spec: {
      moduleSpec: {
        selector: { [nodeSel]: 'true' },
        moduleLoader: {
          container: {
            modprobe: { moduleName: MODULE, dirName: '/opt' },
            kernelMappings: [
              {
                regexp: '^.+$',
                containerImage: `${reg.host}/hub/${mcmName}:\${KERNEL_FULL_VERSION}`,
                registryTLS: { insecure: true },
                build: { dockerfileConfigMap: { name: 'kmod-dockerfile' } },
                sign: {
                  keySecret: { name: 'signing-key' },
                  certSecret: { name: 'signing-cert' },
                  filesToSign: [`/opt/lib/modules/*/extra/${MODULE}.ko`],
                },
              },
            ],
          },
        },
      },
      spokeNamespace: spokeNs,
      selector: { [clusterSel]: 'true' },
    },
  });

  // The hub's MIC for the cluster lists one image per kernel, and both get built.
  const mics = new ResourceClient<ModuleImagesConfig>(hub, ModuleImagesConfigs, 'test');
  const mic = await eventually(
    'the hub MIC',
    async () => mics.find(`${mcmName}-${cluster}`, hubNs),
    90_000,
  );
  assert.deepEqual(mic.spec.images?.map((i) => i.kernelVersion).sort(), [K1, K2].sort());

  // The ManifestWork carries the Module without build or sign, pinned by digest.
  const mw = await eventually(
    'the ManifestWork',
    async () => works.find(mcmName, cluster),
    180_000,
  );
  assert.deepEqual(builtFor.sort(), [K1, K2].sort());
  assert.equal(signed.length, 2);
  assert.equal(mw.spec.workload.manifests.length, 1);
  const m = mw.spec.workload.manifests[0] as unknown as Module;
  assert.equal(m.kind, 'Module');
  assert.equal(m.metadata.namespace, spokeNs);
  const c = m.spec.moduleLoader!.container;
  assert.equal(c.build, undefined);
  assert.equal(c.sign, undefined);
  assert.deepEqual(
    c.kernelMappings.map((k) => k.literal),
    [K1, K2].sort(),
  );
  for (const k of c.kernelMappings) {
    assert.equal(k.build, undefined);
    assert.equal(k.sign, undefined);
    assert.equal(k.regexp, undefined);
    const tagged = parseReference(`${reg.host}/hub/${mcmName}:${k.literal}`);
    const there = await imageExists(push, tagged);
    assert.equal(there.state, 'Exists');
    assert.equal(
      k.containerImage,
      `${reg.host}/hub/${mcmName}@${there.state === 'Exists' ? there.digest : ''}`,
    );
    // What the spokes pull is the signed module.
    const ko = `opt/lib/modules/${k.literal}/extra/${MODULE}.ko`;
    const pinned = await resolveImage(push, parseReference(k.containerImage));
    const file = join(work, `${k.literal}.ko`);
    writeFileSync(file, (await extractFiles(push, pinned, [ko])).get(ko)!.data!);
    assert.equal((await tool('modinfo', ['-F', 'signer', file])).trim(), 'kmm hub signer');
  }

  // The spoke loads it on the two selected nodes, each with its kernel's image; not on the third.
  const ready = readyLabel(spokeNs, mcmName);
  await eventually(
    'the module loaded on the selected nodes',
    async () => {
      const labels = await Promise.all(
        [nodeA, nodeB].map(async (n) => (await spokeNodes.get(n)).metadata.labels?.[ready]),
      );
      return labels.every((l) => l !== undefined);
    },
    180_000,
  );
  assert.equal((await spokeNodes.get(nodeC)).metadata.labels?.[ready], undefined);
  const nmcs = new ResourceClient(spoke, NodeModulesConfigs, 'test');
  for (const [n, kernel] of [
    [nodeA, K1],
    [nodeB, K2],
  ] as const) {
    const entry = (await nmcs.get(n)).spec?.modules?.find((x) => x.name === mcmName);
    assert.equal(entry?.config.kernelVersion, kernel);
    assert.match(entry?.config.containerImage ?? '', /@sha256:[0-9a-f]{64}$/);
  }

  // The hub counts the cluster as applied.
  await eventually(
    'the MCM status',
    async () => {
      const s = (await mcms.get(mcmName)).status;
      return s?.numberDesired === 1 && s.numberApplied === 1 && s.numberDegraded === 0;
    },
    60_000,
  );
});

it('unselecting the cluster removes the ManifestWork, and the spoke unloads the module', async () => {
  await clusters.patch(cluster, { metadata: { labels: { [clusterSel]: null } } });
  await eventually(
    'the ManifestWork gone',
    async () => !(await works.find(mcmName, cluster)),
    90_000,
  );
  await eventually(
    'the spoke Module gone',
    async () => !(await spokeModules.find(mcmName, spokeNs)),
    120_000,
  );
  const ready = readyLabel(spokeNs, mcmName);
  await eventually(
    'the module unloaded',
    async () => {
      const labels = await Promise.all(
        [nodeA, nodeB].map(async (n) => (await spokeNodes.get(n)).metadata.labels?.[ready]),
      );
      return labels.every((l) => l === undefined);
    },
    60_000,
  );
  await eventually(
    'the MCM status',
    async () => {
      const s = (await mcms.get(mcmName)).status;
      return s?.numberDesired === 0 && s.numberApplied === 0;
    },
    60_000,
  );
  assert.deepEqual(agents.errors(), []);
});

it('the spoke in managed mode never builds: a missing image with build is DoesNotExist', async () => {
  const name = uniqueName('local');
  const image = `${reg.host}/spoke/${name}:${K1}`;
  // Everything a build needs is there: only managed mode keeps it from running.
  await new ResourceClient(spoke, ConfigMaps, 'test').create({
    metadata: { name: 'kmod-dockerfile', namespace: spokeNs },
    data: { dockerfile: 'FROM scratch\n' },
  } as KubeObject);
  await spokeModules.create({
    metadata: { name, namespace: spokeNs },
    spec: {
      selector: { [nodeSel]: 'true' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: MODULE },
          kernelMappings: [
            {
              literal: K1,
              containerImage: image,
              registryTLS: { insecure: true },
              build: { dockerfileConfigMap: { name: 'kmod-dockerfile' } },
            },
          ],
        },
      },
    },
  });
  const mics = new ResourceClient<ModuleImagesConfig>(spoke, ModuleImagesConfigs, 'test');
  await eventually(
    'the image DoesNotExist on the spoke',
    async () =>
      (await mics.find(name, spokeNs))?.status?.imagesStates?.find((x) => x.image === image)
        ?.status === 'DoesNotExist',
    60_000,
  );
  const spokePods = new ResourceClient<Pod>(spoke, Pods, 'test');
  const builds = await spokePods.list({
    namespace: spokeNs,
    labelSelector: 'kmm.node.kubernetes.io/pod-type in (build,sign)',
  });
  assert.deepEqual(builds.items, []);
  const mbscs = new ResourceClient(spoke, ModuleBuildSignConfigs, 'test');
  assert.equal(await mbscs.find(name, spokeNs), undefined);
  await spokeModules.delete(name, { namespace: spokeNs });
});
