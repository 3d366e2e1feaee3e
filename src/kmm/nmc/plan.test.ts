import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModuleConfig, NodeModuleSpec, NodeModulesConfig } from '../../api/index.js';
import { readyLabel, versionReadyLabel } from '../common/index.js';
import {
  errorAnnotationsPatch,
  loadedCount,
  nmcModuleKeys,
  nodeLabels,
  nodeLabelsPatch,
  planNode,
  type WorkerPodView,
} from './plan.js';

const cfg = (image: string, kernel = 'k1'): ModuleConfig => ({
  kernelVersion: kernel,
  containerImage: image,
  imagePullPolicy: 'IfNotPresent',
  insecurePull: false,
  modprobe: { moduleName: 'm' },
});
const spec = (name: string, config: ModuleConfig, version?: string): NodeModuleSpec => ({
  name,
  namespace: 'ns',
  serviceAccountName: 'sa',
  config,
  ...(version ? { version } : {}),
});
const node = { bootID: 'boot-1', ready: true };
const now = '2026-01-01T00:00:00Z';

function nmc(
  wants: NodeModuleSpec[],
  have: { name: string; config: ModuleConfig; bootId?: string; version?: string }[] = [],
): Pick<NodeModulesConfig, 'spec' | 'status'> {
  return {
    spec: { modules: wants },
    status: {
      modules: have.map((h) => ({
        namespace: 'ns',
        serviceAccountName: 'sa',
        bootId: 'boot-1',
        ...h,
      })),
    },
  };
}

const pod = (
  module: string,
  action: 'load' | 'unload',
  phase: WorkerPodView['phase'],
  config?: ModuleConfig,
  message?: string,
): WorkerPodView => ({
  name: `kmm-worker-n-${module}`,
  namespace: 'ns',
  module,
  action,
  phase,
  ...(config ? { config } : {}),
  ...(message ? { message } : {}),
});

const actions = (p: ReturnType<typeof planNode>) =>
  p.createPods.map((c) => `${c.action} ${c.entry.name} ${c.config.containerImage}`);

test('wanted and not loaded: load', () => {
  const p = planNode(nmc([spec('a', cfg('i:1'))]), node, [], new Set(), now);
  assert.deepEqual(actions(p), ['load a i:1']);
  assert.equal(p.status, undefined);
});

test('loaded with the same config in this boot: nothing', () => {
  const p = planNode(
    nmc([spec('a', cfg('i:1'))], [{ name: 'a', config: cfg('i:1') }]),
    node,
    [],
    new Set(),
    now,
  );
  assert.deepEqual(actions(p), []);
});

test('another config on the same kernel: unload the old one first', () => {
  const p = planNode(
    nmc([spec('a', cfg('i:2'))], [{ name: 'a', config: cfg('i:1') }]),
    node,
    [],
    new Set(),
    now,
  );
  assert.deepEqual(actions(p), ['unload a i:1']);
});

test('another kernel (the node was upgraded): load the new one', () => {
  const p = planNode(
    nmc([spec('a', cfg('i:2', 'k2'))], [{ name: 'a', config: cfg('i:1', 'k1'), bootId: 'boot-0' }]),
    node,
    [],
    new Set(),
    now,
  );
  assert.deepEqual(actions(p), ['load a i:2']);
});

test('a reboot (bootID changed) loads again', () => {
  const p = planNode(
    nmc([spec('a', cfg('i:1'))], [{ name: 'a', config: cfg('i:1'), bootId: 'boot-0' }]),
    node,
    [],
    new Set(),
    now,
  );
  assert.deepEqual(actions(p), ['load a i:1']);
  const notReady = planNode(
    nmc([spec('a', cfg('i:1'))], [{ name: 'a', config: cfg('i:1'), bootId: 'boot-0' }]),
    { ...node, ready: false },
    [],
    new Set(),
    now,
  );
  assert.deepEqual(actions(notReady), [], 'wait until the node is Ready again');
});

test('rebooted into another kernel: the entry for the old kernel waits for its replacement', () => {
  const upgraded = { ...node, bootID: 'boot-2', kernelVersion: 'k2' };
  const stale = planNode(
    nmc([spec('a', cfg('i:1', 'k1'))], [{ name: 'a', config: cfg('i:1', 'k1') }]),
    upgraded,
    [],
    new Set(),
    now,
  );
  assert.deepEqual(actions(stale), [], 'no load of a k1 module into a k2 kernel');
  assert.deepEqual(nodeLabels(nmc([spec('a', cfg('i:1', 'k1'))]), upgraded), {});
  const moved = planNode(
    nmc([spec('a', cfg('i:2', 'k2'))], [{ name: 'a', config: cfg('i:1', 'k1') }]),
    upgraded,
    [],
    new Set(),
    now,
  );
  assert.deepEqual(actions(moved), ['load a i:2']);
});

test('no longer wanted: unload; after a reboot nothing is loaded, so the entry is dropped', () => {
  const p = planNode(nmc([], [{ name: 'a', config: cfg('i:1') }]), node, [], new Set(), now);
  assert.deepEqual(actions(p), ['unload a i:1']);
  const rebooted = planNode(
    nmc([], [{ name: 'a', config: cfg('i:1'), bootId: 'boot-0' }]),
    node,
    [],
    new Set(),
    now,
  );
  assert.deepEqual(actions(rebooted), []);
  assert.deepEqual(rebooted.status, []);
});

test('a succeeded load pod records the status with the boot ID and an event; the pod goes', () => {
  const p = planNode(
    nmc([spec('a', cfg('i:1'))]),
    node,
    [pod('a', 'load', 'Succeeded', cfg('i:1'))],
    new Set(),
    now,
  );
  assert.equal(p.status?.length, 1);
  assert.equal(p.status[0]!.bootId, 'boot-1');
  assert.deepEqual(p.status[0]!.config, cfg('i:1'));
  assert.equal(p.status[0]!.lastTransitionTime, now);
  assert.deepEqual(p.deletePods, [{ name: 'kmm-worker-n-a', namespace: 'ns' }]);
  assert.deepEqual(
    p.events.map((e) => e.reason),
    ['ModuleLoaded'],
  );
  assert.deepEqual(actions(p), [], 'no second pod in the same round');
  assert.equal(p.errors.get('ns/a'), null);
});

test('a succeeded unload pod removes the status entry', () => {
  const p = planNode(
    nmc([], [{ name: 'a', config: cfg('i:1') }]),
    node,
    [pod('a', 'unload', 'Succeeded', cfg('i:1'))],
    new Set(),
    now,
  );
  assert.deepEqual(p.status, []);
  assert.deepEqual(
    p.events.map((e) => e.reason),
    ['ModuleUnloaded'],
  );
});

test('a failed pod reports why, is collected, and no retry starts in the same round', () => {
  const msg = "modprobe: ERROR: could not insert 'm': Required key not available";
  const p = planNode(
    nmc([spec('a', cfg('i:1'))]),
    node,
    [pod('a', 'load', 'Failed', cfg('i:1'), msg)],
    new Set(),
    now,
  );
  assert.deepEqual(p.failed, ['ns/a']);
  assert.equal(p.errors.get('ns/a'), `load failed: ${msg}`);
  assert.deepEqual(p.deletePods.length, 1);
  assert.deepEqual(
    p.events.map((e) => [e.type, e.reason]),
    [['Warning', 'LoadFailed']],
  );
  assert.deepEqual(actions(p), []);
});

test('running pods and backoff hold a module; others proceed', () => {
  const p = planNode(
    nmc([spec('a', cfg('i:1')), spec('b', cfg('j:1')), spec('c', cfg('k:1'))]),
    node,
    [pod('a', 'load', 'Running'), pod('b', 'load', 'Terminating')],
    new Set(['ns/c']),
    now,
  );
  assert.deepEqual(actions(p), []);
  const q = planNode(
    nmc([spec('a', cfg('i:1')), spec('b', cfg('j:1'))]),
    node,
    [pod('a', 'load', 'Pending')],
    new Set(),
    now,
  );
  assert.deepEqual(actions(q), ['load b j:1']);
});

test('node labels: ready (and version) for modules loaded in this boot', () => {
  const n = nmc(
    [spec('a', cfg('i:1'), 'v1'), spec('b', cfg('j:1')), spec('c', cfg('k:1'))],
    [
      { name: 'a', config: cfg('i:1'), version: 'v1' },
      { name: 'b', config: cfg('j:1'), bootId: 'boot-0' },
    ],
  );
  assert.deepEqual(nodeLabels(n, node), {
    [readyLabel('ns', 'a')]: '',
    [versionReadyLabel('ns', 'a')]: 'v1',
  });
  assert.equal(loadedCount(n, node), 1);
  assert.deepEqual(nodeLabels(undefined, node), {});
});

test('node labels: a ready label stays while the module is wanted or still loaded', () => {
  const ready = readyLabel('ns', 'a');
  const vready = versionReadyLabel('ns', 'a');
  const on = { [ready]: '', other: 'x' };
  const cases: {
    name: string;
    nmc: Pick<NodeModulesConfig, 'spec' | 'status'>;
    node?: typeof node & { bootID: string };
    current: Record<string, string>;
    want: Record<string, string>;
  }[] = [
    {
      name: 'reconfigured, old config unloaded, new one not loaded yet: kept',
      nmc: nmc([spec('a', cfg('i:2'))]),
      current: on,
      want: { [ready]: '' },
    },
    {
      name: 'reconfigured, old config still loaded: kept, with the version loaded',
      nmc: nmc([spec('a', cfg('i:2'), 'v2')], [{ name: 'a', config: cfg('i:1'), version: 'v1' }]),
      current: { [ready]: '', [vready]: 'v1' },
      want: { [ready]: '', [vready]: 'v1' },
    },
    {
      name: 'ordered upgrade, old version unloaded: the version label goes, ready stays',
      nmc: nmc([spec('a', cfg('i:2'), 'v2')]),
      current: { [ready]: '', [vready]: 'v1' },
      want: { [ready]: '' },
    },
    {
      name: 'rebooted, reload pending: kept',
      nmc: nmc([spec('a', cfg('i:1'))], [{ name: 'a', config: cfg('i:1') }]),
      node: { ...node, bootID: 'boot-2' },
      current: on,
      want: { [ready]: '' },
    },
    {
      name: 'no longer wanted, unload pending: kept until unloaded',
      nmc: nmc([], [{ name: 'a', config: cfg('i:1') }]),
      current: on,
      want: { [ready]: '' },
    },
    { name: 'neither wanted nor loaded: removed', nmc: nmc([]), current: on, want: {} },
    {
      name: 'not labelled, another config loaded: not added before the new one is',
      nmc: nmc([spec('a', cfg('i:2'))], [{ name: 'a', config: cfg('i:1') }]),
      current: {},
      want: {},
    },
    {
      name: 'not labelled, loaded before the reboot: not added',
      nmc: nmc([spec('a', cfg('i:1'))], [{ name: 'a', config: cfg('i:1') }]),
      node: { ...node, bootID: 'boot-2' },
      current: {},
      want: {},
    },
  ];
  for (const c of cases) {
    assert.deepEqual(nodeLabels(c.nmc, c.node ?? node, c.current), c.want, c.name);
  }
});

test('nmcModuleKeys: wanted and loaded modules, or loaded as the plan leaves them', () => {
  const c = nmc([spec('a', cfg('i'))], [{ name: 'b', config: cfg('i') }]);
  assert.deepEqual([...nmcModuleKeys(c)].sort(), ['ns/a', 'ns/b']);
  assert.deepEqual([...nmcModuleKeys(c, [])], ['ns/a']);
});

test('errorAnnotationsPatch: sets, clears and drops stale last-error annotations', () => {
  const ann = (m: string) => `kmm.node.kubernetes.io/last-error.ns.${m}`;
  const cases: {
    name: string;
    have: Record<string, string>;
    errors: [string, string | null][];
    known: string[];
    want: Record<string, string | null>;
  }[] = [
    { name: 'nothing', have: {}, errors: [], known: ['ns/a'], want: {} },
    {
      name: 'a new error is recorded',
      have: { other: 'x' },
      errors: [['ns/a', 'load failed: boom']],
      known: ['ns/a'],
      want: { [ann('a')]: 'load failed: boom' },
    },
    {
      name: 'the same error is not written again',
      have: { [ann('a')]: 'load failed: boom' },
      errors: [['ns/a', 'load failed: boom']],
      known: ['ns/a'],
      want: {},
    },
    {
      name: 'a changed error replaces the old one',
      have: { [ann('a')]: 'load failed: boom' },
      errors: [['ns/a', 'unload failed: busy']],
      known: ['ns/a'],
      want: { [ann('a')]: 'unload failed: busy' },
    },
    {
      name: 'a success clears it',
      have: { [ann('a')]: 'load failed: boom' },
      errors: [['ns/a', null]],
      known: ['ns/a'],
      want: { [ann('a')]: null },
    },
    {
      name: 'clearing what is not there writes nothing',
      have: {},
      errors: [['ns/a', null]],
      known: ['ns/a'],
      want: {},
    },
    {
      name: 'an error of a module the NMC no longer speaks of goes; other annotations stay',
      have: { [ann('a')]: 'x', [ann('gone')]: 'y', 'example.com/keep': 'z' },
      errors: [],
      known: ['ns/a'],
      want: { [ann('gone')]: null },
    },
  ];
  for (const c of cases) {
    assert.deepEqual(
      errorAnnotationsPatch(c.have, new Map(c.errors), new Set(c.known)),
      c.want,
      c.name,
    );
  }
});

test('nodeLabelsPatch: sets wanted KMM labels, removes unwanted ones, leaves others', () => {
  const ready = readyLabel('ns', 'a');
  const vready = versionReadyLabel('ns', 'a');
  const cases: {
    name: string;
    have: Record<string, string>;
    want: Record<string, string>;
    patch: Record<string, string | null>;
  }[] = [
    { name: 'nothing', have: { gpu: 'yes' }, want: {}, patch: {} },
    { name: 'a new label', have: {}, want: { [ready]: '' }, patch: { [ready]: '' } },
    { name: 'already there', have: { [ready]: '' }, want: { [ready]: '' }, patch: {} },
    {
      name: 'a new version',
      have: { [ready]: '', [vready]: 'v1' },
      want: { [ready]: '', [vready]: 'v2' },
      patch: { [vready]: 'v2' },
    },
    {
      name: 'unloaded: KMM labels go, others stay',
      have: { [ready]: '', [vready]: 'v1', gpu: 'yes', 'example.com/x.ready': '' },
      want: {},
      patch: { [ready]: null, [vready]: null },
    },
  ];
  for (const c of cases) assert.deepEqual(nodeLabelsPatch(c.have, c.want), c.patch, c.name);
});
