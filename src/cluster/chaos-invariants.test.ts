import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeModulesConfig } from '../api/index.js';
import {
  checkKmmNode,
  checkWorkerPods,
  compareNfdNode,
  conflictCounts,
  countsSince,
  expectedModules,
  findFlaps,
  isNfdKey,
  medianWorst,
  memoryTrend,
  slope,
  WorkerPodOverlap,
  type ChaosModule,
  type ChaosNode,
  type WorkerPodView,
} from './chaos-invariants.js';

const F = 'feature.node.kubernetes.io';

function node(labels: Record<string, string>, extra: Partial<ChaosNode> = {}): ChaosNode {
  return {
    metadata: { name: 'n1', labels },
    status: { nodeInfo: { kernelVersion: '5.14.0-1.el9', bootID: 'boot-1' } },
    ...extra,
  };
}

function module(name: string, selector: Record<string, string>, regexp: string): ChaosModule {
  return {
    metadata: { name, namespace: 'ns' },
    spec: {
      selector,
      moduleLoader: {
        container: {
          modprobe: { moduleName: name },
          kernelMappings: [{ regexp, containerImage: `r.example/${name}:1` }],
        },
      },
    },
  };
}

test('NFD namespaces: feature and profile, and their subdomains; nothing else', () => {
  assert.equal(isNfdKey(`${F}/cpu`), true);
  assert.equal(isNfdKey(`vendor.${F}/x`), true);
  assert.equal(isNfdKey('profile.node.kubernetes.io/p'), true);
  assert.equal(isNfdKey('nfd.node.kubernetes.io/feature-labels'), false);
  assert.equal(isNfdKey('kubernetes.io/hostname'), false);
  assert.equal(isNfdKey('plain'), false);
});

test('NFD outputs: wrong, missing and extra per part; names outside NFD namespaces, books and expectations ignored', () => {
  const n = node(
    { [`${F}/a`]: '1', [`${F}/b`]: 'old', [`${F}/stale`]: 'x', 'kubernetes.io/os': 'linux' },
    {
      metadata: {
        name: 'n1',
        labels: {
          [`${F}/a`]: '1',
          [`${F}/b`]: 'old',
          [`${F}/stale`]: 'x',
          'vendor.example.com/x': '1',
          'vendor.example.com/left': '1',
          other: 'y',
        },
        annotations: {
          [`${F}/note`]: 'v',
          'nfd.node.kubernetes.io/feature-labels':
            'a,b,vendor.example.com/x,vendor.example.com/left',
        },
      },
      spec: {
        taints: [
          { key: `${F}/t`, value: 'v', effect: 'PreferNoSchedule' },
          { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
        ],
      },
      status: { capacity: { cpu: '4', [`${F}/units`]: '3' } },
    },
  );
  const r = compareNfdNode(n, {
    labels: { [`${F}/a`]: '1', [`${F}/b`]: 'new', [`${F}/c`]: '1', 'vendor.example.com/x': '1' },
    annotations: { [`${F}/note`]: 'v' },
    taints: [{ key: `${F}/t`, value: 'v', effect: 'PreferNoSchedule' }],
    extendedResources: { [`${F}/units`]: '4' },
  });
  // Stale: one in NFD's namespace, one in another namespace the books list.
  assert.deepEqual(r.labels, { wrong: 1, missing: 1, extra: 2 });
  assert.deepEqual(r.annotations, { wrong: 0, missing: 0, extra: 0 });
  assert.deepEqual(r.taints, { wrong: 0, missing: 0, extra: 0 });
  assert.deepEqual(r.extendedResources, { wrong: 1, missing: 0, extra: 0 });
  const noTaint = compareNfdNode(n, {
    labels: {},
    annotations: {},
    taints: [],
    extendedResources: {},
  });
  assert.deepEqual(noTaint.taints, { wrong: 0, missing: 0, extra: 1 });
});

test('expected modules: selector and a kernel mapping both needed', () => {
  const ms = [
    module('a', { gpu: 'yes' }, '^5\\.14\\.'),
    module('b', { gpu: 'yes' }, '^6\\.'),
    module('c', {}, '.*'),
    module('d', { nic: 'yes' }, '.*'),
  ];
  assert.deepEqual(expectedModules(node({ gpu: 'yes' }), ms), ['ns/a', 'ns/c']);
  assert.deepEqual(expectedModules(node({}, { status: {} }), ms), []);
});

function nmc(
  spec: { name: string; image: string }[],
  status: { name: string; image: string; bootId: string }[],
): NodeModulesConfig {
  const config = (image: string) => ({
    kernelVersion: '5.14.0-1.el9',
    containerImage: image,
    insecurePull: false,
    inTreeModulesToRemove: [],
    modprobe: { moduleName: 'm' },
  });
  const item = (name: string) => ({ name, namespace: 'ns', serviceAccountName: 'sa' });
  return {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'NodeModulesConfig',
    metadata: { name: 'n1' },
    spec: { modules: spec.map((s) => ({ ...item(s.name), config: config(s.image) })) },
    status: {
      modules: status.map((s) => ({ ...item(s.name), config: config(s.image), bootId: s.bootId })),
    },
  };
}

test('KMM node: labels, spec entries and loaded status against the selected modules', () => {
  const ms = [module('a', { gpu: 'yes' }, '.*'), module('b', { nic: 'yes' }, '.*')];
  const good = node({ gpu: 'yes', 'kmm.node.kubernetes.io/ns.a.ready': '' });
  const ok = checkKmmNode(
    good,
    nmc([{ name: 'a', image: 'i1' }], [{ name: 'a', image: 'i1', bootId: 'boot-1' }]),
    ms,
  );
  assert.deepEqual(ok, {
    missingLabel: 0,
    extraLabel: 0,
    missingEntry: 0,
    staleEntry: 0,
    staleStatus: 0,
    notLoaded: 0,
  });
  // b is not selected any more but still labelled, in the spec and loaded; a was loaded in an
  // earlier boot and with another image.
  const bad = node({
    gpu: 'yes',
    'kmm.node.kubernetes.io/ns.a.ready': '',
    'kmm.node.kubernetes.io/ns.b.ready': '',
    'kmm.node.kubernetes.io/other.gone.ready': '',
  });
  const r = checkKmmNode(
    bad,
    nmc(
      [
        { name: 'a', image: 'i2' },
        { name: 'b', image: 'i1' },
      ],
      [
        { name: 'a', image: 'i1', bootId: 'boot-0' },
        { name: 'b', image: 'i1', bootId: 'boot-1' },
      ],
    ),
    ms,
  );
  assert.deepEqual(r, {
    missingLabel: 0,
    extraLabel: 2,
    missingEntry: 0,
    staleEntry: 1,
    staleStatus: 1,
    notLoaded: 1,
  });
  const none = checkKmmNode(node({ gpu: 'yes' }), undefined, ms);
  assert.equal(none.missingLabel, 1);
  assert.equal(none.missingEntry, 1);
  assert.equal(none.notLoaded, 1);
});

function pod(name: string, nodeName: string, mod: string, phase = 'Running'): WorkerPodView {
  return {
    metadata: {
      name,
      uid: name,
      namespace: 'ns',
      labels: {
        'kmm.node.kubernetes.io/worker.role': 'worker',
        'kmm.node.kubernetes.io/module.name': mod,
        'kmm.node.kubernetes.io/worker.node': nodeName,
      },
    },
    spec: { nodeName },
    status: { phase },
  };
}

test('worker pods after quiet: orphans when node, NMC or entry is gone; the rest linger', () => {
  const nmcs = new Map([['n1', nmc([{ name: 'a', image: 'i' }], [])]]);
  const r = checkWorkerPods(
    [pod('p1', 'n1', 'a'), pod('p2', 'n1', 'b'), pod('p3', 'gone', 'a'), pod('p4', 'n2', 'a')],
    new Set(['n1', 'n2']),
    nmcs,
  );
  assert.deepEqual(r, { orphans: 3, lingering: 1 });
});

test('worker pod overlap: two unfinished pods for one node and module are a duplicate', () => {
  const o = new WorkerPodOverlap();
  o.observe(pod('p1', 'n1', 'a'));
  o.observe(pod('p1', 'n1', 'a', 'Succeeded'));
  o.observe(pod('p2', 'n1', 'a'));
  o.observe(pod('p3', 'n1', 'b'));
  assert.equal(o.duplicates.size, 0, 'one after the other, or other modules, is fine');
  o.observe(pod('p4', 'n1', 'a'));
  assert.deepEqual([...o.duplicates], [['ns/a@n1', 2]]);
  o.observe(pod('p4', 'n1', 'a'), true);
  o.observe(pod('p2', 'n1', 'a'), true);
  o.observe(pod('p5', 'n1', 'a'));
  assert.deepEqual([...o.duplicates], [['ns/a@n1', 2]]);
});

test('flaps: removed and put back unchanged with no input change in between', () => {
  const c = (t: number, value: string | undefined, key = 'k', n = 'n1') => ({
    t,
    node: n,
    key,
    value,
  });
  const changes = [
    c(0, 'v'),
    c(100, undefined),
    c(200, 'v'),
    c(0, 'v', 'j'),
    c(300, undefined, 'j'),
    c(400, 'w', 'j'),
    c(0, 'v', 'k', 'n2'),
    c(500, undefined, 'k', 'n2'),
    c(600, 'v', 'k', 'n2'),
  ];
  // j came back with another value: a real change. n2's removal follows an input change to n2.
  const flaps = findFlaps(changes, [{ t: 480, node: 'n2' }], 50);
  assert.deepEqual(flaps, [{ node: 'n1', key: 'k', removedAt: 100, readdedAt: 200 }]);
  assert.equal(findFlaps(changes, [{ t: 150, keys: ['k'] }], 50).length, 1, 'n2 is left');
  assert.equal(findFlaps(changes, [{ t: 150, keys: ['other'] }], 50).length, 2);
  assert.equal(findFlaps(changes, [{ t: 60, node: 'n1' }], 50).length, 1, 'within the lag');
});

test('slope and memory trend', () => {
  assert.equal(slope([]), 0);
  assert.equal(slope([{ t: 0, v: 1 }]), 0);
  assert.equal(
    slope([
      { t: 0, v: 1 },
      { t: 1, v: 3 },
      { t: 2, v: 5 },
    ]),
    2,
  );
  const flat = memoryTrend(Array.from({ length: 11 }, (_, i) => ({ t: i * 60_000, v: 100 })));
  assert.equal(flat.flat, true);
  assert.equal(flat.slopeMiBPerMin, 0);
  const growing = memoryTrend(
    Array.from({ length: 11 }, (_, i) => ({ t: i * 60_000, v: 100 + i * 5 })),
  );
  assert.equal(growing.flat, false);
  assert.ok(Math.abs(growing.slopeMiBPerMin - 5) < 1e-9);
  assert.ok(Math.abs(growing.growthMiB - 50) < 1e-9);
});

test('median and worst', () => {
  assert.deepEqual(medianWorst([]), { n: 0 });
  assert.deepEqual(medianWorst([3, 1, 2]), { n: 3, median: 2, worst: 3 });
  assert.deepEqual(medianWorst([4, 1, 2, 3]), { n: 4, median: 2, worst: 4 });
});

test('conflicts: 409s per resource and verb from the apiserver metrics, and their growth', () => {
  const text = (nmcStatus: number, nodes: number) =>
    [
      '# HELP apiserver_request_total [STABLE] Counter of apiserver requests',
      '# TYPE apiserver_request_total counter',
      `apiserver_request_total{code="409",component="apiserver",dry_run="",group="kmm.sigs.x-k8s.io",resource="nodemodulesconfigs",scope="resource",subresource="status",verb="PATCH",version="v1beta1"} ${nmcStatus}`,
      `apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="nodes",scope="resource",subresource="",verb="PUT",version="v1"} ${nodes}`,
      'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="nodes",scope="resource",subresource="",verb="PUT",version="v1"} 900',
      'apiserver_request_total{code="409",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 4',
      'apiserver_request_duration_seconds_count{code="409",resource="nodes",verb="PUT"} 7',
    ].join('\n');
  const wanted = new Set(['nodes', 'nodemodulesconfigs']);
  const before = conflictCounts(text(2, 5), wanted);
  assert.deepEqual(
    [...before],
    [
      ['nodemodulesconfigs/status PATCH', 2],
      ['nodes PUT', 5],
    ],
  );
  const after = conflictCounts(text(9, 5), wanted);
  assert.deepEqual([...countsSince(before, after)], [['nodemodulesconfigs/status PATCH', 7]]);
});
