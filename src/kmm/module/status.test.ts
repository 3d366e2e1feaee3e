import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageState, Module } from '../../api/index.js';
import type { ConditionInput } from '../../runtime/index.js';
import { planModule } from './desired.js';
import { versionModuleLabel } from './labels.js';
import type { KmmNode } from './nodes.js';
import {
  decideStatus,
  failureSummary,
  moduleRequeueMs,
  statusUpdate,
  unloadingConditions,
  type ImageFailure,
  type NodeFacts,
  type StatusDecision,
} from './status.js';

const K1 = '5.14.0-284.30.1.el9_2.x86_64';
const K3 = '4.18.0-80.el8.x86_64';
const IMG = `reg/drv:${K1}`;
const sec = { operatorNamespace: 'openshift-kmm', workerServiceAccount: 'kmm-loader' };
const VLABEL = versionModuleLabel('ns', 'drv');

function node(name: string, kernel = K1, labels: Record<string, string> = {}): KmmNode {
  return {
    metadata: { name, labels: { gpu: 'yes', ...labels } },
    status: { nodeInfo: { kernelVersion: kernel, bootID: 'b' } },
  };
}
const tainted = (name: string): KmmNode => ({
  ...node(name),
  spec: { taints: [{ key: 'dedicated', effect: 'NoSchedule' }] },
});

interface ModOpts {
  version?: string;
  build?: boolean;
  sign?: boolean;
  loader?: boolean;
  plugin?: boolean;
  regexp?: string;
}
function mod(o: ModOpts = {}): Module {
  const mapping: Record<string, unknown> = {
    regexp: o.regexp ?? '^5\\.',
    containerImage: 'reg/drv:${KERNEL_FULL_VERSION}',
  };
  if (o.build) mapping.build = { dockerfileConfigMap: { name: 'df' } };
  if (o.sign) mapping.sign = { keySecret: { name: 'k' }, certSecret: { name: 'c' } };
  return {
    metadata: { name: 'drv', namespace: 'ns', uid: 'u' },
    spec: {
      selector: { gpu: 'yes' },
      ...(o.loader === false
        ? {}
        : {
            moduleLoader: {
              container: {
                modprobe: { moduleName: 'drv' },
                ...(o.version ? { version: o.version } : {}),
                kernelMappings: [mapping],
              },
            },
          }),
      ...(o.plugin || o.loader === false ? { devicePlugin: { container: { image: 'p:1' } } } : {}),
    },
  } as Module;
}

interface Row {
  name: string;
  module: Module;
  nodes: KmmNode[];
  image?: ImageState;
  /** NMC facts per node: c = configured, l = configured and loaded, e = failed. */
  nmc?: Record<string, 'c' | 'l' | 'e'>;
  failures?: ImageFailure[];
  plugins?: { desiredNumberScheduled: number; numberAvailable: number }[];
  /** [matching, desired, available] of status.moduleLoader. */
  counts?: [number, number, number];
  ready: [ConditionInput['status'], string];
  progressing: [ConditionInput['status'], string];
  degraded: [ConditionInput['status'], string];
  /** Words the messages must contain, by condition type. */
  says?: Partial<Record<'Ready' | 'Progressing' | 'Degraded', RegExp>>;
}

const nodeFacts = (nmc: Row['nmc'] = {}): Map<string, NodeFacts> =>
  new Map(
    Object.entries(nmc).map(([n, f]) => [
      n,
      {
        configured: true,
        loaded: f === 'l',
        ...(f === 'e' ? { error: "modprobe: ERROR: could not insert 'drv'" } : {}),
      },
    ]),
  );

function decide(r: Row): StatusDecision {
  const states = new Map<string, ImageState>(r.image ? [[IMG, r.image]] : []);
  const plan = planModule(r.module, r.nodes, states, sec);
  return decideStatus({
    module: r.module,
    plan,
    nodes: nodeFacts(r.nmc),
    imageFailures: r.failures ?? [],
    devicePlugins: r.plugins ?? [],
  });
}

const buildFailure: ImageFailure = {
  image: IMG,
  kernel: K1,
  action: 'BuildImage',
  object: 'drv',
  reason:
    `build of ${IMG} for kernel ${K1} (Dockerfile from ConfigMap df) failed in pod drv-build-1a2b: ` +
    'INFO[0001] Retrieving image manifest debian:12\nerror building image: parsing dockerfile: unknown instruction: RUNN\n',
};

const ROWS: Row[] = [
  {
    name: 'image not checked yet',
    module: mod(),
    nodes: [node('a'), node('b')],
    counts: [2, 2, 0],
    ready: ['False', 'ImagePending'],
    progressing: ['True', 'ImagePending'],
    degraded: ['False', 'AsExpected'],
    says: { Progressing: /not checked yet/ },
  },
  {
    name: 'image missing, no build or sign',
    module: mod(),
    nodes: [node('a')],
    image: 'DoesNotExist',
    counts: [1, 1, 0],
    ready: ['False', 'ImageMissing'],
    progressing: ['False', 'ImageMissing'],
    degraded: ['True', 'ImageMissing'],
    says: {
      Degraded: /does not exist .*push it, or add build or sign/,
      Progressing: /nothing in progress/,
    },
  },
  {
    name: 'building',
    module: mod({ build: true }),
    nodes: [node('a')],
    image: 'NeedsBuilding',
    counts: [1, 1, 0],
    ready: ['False', 'ImagePending'],
    progressing: ['True', 'ImagePending'],
    degraded: ['False', 'AsExpected'],
    says: { Progressing: /NeedsBuilding/ },
  },
  {
    name: 'signing',
    module: mod({ sign: true }),
    nodes: [node('a')],
    image: 'NeedsSigning',
    counts: [1, 1, 0],
    ready: ['False', 'ImagePending'],
    progressing: ['True', 'ImagePending'],
    degraded: ['False', 'AsExpected'],
    says: { Progressing: /NeedsSigning/ },
  },
  {
    name: 'build failed: the build, its object and the first error line',
    module: mod({ build: true }),
    nodes: [node('a')],
    image: 'DoesNotExist',
    failures: [buildFailure],
    counts: [1, 1, 0],
    ready: ['False', 'BuildFailed'],
    progressing: ['False', 'BuildFailed'],
    degraded: ['True', 'BuildFailed'],
    says: {
      Degraded:
        /^build of reg\/drv:5\S+ for kernel 5\S+ \(Dockerfile from ConfigMap df\) failed in pod drv-build-1a2b: INFO\[0001\] Retrieving image manifest debian:12 … error building image: parsing dockerfile: unknown instruction: RUNN \(ModuleBuildSignConfig drv\); fix the cause/,
    },
  },
  {
    name: 'sign failed before its event is found',
    module: mod({ sign: true }),
    nodes: [node('a')],
    image: 'DoesNotExist',
    failures: [{ image: IMG, kernel: K1, action: 'SignImage', object: 'drv' }],
    counts: [1, 1, 0],
    ready: ['False', 'SignFailed'],
    progressing: ['False', 'SignFailed'],
    degraded: ['True', 'SignFailed'],
    says: {
      Degraded:
        /signing of image .* failed \(ModuleBuildSignConfig drv\); the SignFailed events of this Module say why/,
    },
  },
  {
    name: 'loading: entries written, nothing loaded yet',
    module: mod(),
    nodes: [node('a'), node('b')],
    image: 'Exists',
    nmc: { a: 'c' },
    counts: [2, 2, 0],
    ready: ['False', 'Loading'],
    progressing: ['True', 'Loading'],
    degraded: ['False', 'AsExpected'],
    says: { Progressing: /loaded on 0 of 2 node\(s\); loading on a, b/ },
  },
  {
    name: 'half loaded',
    module: mod(),
    nodes: [node('a'), node('b')],
    image: 'Exists',
    nmc: { a: 'l', b: 'c' },
    counts: [2, 2, 1],
    ready: ['False', 'Loading'],
    progressing: ['True', 'Loading'],
    degraded: ['False', 'AsExpected'],
  },
  {
    name: 'loaded everywhere',
    module: mod(),
    nodes: [node('a'), node('b'), tainted('t')],
    image: 'Exists',
    nmc: { a: 'l', b: 'l' },
    counts: [3, 2, 2],
    ready: ['True', 'ModuleLoaded'],
    progressing: ['False', 'ModuleLoaded'],
    degraded: ['False', 'AsExpected'],
    says: { Ready: /loaded on all 2 node\(s\)/ },
  },
  {
    name: 'load failed on one node',
    module: mod(),
    nodes: [node('a'), node('b')],
    image: 'Exists',
    nmc: { a: 'l', b: 'e' },
    counts: [2, 2, 1],
    ready: ['False', 'LoadFailed'],
    progressing: ['True', 'Loading'],
    degraded: ['True', 'LoadFailed'],
    says: { Degraded: /b: modprobe: ERROR/ },
  },
  {
    name: 'a kernel without mapping',
    module: mod(),
    nodes: [node('a'), node('c', K3)],
    image: 'Exists',
    nmc: { a: 'l' },
    counts: [2, 2, 1],
    ready: ['False', 'NoKernelMapping'],
    progressing: ['False', 'NoKernelMapping'],
    degraded: ['True', 'NoKernelMapping'],
    says: { Degraded: /kernel 4\.18\.0-80\.el8\.x86_64 on node\(s\) c/ },
  },
  {
    name: 'an invalid Module',
    module: mod({ regexp: '(' }),
    nodes: [node('a')],
    counts: [1, 0, 0],
    ready: ['False', 'InvalidModule'],
    progressing: ['False', 'InvalidModule'],
    degraded: ['True', 'InvalidModule'],
  },
  {
    name: 'no node matches',
    module: mod(),
    nodes: [],
    counts: [0, 0, 0],
    ready: ['False', 'NoMatchingNodes'],
    progressing: ['False', 'NoMatchingNodes'],
    degraded: ['False', 'AsExpected'],
    says: { Ready: /no node matches spec\.selector/ },
  },
  {
    name: 'matching nodes all tainted',
    module: mod(),
    nodes: [tainted('t')],
    counts: [1, 0, 0],
    ready: ['False', 'NoMatchingNodes'],
    progressing: ['False', 'NoMatchingNodes'],
    degraded: ['False', 'AsExpected'],
    says: { Ready: /1 node match spec\.selector, none schedulable: add tolerations/ },
  },
  {
    name: 'ordered upgrade: a labelled node loaded, a selected node not labelled and holding nothing',
    module: mod({ version: 'v1' }),
    nodes: [node('a', K1, { [VLABEL]: 'v1' }), node('b', K1, { [VLABEL]: 'v1' }), node('u')],
    image: 'Exists',
    nmc: { a: 'l', b: 'l' },
    counts: [3, 2, 2],
    ready: ['True', 'ModuleLoaded'],
    progressing: ['False', 'ModuleLoaded'],
    degraded: ['False', 'AsExpected'],
    says: {
      Ready:
        /loaded on all 2 node\(s\); 1 selected node \(u\) not labelled .*version-module\.ns\.drv=v1/,
    },
  },
  {
    name: 'ordered upgrade: no node labelled yet',
    module: mod({ version: 'v1' }),
    nodes: [node('a'), node('b')],
    image: 'Exists',
    counts: [2, 0, 0],
    ready: ['False', 'VersionNotLabelled'],
    progressing: ['False', 'VersionNotLabelled'],
    degraded: ['False', 'AsExpected'],
    says: {
      Ready:
        /label the nodes that should run version v1 kmm\.node\.kubernetes\.io\/version-module\.ns\.drv=v1: a, b/,
    },
  },
  {
    name: 'mid-upgrade: one node moved to v2 and loading, one still on v1',
    module: mod({ version: 'v2' }),
    nodes: [node('a', K1, { [VLABEL]: 'v2' }), node('b', K1, { [VLABEL]: 'v1' })],
    image: 'Exists',
    nmc: { a: 'c', b: 'l' },
    counts: [2, 2, 1],
    ready: ['False', 'Loading'],
    progressing: ['True', 'Loading'],
    degraded: ['False', 'AsExpected'],
    says: {
      Progressing:
        /loading on a; 1 node \(b\) keep an older version until labelled \S+version-module\.ns\.drv=v2$/,
    },
  },
  {
    name: 'mid-upgrade: the new image awaited, the old version still loaded on both nodes',
    module: mod({ version: 'v2', build: true }),
    nodes: [node('a', K1, { [VLABEL]: 'v2' }), node('b', K1, { [VLABEL]: 'v1' })],
    image: 'NeedsBuilding',
    nmc: { a: 'l', b: 'l' },
    counts: [2, 2, 1],
    ready: ['False', 'ImagePending'],
    progressing: ['True', 'ImagePending'],
    degraded: ['False', 'AsExpected'],
  },
  {
    name: 'device plugin only, pods starting',
    module: mod({ loader: false }),
    nodes: [node('a'), node('b')],
    plugins: [{ desiredNumberScheduled: 2, numberAvailable: 1 }],
    ready: ['False', 'DevicePluginStarting'],
    progressing: ['True', 'DevicePluginStarting'],
    degraded: ['False', 'AsExpected'],
  },
  {
    name: 'device plugin only, running everywhere',
    module: mod({ loader: false }),
    nodes: [node('a'), node('b')],
    plugins: [{ desiredNumberScheduled: 2, numberAvailable: 2 }],
    ready: ['True', 'DevicePluginOnly'],
    progressing: ['False', 'DevicePluginOnly'],
    degraded: ['False', 'AsExpected'],
    says: { Ready: /device plugin available on all 2 node\(s\)/ },
  },
  {
    name: 'device plugin only, no node',
    module: mod({ loader: false }),
    nodes: [],
    ready: ['False', 'NoMatchingNodes'],
    progressing: ['False', 'NoMatchingNodes'],
    degraded: ['False', 'AsExpected'],
  },
];

const cond = (d: StatusDecision, type: string) => d.conditions.find((c) => c.type === type)!;

for (const r of ROWS) {
  test(`status: ${r.name}`, () => {
    const d = decide(r);
    const got = (t: string) => [cond(d, t).status, cond(d, t).reason];
    assert.deepEqual(got('Ready'), r.ready, `Ready: ${cond(d, 'Ready').message}`);
    assert.deepEqual(got('Progressing'), r.progressing, cond(d, 'Progressing').message);
    assert.deepEqual(got('Degraded'), r.degraded, cond(d, 'Degraded').message);
    if (r.counts) {
      const l = d.moduleLoader!;
      assert.deepEqual(
        [l.nodesMatchingSelectorNumber, l.desiredNumber, l.availableNumber],
        r.counts,
      );
    }
    for (const [type, re] of Object.entries(r.says ?? {})) {
      assert.match(cond(d, type).message ?? '', re, type);
    }
  });
}

test('status: every reason agrees with the counts, in every row', () => {
  for (const r of ROWS) {
    const d = decide(r);
    const [ready, progressing, degraded] = ['Ready', 'Progressing', 'Degraded'].map((t) =>
      cond(d, t),
    ) as [ConditionInput, ConditionInput, ConditionInput];
    const counts = d.moduleLoader ?? d.devicePlugin ?? { desiredNumber: 0, availableNumber: 0 };
    const all = counts.availableNumber === counts.desiredNumber && counts.desiredNumber! > 0;
    assert.equal(ready.status === 'True', all && degraded.status === 'False', r.name);
    if (progressing.reason === 'ModuleLoaded') assert.ok(all, r.name);
    if (ready.reason === 'Loading') assert.ok(counts.availableNumber! < counts.desiredNumber!);
    if (degraded.status === 'True') assert.equal(ready.reason, degraded.reason, r.name);
    for (const c of d.conditions) {
      const m = /loaded on (\d+) of (\d+) node/.exec(c.message ?? '');
      if (m) assert.deepEqual([+m[1]!, +m[2]!], [counts.availableNumber, counts.desiredNumber]);
      const a = /loaded on all (\d+) node/.exec(c.message ?? '');
      if (a) assert.ok(all && +a[1]! === counts.desiredNumber, `${r.name}: ${c.message}`);
    }
  }
});

test('status: device plugin counts add up the DaemonSets of every version', () => {
  const d = decide({
    ...ROWS[0]!,
    module: mod({ version: 'v2', plugin: true }),
    plugins: [
      { desiredNumberScheduled: 1, numberAvailable: 1 },
      { desiredNumberScheduled: 2, numberAvailable: 1 },
    ],
  });
  assert.deepEqual(d.devicePlugin, {
    nodesMatchingSelectorNumber: 2,
    desiredNumber: 3,
    availableNumber: 2,
  });
});

test('failure summary: the first line, and the first later line naming an error', () => {
  assert.equal(
    failureSummary('a failed in pod p: x\ny\nb: Error x\nc failed'),
    'a failed in pod p: x … b: Error x',
  );
  assert.equal(failureSummary('\n  only line  \n'), 'only line');
  assert.equal(failureSummary('Secret s not found\ncreate it'), 'Secret s not found');
  assert.equal(failureSummary(''), '');
});

test('a Module being deleted is unloading, and not ready', () => {
  const [p, r] = unloadingConditions(['n2', 'n1']);
  assert.equal(p!.reason, 'Unloading');
  assert.equal(r!.status, 'False');
  assert.match(p!.message!, /unloading from 2 node\(s\): n1, n2/);
});

describe('statusUpdate', () => {
  const ready = (status: 'True' | 'False', reason: string, message: string): ConditionInput => ({
    type: 'Ready',
    status,
    reason,
    message,
  });
  const withStatus = (conditions: ConditionInput[], available = 1): Module =>
    ({
      metadata: { name: 'drv', namespace: 'ns', generation: 3 },
      spec: { selector: {} },
      status: {
        conditions: conditions.map((c) => ({
          ...c,
          observedGeneration: 3,
          lastTransitionTime: '2026-01-01T00:00:00Z',
        })),
        moduleLoader: {
          nodesMatchingSelectorNumber: 2,
          desiredNumber: 2,
          availableNumber: available,
        },
      },
    }) as Module;
  const counts = (available: number) => ({
    moduleLoader: { nodesMatchingSelectorNumber: 2, desiredNumber: 2, availableNumber: available },
  });
  const loading = ready('False', 'Loading', 'loaded on 1 of 2');
  const cases: {
    name: string;
    module: Module;
    wanted: ConditionInput[];
    counts?: ReturnType<typeof counts>;
    since: number;
    write: boolean;
    waitMs: number;
  }[] = [
    {
      name: 'nothing changes: nothing written',
      module: withStatus([loading]),
      wanted: [loading],
      counts: counts(1),
      since: 0,
      write: false,
      waitMs: 0,
    },
    {
      name: 'a reason changes: written at once',
      module: withStatus([loading]),
      wanted: [ready('True', 'ModuleLoaded', 'loaded on 2 of 2')],
      counts: counts(2),
      since: 10,
      write: true,
      waitMs: 0,
    },
    {
      name: 'only counts and messages change, just after a write: held back',
      module: withStatus([loading]),
      wanted: [ready('False', 'Loading', 'loaded on 1 of 2, one more')],
      counts: counts(1),
      since: 300,
      write: false,
      waitMs: 700,
    },
    {
      name: 'only counts change, a second after the last write: written',
      module: withStatus([loading]),
      wanted: [loading],
      counts: counts(0),
      since: 1000,
      write: true,
      waitMs: 0,
    },
    {
      name: 'a new condition type: written at once',
      module: withStatus([loading]),
      wanted: [loading, { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' }],
      counts: counts(1),
      since: 0,
      write: true,
      waitMs: 0,
    },
    {
      name: 'without counts, the counts on record stay',
      module: withStatus([loading]),
      wanted: [loading],
      since: 0,
      write: false,
      waitMs: 0,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = statusUpdate(c.module, c.wanted, c.counts, c.since);
      assert.equal(!!got.patch, c.write);
      assert.equal(got.waitMs, c.waitMs);
    });
  }
  it('the patch carries the conditions with the observed generation, and removed counts as null', () => {
    const m = withStatus([loading]);
    const got = statusUpdate(m, [ready('True', 'ModuleLoaded', 'all')], {}, 5_000);
    const status = (got.patch as { status: Record<string, unknown> }).status;
    assert.equal(status.moduleLoader, null);
    const conds = status.conditions as { reason: string; observedGeneration: number }[];
    assert.deepEqual(
      conds.map((c) => [c.reason, c.observedGeneration]),
      [['ModuleLoaded', 3]],
    );
  });
});

describe('moduleRequeueMs', () => {
  const cases: [statusWaitMs: number, tries: number, want: number | undefined][] = [
    [0, 0, undefined],
    [700, 0, 700],
    [0, 1, 5000],
    [0, 6, 5000],
    [0, 7, undefined],
    [700, 3, 700],
    [6000, 3, 5000],
  ];
  for (const [wait, tries, want] of cases) {
    it(`status wait ${wait} ms, ${tries} unexplained: ${want ?? 'none'}`, () =>
      assert.equal(moduleRequeueMs(wait, tries), want));
  }
});
