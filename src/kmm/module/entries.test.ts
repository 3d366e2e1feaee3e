import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Module, ModuleConfig, NodeModuleSpec, NodeModulesConfig } from '../../api/index.js';
import type { NodeView } from '../nmc/plan.js';
import {
  micSpec,
  nmcWrites,
  nodeFacts,
  unloadProgress,
  versionsInUse,
  withEntry,
  type EntryWrite,
} from './entries.js';

const cfg = (kernel: string, image = `reg/drv:${kernel}`): ModuleConfig => ({
  kernelVersion: kernel,
  containerImage: image,
  imagePullPolicy: 'IfNotPresent',
  insecurePull: false,
  modprobe: { moduleName: 'drv' },
});
const entry = (kernel: string, extra: Partial<NodeModuleSpec> = {}): NodeModuleSpec => ({
  name: 'drv',
  namespace: 'ns',
  serviceAccountName: 'sa',
  config: cfg(kernel),
  ...extra,
});
const other: NodeModuleSpec = { ...entry('k1'), name: 'other' };

function nmc(
  node: string,
  spec: NodeModuleSpec[],
  status: { config: ModuleConfig; version?: string; bootId?: string }[] = [],
  annotations?: Record<string, string>,
): NodeModulesConfig {
  return {
    metadata: { name: node, ...(annotations ? { annotations } : {}) },
    spec: { modules: spec },
    status: {
      modules: status.map((s) => ({
        name: 'drv',
        namespace: 'ns',
        serviceAccountName: 'sa',
        bootId: 'b',
        ...s,
      })),
    },
  };
}
const plan = (
  entries: [string, NodeModuleSpec][],
  keep: string[] = [],
  hold: [string, string][] = [],
) => ({ entries: new Map(entries), keep: new Set(keep), hold: new Map(hold) });

describe('nmcWrites', () => {
  const cases: {
    name: string;
    plan: ReturnType<typeof plan>;
    nmcs: NodeModulesConfig[];
    want: EntryWrite[];
  }[] = [
    { name: 'nothing wanted, nothing there', plan: plan([]), nmcs: [], want: [] },
    {
      name: 'a node without an NMC gets its entry',
      plan: plan([['n1', entry('k1')]]),
      nmcs: [],
      want: [['n1', entry('k1')]],
    },
    {
      name: 'an NMC without the entry gets it, beside other modules',
      plan: plan([['n1', entry('k1')]]),
      nmcs: [nmc('n1', [other])],
      want: [['n1', entry('k1')]],
    },
    {
      name: 'the same entry is not written again',
      plan: plan([['n1', entry('k1')]]),
      nmcs: [nmc('n1', [other, entry('k1')])],
      want: [],
    },
    {
      name: 'a different entry (new image) is written',
      plan: plan([['n1', { ...entry('k1'), config: cfg('k1', 'reg/drv:v2') }]]),
      nmcs: [nmc('n1', [entry('k1')])],
      want: [['n1', { ...entry('k1'), config: cfg('k1', 'reg/drv:v2') }]],
    },
    {
      name: 'an entry no longer wanted is removed',
      plan: plan([]),
      nmcs: [nmc('n1', [entry('k1'), other])],
      want: [['n1', null]],
    },
    {
      name: 'an NMC without the entry is left alone',
      plan: plan([]),
      nmcs: [nmc('n1', [other])],
      want: [],
    },
    {
      name: 'a kept node (ordered upgrade) is left alone',
      plan: plan([], ['n1']),
      nmcs: [nmc('n1', [entry('k1', { version: 'v1' })])],
      want: [],
    },
    {
      name: 'a node waiting for its image keeps its entry for the kernel it runs',
      plan: plan([], [], [['n1', 'k1']]),
      nmcs: [nmc('n1', [entry('k1')])],
      want: [],
    },
    {
      name: 'a node waiting for its image loses an entry for another kernel',
      plan: plan([], [], [['n1', 'k2']]),
      nmcs: [nmc('n1', [entry('k1')])],
      want: [['n1', null]],
    },
    {
      name: 'several nodes: set, unchanged, removed',
      plan: plan([
        ['n1', entry('k1')],
        ['n2', entry('k2')],
      ]),
      nmcs: [nmc('n1', []), nmc('n2', [entry('k2')]), nmc('n3', [entry('k1')])],
      want: [
        ['n1', entry('k1')],
        ['n3', null],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(nmcWrites(c.plan, c.nmcs, 'ns', 'drv'), c.want));
  }
});

describe('withEntry', () => {
  it('sets the entry, replacing the old one, sorted by namespace/name', () => {
    const got = withEntry(nmc('n1', [entry('k1'), other]), 'ns', 'drv', entry('k2'));
    assert.deepEqual(got, [entry('k2'), other]);
  });
  it('removes the entry with null, keeping the others', () => {
    assert.deepEqual(withEntry(nmc('n1', [entry('k1'), other]), 'ns', 'drv', null), [other]);
  });
  it('starts from nothing without an NMC', () => {
    assert.deepEqual(withEntry(undefined, 'ns', 'drv', entry('k1')), [entry('k1')]);
  });
});

describe('unloadProgress', () => {
  it('lists NMCs naming the Module and existing nodes still holding it loaded', () => {
    const nmcs = [
      nmc('n1', [entry('k1')], [{ config: cfg('k1') }]),
      nmc('n2', [], [{ config: cfg('k1') }]),
      nmc('n3', [other]),
      nmc('gone', [entry('k1')], [{ config: cfg('k1') }]),
    ];
    const got = unloadProgress(nmcs, new Set(['n1', 'n2', 'n3']), 'ns', 'drv');
    assert.deepEqual(
      got.listedIn.map((c) => c.metadata.name),
      ['n1', 'gone'],
    );
    assert.deepEqual(got.loadedOn, ['n1', 'n2'], 'a deleted node is not waited for');
  });
  it('nothing left: nothing listed, nothing loaded', () => {
    assert.deepEqual(unloadProgress([nmc('n1', [other])], new Set(['n1']), 'ns', 'drv'), {
      listedIn: [],
      loadedOn: [],
    });
  });
});

describe('nodeFacts', () => {
  const views = new Map<string, NodeView>([
    ['n1', { bootID: 'b', ready: true }],
    ['n2', { bootID: 'b', ready: true }],
    ['n3', { bootID: 'new-boot', ready: true }],
  ]);
  const ann = 'kmm.node.kubernetes.io/last-error.ns.drv';
  it('configured, loaded and the recorded error per NMC', () => {
    const nmcs = [
      nmc('n1', [entry('k1')], [{ config: cfg('k1') }]),
      nmc('n2', [entry('k1')], [{ config: cfg('k1', 'reg/drv:old') }], { [ann]: 'load failed' }),
      nmc('n3', [entry('k1')], [{ config: cfg('k1') }]),
      nmc('n4', [other]),
      nmc('gone', [entry('k1')], [{ config: cfg('k1') }]),
    ];
    const got = nodeFacts(plan([]), nmcs, views, 'ns', 'drv', ann);
    assert.deepEqual(Object.fromEntries(got), {
      n1: { configured: true, loaded: true },
      n2: { configured: true, loaded: false, error: 'load failed' },
      n3: { configured: true, loaded: false },
      n4: { configured: false, loaded: false },
      gone: { configured: true, loaded: false },
    });
  });
  it("the plan's entry counts before the NMC shows it", () => {
    const got = nodeFacts(
      plan([['n1', entry('k1')]]),
      [nmc('n1', [], [{ config: cfg('k1') }])],
      views,
      'ns',
      'drv',
      ann,
    );
    assert.deepEqual(got.get('n1'), { configured: true, loaded: true });
  });
});

describe('versionsInUse', () => {
  it('versions loaded or to be loaded on existing nodes', () => {
    const nmcs = [
      nmc('n1', [entry('k1', { version: 'v2' })], [{ config: cfg('k1'), version: 'v1' }]),
      nmc('n2', [entry('k1')]),
      nmc('gone', [entry('k1', { version: 'v0' })]),
      nmc('n3', [{ ...other, version: 'x' }]),
    ];
    const got = versionsInUse(nmcs, new Set(['n1', 'n2', 'n3']), 'ns', 'drv');
    assert.deepEqual([...got].sort(), ['', 'v1', 'v2']);
  });
});

describe('micSpec', () => {
  const images = [{ image: 'reg/drv:k1', kernelVersion: 'k1' }];
  const module = (extra: Partial<Module['spec']> = {}, pull?: string): Module =>
    ({
      metadata: { name: 'drv', namespace: 'ns' },
      spec: {
        selector: {},
        moduleLoader: {
          container: {
            modprobe: { moduleName: 'drv' },
            ...(pull ? { imagePullPolicy: pull } : {}),
          },
        },
        ...extra,
      },
    }) as Module;
  it('images with the default pull policy', () => {
    assert.deepEqual(micSpec(module(), { images }), { images, imagePullPolicy: 'IfNotPresent' });
  });
  it("the Module's pull secret, pull policy, tolerations and rebuild trigger", () => {
    const tolerations = [{ key: 'gpu', operator: 'Exists' as const }];
    const got = micSpec(
      module(
        { imageRepoSecret: { name: 'pull' }, tolerations, imageRebuildTriggerGeneration: 0 },
        'Always',
      ),
      { images },
    );
    assert.deepEqual(got, {
      images,
      imageRepoSecret: { name: 'pull' },
      imagePullPolicy: 'Always',
      tolerations,
      imageRebuildTriggerGeneration: 0,
    });
  });
  it('empty tolerations are left out', () => {
    assert.equal('tolerations' in micSpec(module({ tolerations: [] }), { images }), false);
  });
});
