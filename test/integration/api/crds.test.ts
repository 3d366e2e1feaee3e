/**
 * Our CRDs on a real apiserver: every example of the seed documents applies cleanly (strict
 * field validation, server-side dry run), invalid objects are rejected with messages that name
 * the field, and `kubectl get` prints useful columns.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import {
  ALL_RESOURCES,
  ModuleImagesConfigs,
  Modules,
  NodeFeatureRules,
  NodeModulesConfigs,
  PreflightValidations,
  PreflightValidationsOCP,
  apiVersionOf,
  installCrds,
  resourcePath,
  apiResource,
  type ResourceType,
  type Module,
  type ModuleImagesConfig,
  type NodeFeatureRule,
  type NodeModulesConfig,
  type PreflightValidation,
} from '../../../src/api/index.js';
import type { LocalCluster } from '../../../src/cluster/local.js';
import { isKubeError, type KubeClient, type KubeError } from '../../../src/runtime/client.js';
import {
  ConfigMaps,
  DaemonSets,
  Secrets,
  ServiceAccounts,
  resourceType,
} from '../../../src/runtime/resources.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { testCluster, testNamespace, uniqueName } from '../../support/cluster.js';

const run = promisify(execFile);

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** Built-in kinds the examples contain, besides our own. */
const rbac = (plural: string, kind: string) =>
  resourceType({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural,
    kind,
    namespaced: true,
  });
const CORE: Record<string, ResourceType> = {
  ConfigMap: ConfigMaps,
  Secret: Secrets,
  ServiceAccount: ServiceAccounts,
  DaemonSet: DaemonSets,
  Role: rbac('roles', 'Role'),
  RoleBinding: rbac('rolebindings', 'RoleBinding'),
};

function resourceFor(o: Obj): ResourceType {
  const core = CORE[o.kind];
  if (core && apiVersionOf(core) === o.apiVersion) return core;
  for (const def of ALL_RESOURCES)
    for (const v of def.versions)
      if (def.kind === o.kind && `${def.group}/${v.name}` === o.apiVersion)
        return apiResource(def, v.name);
  throw new Error(`no resource for ${o.apiVersion} ${o.kind}`);
}

function exampleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? exampleFiles(join(dir, e.name))
      : e.name.endsWith('.yaml')
        ? [join(dir, e.name)]
        : [],
  );
}

/** Server-side apply, as `kubectl apply --server-side` does, with unknown fields an error. */
function apply<T>(client: KubeClient, o: Obj, namespace: string, dryRun: boolean): Promise<T> {
  const r = resourceFor(o);
  const body = r.namespaced ? { ...o, metadata: { ...o.metadata, namespace } } : o;
  return client.request<T>(resourcePath(r, { namespace, name: o.metadata.name }), {
    method: 'PATCH',
    contentType: 'application/apply-patch+yaml',
    body,
    query: {
      fieldManager: 'hwe-api-test',
      fieldValidation: 'Strict',
      force: true,
      dryRun: dryRun ? 'All' : undefined,
    },
  });
}

/** Create with a server-side dry run: the schema's verdict on the object, unknown fields an error. */
function create(client: KubeClient, o: Obj, namespace: string): Promise<unknown> {
  const r = resourceFor(o);
  const body = r.namespaced ? { ...o, metadata: { ...o.metadata, namespace } } : o;
  return client.request(resourcePath(r, { namespace }), {
    method: 'POST',
    body,
    query: { fieldValidation: 'Strict', dryRun: 'All' },
  });
}

async function rejection(p: Promise<unknown>): Promise<KubeError> {
  try {
    await p;
  } catch (e) {
    if (isKubeError(e)) return e;
    throw e;
  }
  assert.fail('the apiserver accepted the object');
}

const cluster: LocalCluster = await testCluster();
const client: KubeClient = cluster.client;
await installCrds(client, ALL_RESOURCES);
const ns = await testNamespace(client, 'api');
/** Labels the objects this file creates, so that a kubectl selector lists only them. */
const RUN = uniqueName('run');
/** Cluster-scoped objects this file creates (namespaced ones go with the namespace). */
const clusterScoped: string[] = [];
after(() =>
  Promise.all(
    clusterScoped.map((p) => client.request(p, { method: 'DELETE' }).catch(() => undefined)),
  ),
);

describe('seed examples apply cleanly', () => {
  const root = join(PACKAGE_ROOT, 'examples');
  // examples/olm holds OLM's kinds, which a plain apiserver does not serve; olm.test.ts in
  // test/integration/install checks them against the bundles. examples/ocm holds Open Cluster
  // Management's kinds: kmm-hub/hub.test.ts applies them with OCM's CRDs installed.
  const files = exampleFiles(root).filter(
    (f) => !relative(root, f).startsWith('olm/') && !relative(root, f).startsWith('ocm/'),
  );
  it('there is an example for every YAML example of the seed', () => {
    const have = new Set(files.map((f) => relative(root, f)));
    for (const f of SEED_EXAMPLES) assert.ok(have.has(f), `examples/${f} is missing`);
  });
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const doc of docs) {
      assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
      const o = doc.toJS() as Obj;
      it(`${relative(root, file)}: ${o.kind} ${o.metadata.name}`, async () => {
        const out = await apply<Obj>(client, o, ns, true);
        assert.equal(out.kind, o.kind);
        assert.equal(out.metadata.name, o.metadata.name);
      });
    }
  }

  it('defaults dirName to /opt, as upstream does', async () => {
    const [doc] = parseAllDocuments(readFileSync(join(root, 'kmm/module-firmware.yaml'), 'utf8'));
    const out = await apply<Module>(client, doc!.toJS() as Obj, ns, true);
    assert.equal(out.spec.moduleLoader?.container.modprobe.dirName, '/opt');
  });

  it('serves the v1alpha1 NodeResourceTopology of the seed as v1alpha2 too', async () => {
    const [doc] = parseAllDocuments(
      readFileSync(join(root, 'nfd/noderesourcetopology.yaml'), 'utf8'),
    );
    const o = doc!.toJS() as Obj;
    o.metadata.name = uniqueName('nrt');
    await apply(client, o, ns, false);
    after(() =>
      client.request(
        `/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies/${o.metadata.name}`,
        { method: 'DELETE' },
      ),
    );
    const v2 = await client.request<{
      apiVersion: string;
      zones: Array<{ name: string }>;
      topologyPolicies: string[];
    }>(`/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies/${o.metadata.name}`);
    assert.equal(v2.apiVersion, 'topology.node.k8s.io/v1alpha2');
    assert.deepEqual(
      v2.zones.map((z) => z.name),
      ['node-0', 'node-1', 'node-2'],
    );
    assert.deepEqual(v2.topologyPolicies, ['SingleNUMANodeContainerLevel']);
  });
});

/** One file per YAML example of the seed document (section in the comment). */
const SEED_EXAMPLES = [
  'dtk/0000-buildconfig.yaml', // §2.3.1
  'dtk/1000-drivercontainer.yaml', // §2.3.1
  'nfd/nodefeaturediscovery.yaml', // §3.2.1
  'nfd/nodefeaturediscovery-disconnected.yaml', // §3.2.2
  'nfd/nodefeaturerule.yaml', // §3.5
  'nfd/noderesourcetopology.yaml', // §3.6.1
  'kmm/module.yaml', // §4.3.3
  'kmm/dockerfile-configmap.yaml', // §4.4.1.1
  'kmm/signing-secrets.yaml', // §4.6
  'kmm/module-sign-prebuilt.yaml', // §4.7
  'kmm/module-build-sign.yaml', // §4.8
  'kmm/module-firmware.yaml', // §4.10.3
  'kmm/managedclustermodule.yaml', // §4.12.3
];

/** A valid Module to break in one place per case. */
function module(): Obj & { spec: Record<string, unknown> } {
  return {
    apiVersion: apiVersionOf(Modules),
    kind: 'Module',
    metadata: { name: 'bad' },
    spec: {
      selector: { 'kubernetes.io/arch': 'amd64' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'kmm_ci_a' },
          kernelMappings: [
            { regexp: '^.+$', containerImage: 'registry.example/kmod:${KERNEL_FULL_VERSION}' },
          ],
        },
      },
    },
  };
}

type Patch = (o: Obj & { spec: Record<string, unknown> }) => void;
const container = (o: Obj & { spec: Record<string, unknown> }) =>
  (o.spec.moduleLoader as { container: Record<string, unknown> }).container;
const modprobe = (o: Obj & { spec: Record<string, unknown> }) =>
  container(o).modprobe as Record<string, unknown>;
const mapping0 = (o: Obj & { spec: Record<string, unknown> }) =>
  (container(o).kernelMappings as Array<Record<string, unknown>>)[0]!;

interface InvalidCase {
  name: string;
  object: () => Obj;
  /** The field the apiserver must name. */
  field: string;
  /** Words the message must contain. */
  message: RegExp;
}

const moduleCase = (name: string, patch: Patch, field: string, message: RegExp): InvalidCase => ({
  name,
  object: () => {
    const o = module();
    patch(o);
    return o;
  },
  field,
  message,
});

const C = 'spec.moduleLoader.container';
const INVALID: InvalidCase[] = [
  moduleCase(
    'kernel mapping with literal and regexp',
    (o) => (mapping0(o).literal = '6.0.15'),
    `${C}.kernelMappings[0]`,
    /has both literal and regexp; keep exactly one of them/,
  ),
  moduleCase(
    'kernel mapping with neither literal nor regexp',
    (o) => delete mapping0(o).regexp,
    `${C}.kernelMappings[0]`,
    /needs exactly one of literal \(a kernel release exactly as uname -r prints it\) or regexp/,
  ),
  moduleCase(
    'no kernel mappings',
    (o) => (container(o).kernelMappings = []),
    `${C}.kernelMappings`,
    /at least 1 item/,
  ),
  moduleCase(
    'kernel mapping without containerImage key',
    (o) => delete mapping0(o).containerImage,
    `${C}.kernelMappings[0].containerImage`,
    /Required/,
  ),
  moduleCase('no selector', (o) => delete o.spec.selector, 'spec.selector', /Required/),
  moduleCase(
    'neither moduleName nor rawArgs',
    (o) => delete modprobe(o).moduleName,
    `${C}.modprobe.moduleName`,
    /required: set moduleName \(the module to load\), or rawArgs with both load and unload/,
  ),
  moduleCase(
    'rawArgs without unload',
    (o) => {
      delete modprobe(o).moduleName;
      modprobe(o).rawArgs = { load: ['-v', 'a'] };
    },
    `${C}.modprobe.moduleName`,
    /rawArgs needs both load and unload \(each the whole modprobe arguments\), or set moduleName/,
  ),
  moduleCase(
    'modulesLoadingOrder not starting with moduleName',
    (o) => (modprobe(o).modulesLoadingOrder = ['b', 'kmm_ci_a']),
    `${C}.modprobe.modulesLoadingOrder`,
    /must start with moduleName \("kmm_ci_a"\): the module loaded on request first/,
  ),
  moduleCase(
    'modulesLoadingOrder without moduleName',
    (o) => {
      delete modprobe(o).moduleName;
      modprobe(o).rawArgs = { load: ['a'], unload: ['a'] };
      modprobe(o).modulesLoadingOrder = ['a', 'b'];
    },
    `${C}.modprobe.modulesLoadingOrder`,
    /is only allowed with moduleName, the module the list starts with/,
  ),
  moduleCase(
    'modulesLoadingOrder with a repeat',
    (o) => (modprobe(o).modulesLoadingOrder = ['kmm_ci_a', 'b', 'b']),
    `${C}.modprobe.modulesLoadingOrder[2]`,
    /Duplicate value: "b"/,
  ),
  moduleCase(
    'modulesLoadingOrder of one module',
    (o) => (modprobe(o).modulesLoadingOrder = ['kmm_ci_a']),
    `${C}.modprobe.modulesLoadingOrder`,
    /at least 2 items/,
  ),
  moduleCase(
    'unknown imagePullPolicy',
    (o) => (container(o).imagePullPolicy = 'Sometimes'),
    `${C}.imagePullPolicy`,
    /Unsupported value: "Sometimes"/,
  ),
  moduleCase(
    'sign without keySecret',
    (o) => (mapping0(o).sign = { certSecret: { name: 'c' }, filesToSign: ['/opt/a.ko'] }),
    `${C}.kernelMappings[0].sign.keySecret`,
    /Required/,
  ),
  moduleCase(
    'build without dockerfileConfigMap',
    (o) => (container(o).build = { buildArgs: [] }),
    `${C}.build.dockerfileConfigMap`,
    /Required/,
  ),
  moduleCase(
    'both in-tree fields',
    (o) => {
      mapping0(o).inTreeModuleToRemove = 'a';
      mapping0(o).inTreeModulesToRemove = ['b'];
    },
    `${C}.kernelMappings[0].inTreeModuleToRemove`,
    /not both: move the module named in inTreeModuleToRemove into the inTreeModulesToRemove list/,
  ),
  moduleCase(
    'both in-tree fields on the container',
    (o) => {
      container(o).inTreeModuleToRemove = 'a';
      container(o).inTreeModulesToRemove = ['b'];
    },
    `${C}.inTreeModuleToRemove`,
    /not both: move the module/,
  ),
  moduleCase(
    'neither moduleLoader nor devicePlugin',
    (o) => delete o.spec.moduleLoader,
    'spec.moduleLoader',
    /set moduleLoader \(to load an out-of-tree module\), devicePlugin .* a Module with neither does nothing/,
  ),
  moduleCase(
    'tolerationSeconds without NoExecute',
    (o) =>
      (o.spec.tolerations = [
        { key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 },
      ]),
    'spec.tolerations[0].tolerationSeconds',
    /only allowed with effect NoExecute .*; set effect: NoExecute, or remove tolerationSeconds/,
  ),
  moduleCase(
    'toleration with an empty key and Equal',
    (o) => (o.spec.tolerations = [{ operator: 'Equal', value: 'x' }]),
    'spec.tolerations[0].operator',
    /operator must be Exists when key is empty .*; set key, or operator: Exists/,
  ),
  moduleCase(
    'device plugin without image',
    (o) => (o.spec.devicePlugin = { container: { env: [] } }),
    'spec.devicePlugin.container.image',
    /Required/,
  ),
  moduleCase(
    'a misspelt field',
    (o) => (container(o).kernelMapings = []),
    `${C}.kernelMapings`,
    /unknown field "spec.moduleLoader.container.kernelMapings"/,
  ),
  {
    name: 'NodeFeatureRule with an unknown operator',
    object: () => ({
      apiVersion: apiVersionOf(NodeFeatureRules),
      kind: 'NodeFeatureRule',
      metadata: { name: 'bad' },
      spec: {
        rules: [
          {
            name: 'r',
            matchFeatures: [
              { feature: 'kernel.loadedmodule', matchExpressions: { veth: { op: 'Present' } } },
            ],
          },
        ],
      },
    }),
    field: 'spec.rules[0].matchFeatures[0].matchExpressions.veth.op',
    message: /Unsupported value: "Present"/,
  },
  {
    name: 'NodeFeatureRule rule without a name',
    object: () => ({
      apiVersion: apiVersionOf(NodeFeatureRules),
      kind: 'NodeFeatureRule',
      metadata: { name: 'bad' },
      spec: { rules: [{ labels: { a: 'b' } }] },
    }),
    field: 'spec.rules[0].name',
    message: /Required/,
  },
  {
    name: 'NodeFeatureRule taint with a bad effect',
    object: () => ({
      apiVersion: 'nfd.openshift.io/v1',
      kind: 'NodeFeatureRule',
      metadata: { name: 'bad' },
      spec: { rules: [{ name: 'r', taints: [{ key: 'k', effect: 'NoWay' }] }] },
    }),
    field: 'spec.rules[0].taints[0].effect',
    message: /Unsupported value: "NoWay"/,
  },
  {
    name: 'PreflightValidation with kernel version "tesdt"',
    object: () => ({
      apiVersion: apiVersionOf(PreflightValidations),
      kind: 'PreflightValidation',
      metadata: { name: 'bad' },
      spec: { kernelVersion: 'tesdt' },
    }),
    field: 'spec.kernelVersion',
    message:
      /"tesdt" is not a kernel release: it needs at least three fields X\.Y\.Z separated by "\.", "," or "-", as uname -r prints it, e\.g\. 5\.14\.0-284/,
  },
  {
    name: 'PreflightValidationOCP with kernel version "6.1"',
    object: () => ({
      apiVersion: apiVersionOf(PreflightValidationsOCP),
      kind: 'PreflightValidationOCP',
      metadata: { name: 'bad' },
      spec: { kernelVersion: '6.1' },
    }),
    field: 'spec.kernelVersion',
    message: /"6\.1" is not a kernel release/,
  },
  {
    name: 'PreflightValidation with a kernel version longer than uname -r prints',
    object: () => ({
      apiVersion: apiVersionOf(PreflightValidations),
      kind: 'PreflightValidation',
      metadata: { name: 'bad' },
      spec: { kernelVersion: `6.1.0-${'x'.repeat(60)}` },
    }),
    field: 'spec.kernelVersion',
    message: /Too long: may not be (more than|longer than) 64/,
  },
  {
    name: 'NodeModulesConfig entry whose modprobe has neither moduleName nor rawArgs',
    object: () => ({
      apiVersion: apiVersionOf(NodeModulesConfigs),
      kind: 'NodeModulesConfig',
      metadata: { name: 'bad' },
      spec: {
        modules: [
          {
            name: 'm',
            namespace: 'n',
            serviceAccountName: 'sa',
            config: {
              kernelVersion: '6.1.0-1',
              containerImage: 'r/i:1',
              insecurePull: false,
              modprobe: { parameters: ['a=1'] },
            },
          },
        ],
      },
    }),
    field: 'spec.modules[0].config.modprobe.moduleName',
    message: /required: set moduleName/,
  },
  {
    name: 'NodeModulesConfig listing one module twice',
    object: () => {
      const m = {
        name: 'm',
        namespace: 'n',
        serviceAccountName: 'sa',
        config: {
          kernelVersion: '6.1.0-1',
          containerImage: 'r/i:1',
          insecurePull: false,
          modprobe: { moduleName: 'm' },
        },
      };
      return {
        apiVersion: apiVersionOf(NodeModulesConfigs),
        kind: 'NodeModulesConfig',
        metadata: { name: 'bad' },
        spec: { modules: [m, m] },
      };
    },
    field: 'spec.modules[1]',
    message: /Duplicate value/,
  },
  {
    name: 'ModuleBuildSignConfig with an unknown action',
    object: () => ({
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
      kind: 'ModuleBuildSignConfig',
      metadata: { name: 'bad' },
      spec: { images: [{ image: 'r/i:1', kernelVersion: '6.1.0-1', action: 'PushImage' }] },
    }),
    field: 'spec.images[0].action',
    message: /Unsupported value: "PushImage"/,
  },
  {
    name: 'NodeFeatureDiscovery with a port that is not a number',
    object: () => ({
      apiVersion: 'nfd.openshift.io/v1',
      kind: 'NodeFeatureDiscovery',
      metadata: { name: 'bad' },
      spec: { operand: { servicePort: 'http' } },
    }),
    field: 'spec.operand.servicePort',
    message: /must be of type integer|expected numeric/,
  },
  {
    name: 'NodeResourceTopology without zones',
    object: () => ({
      apiVersion: 'topology.node.k8s.io/v1alpha2',
      kind: 'NodeResourceTopology',
      metadata: { name: 'bad' },
      attributes: [],
    }),
    field: 'zones',
    message: /Required/,
  },
  {
    name: 'ManagedClusterModule without spokeNamespace, with a broken moduleSpec',
    object: () => ({
      apiVersion: 'hub.kmm.sigs.x-k8s.io/v1beta1',
      kind: 'ManagedClusterModule',
      metadata: { name: 'bad' },
      spec: { moduleSpec: { ...module().spec, selector: undefined }, selector: {} },
    }),
    field: 'spec.spokeNamespace',
    message: /Required/,
  },
  {
    name: 'ManagedClusterModule whose moduleSpec has neither loader nor device plugin',
    object: () => ({
      apiVersion: 'hub.kmm.sigs.x-k8s.io/v1beta1',
      kind: 'ManagedClusterModule',
      metadata: { name: 'bad' },
      spec: { moduleSpec: { selector: {} }, spokeNamespace: 'kmm', selector: {} },
    }),
    field: 'spec.moduleSpec.moduleLoader',
    message: /set moduleLoader \(to load an out-of-tree module\), devicePlugin/,
  },
];

describe('invalid objects are rejected, naming the field', () => {
  for (const c of INVALID) {
    it(c.name, async () => {
      const e = await rejection(create(client, c.object(), ns));
      const named = e.causes.some((x) => x.field === c.field) || e.message.includes(c.field);
      assert.ok(named, `field ${c.field} not named: ${e.message} ${JSON.stringify(e.causes)}`);
      assert.match(e.message, c.message);
      // The schema type in place of the value says nothing; CEL rules word it themselves.
      if (!/must be of type/.test(e.message)) {
        assert.doesNotMatch(e.message, /Invalid value: "(string|object)"/);
      }
    });
  }
});

describe('kubectl get prints useful columns', () => {
  async function kubectl(...args: string[]): Promise<string[][]> {
    const { stdout } = await run(cluster.bin('kubectl'), [
      '--kubeconfig',
      cluster.kubeconfig,
      ...args,
    ]);
    return stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
  }

  async function make<T>(o: Obj, status?: unknown): Promise<T> {
    const r = resourceFor(o);
    o.metadata.labels = { 'hwe-api-test': RUN };
    const out = await apply<T>(client, o, ns, false);
    if (!r.namespaced) clusterScoped.push(resourcePath(r, { name: o.metadata.name }));
    if (status !== undefined)
      await client.request(
        resourcePath(r, { namespace: ns, name: o.metadata.name, subresource: 'status' }),
        {
          method: 'PATCH',
          contentType: 'application/merge-patch+json',
          body: { status },
        },
      );
    return out;
  }

  const row = (table: string[][], header: string[]) => {
    assert.deepEqual(table[0], header);
    assert.equal(table.length, 2, table.map((r) => r.join(' | ')).join('\n'));
    return table[1]!;
  };

  it('nfr: rule names', async () => {
    const name = uniqueName('nfr');
    await make<NodeFeatureRule>({
      apiVersion: apiVersionOf(NodeFeatureRules),
      kind: 'NodeFeatureRule',
      metadata: { name },
      spec: {
        rules: [
          { name: 'gpu', labels: { gpu: 'true' } },
          { name: 'nic', labels: { nic: 'true' } },
        ],
      },
    });
    const r = row(await kubectl('get', 'nfr', name), ['NAME', 'FIRST RULE', 'LABELS', 'AGE']);
    assert.deepEqual(r.slice(0, 3), [name, 'gpu', '{"gpu":"true"}']);
  });

  it('nmc: kernel, modules desired and loaded', async () => {
    const name = uniqueName('nmc');
    const item = (n: string) => ({
      name: n,
      namespace: ns,
      serviceAccountName: 'default',
      config: {
        kernelVersion: '6.1.0-18-amd64',
        containerImage: `r/${n}:1`,
        insecurePull: false,
        modprobe: { moduleName: n },
      },
    });
    await make<NodeModulesConfig>(
      {
        apiVersion: apiVersionOf(NodeModulesConfigs),
        kind: 'NodeModulesConfig',
        metadata: { name },
        spec: { modules: [item('a'), item('b')] },
      },
      { desiredNumber: 2, loadedNumber: 1, modules: [item('a')] },
    );
    const r = row(await kubectl('get', 'nmc', name), [
      'NAME',
      'KERNEL',
      'DESIRED',
      'LOADED',
      'AGE',
    ]);
    assert.deepEqual(r.slice(0, 4), [name, '6.1.0-18-amd64', '2', '1']);
  });

  it('mic: the first image that is not ready, and its state', async () => {
    const name = uniqueName('mic');
    await make<ModuleImagesConfig>(
      {
        apiVersion: apiVersionOf(ModuleImagesConfigs),
        kind: 'ModuleImagesConfig',
        metadata: { name },
        spec: {
          images: [
            { image: 'r/i:6.1', kernelVersion: '6.1.0-18-amd64' },
            { image: 'r/i:6.2', kernelVersion: '6.2.0-1-amd64' },
          ],
        },
      },
      {
        imagesStates: [
          { image: 'r/i:6.1', status: 'Exists' },
          { image: 'r/i:6.2', status: 'NeedsBuilding' },
        ],
      },
    );
    const r = row(await kubectl('get', 'mic', name, '-n', ns), [
      'NAME',
      'NOT READY',
      'STATE',
      'AGE',
    ]);
    assert.deepEqual(r.slice(0, 3), [name, 'r/i:6.2', 'NeedsBuilding']);
  });

  it('pfv: kernel, first failed and first unfinished module', async () => {
    const name = uniqueName('pfv');
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await make<PreflightValidation>(
      {
        apiVersion: apiVersionOf(PreflightValidations),
        kind: 'PreflightValidation',
        metadata: { name },
        spec: { kernelVersion: '6.2.0-1-amd64' },
      },
      {
        modules: [
          {
            name: 'kmod-a',
            namespace: ns,
            verificationStatus: 'Success',
            verificationStage: 'Done',
            lastTransitionTime: t,
          },
          {
            name: 'kmod-b',
            namespace: ns,
            verificationStatus: 'Failure',
            verificationStage: 'Done',
            lastTransitionTime: t,
          },
          {
            name: 'kmod-c',
            namespace: ns,
            verificationStatus: 'InProgress',
            verificationStage: 'Image',
            lastTransitionTime: t,
          },
        ],
      },
    );
    const r = row(await kubectl('get', 'pfv', name), [
      'NAME',
      'KERNEL',
      'FAILED',
      'IN PROGRESS',
      'AGE',
    ]);
    assert.deepEqual(r.slice(0, 4), [name, '6.2.0-1-amd64', 'kmod-b', 'kmod-c']);
  });

  it('modules: nodes, desired, loaded, device plugins', async () => {
    const o = module();
    o.metadata.name = uniqueName('mod');
    await make<Module>(o, {
      moduleLoader: { nodesMatchingSelectorNumber: 3, desiredNumber: 3, availableNumber: 2 },
      devicePlugin: { availableNumber: 1 },
    });
    const r = row(await kubectl('get', 'modules', o.metadata.name, '-n', ns), [
      'NAME',
      'NODES',
      'DESIRED',
      'LOADED',
      'PLUGINS',
      'AGE',
    ]);
    assert.deepEqual(r.slice(0, 5), [o.metadata.name, '3', '3', '2', '1']);
  });

  it('kubectl get nfr,nmc,mic,pfv: one table per kind with its columns', async () => {
    const { stdout } = await run(cluster.bin('kubectl'), [
      '--kubeconfig',
      cluster.kubeconfig,
      'get',
      'nfr,nmc,mic,pfv',
      '-n',
      ns,
      '-l',
      `hwe-api-test=${RUN}`,
    ]);
    const headers = stdout
      .split('\n')
      .filter((l) => l.startsWith('NAME'))
      .map((l) => l.trim().split(/\s{2,}/));
    assert.deepEqual(headers, [
      ['NAME', 'FIRST RULE', 'LABELS', 'AGE'],
      ['NAME', 'KERNEL', 'DESIRED', 'LOADED', 'AGE'],
      ['NAME', 'NOT READY', 'STATE', 'AGE'],
      ['NAME', 'KERNEL', 'FAILED', 'IN PROGRESS', 'AGE'],
    ]);
  });
});

describe('installCrds', () => {
  it('survives other suites installing the same CRDs at the same time', async () => {
    await Promise.all([installCrds(client, ALL_RESOURCES), installCrds(client, ALL_RESOURCES)]);
  });

  it('is idempotent: installing again over existing CRDs succeeds', async () => {
    await installCrds(client, ALL_RESOURCES);
    const list = await client.request<{ items: Array<{ metadata: { name: string } }> }>(
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    );
    const names = new Set(list.items.map((i) => i.metadata.name));
    for (const d of ALL_RESOURCES) assert.ok(names.has(`${d.plural}.${d.group}`), d.kind);
  });
});
