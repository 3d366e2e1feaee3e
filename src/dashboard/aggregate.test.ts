import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  Module,
  ModuleImagesConfig,
  NodeFeature,
  NodeFeatureRule,
  NodeModulesConfig,
  NodeResourceTopology,
  PreflightValidation,
} from '../api/index.js';
import {
  evaluateRuleObject,
  featureGroupOf,
  kernelHistogram,
  moduleRow,
  nodeMatches,
  nodeRow,
  nodeShownChanged,
  page,
  preflightRow,
  ruleRows,
  topologyRow,
  trimDashNmc,
  trimDashNode,
  type DashNode,
} from './aggregate.js';

const F = 'feature.node.kubernetes.io';

function node(name: string, labels: Record<string, string>, kernel = '6.1.0-1', ready = true) {
  return {
    metadata: { name, labels },
    status: {
      nodeInfo: { kernelVersion: kernel, osImage: 'Debian 12' },
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  } satisfies DashNode;
}

test('feature labels are grouped by source; rule labels are custom; others are not features', () => {
  const cases: [string, string | undefined][] = [
    [`${F}/cpu-cpuid.AVX2`, 'cpu'],
    [`${F}/kernel-version.full`, 'kernel'],
    [`${F}/pci-0300_10de.present`, 'pci'],
    [`${F}/usb-ef_0bda_5634.present`, 'usb'],
    [`${F}/memory-numa`, 'system'],
    [`${F}/system-os_release.ID`, 'system'],
    [`${F}/my-gpu`, 'custom'],
    [`vendor.${F}/accelerator`, 'custom'],
    ['kubernetes.io/hostname', undefined],
    ['nolabelprefix', undefined],
    ['notfeature.node.kubernetes.io/x', undefined],
  ];
  for (const [key, group] of cases) assert.equal(featureGroupOf(key), group, key);
});

test('a node row counts groups, vendors, custom labels and modules', () => {
  const n = node('n1', {
    [`${F}/cpu-cpuid.AVX2`]: 'true',
    [`${F}/cpu-model.vendor_id`]: 'Intel',
    [`${F}/pci-0300_10de.present`]: 'true',
    [`${F}/pci-0200_8086.present`]: 'true',
    [`${F}/usb-ef_0bda_5634.present`]: 'true',
    [`${F}/gpu`]: 'nvidia',
    'kmm.node.kubernetes.io/ns.drv.ready': '',
    'kmm.node.kubernetes.io/ns.drv.version.ready': 'v1',
    'kmm.node.kubernetes.io/version-module.ns.drv': 'v1',
  });
  const nmc = {
    metadata: {
      name: 'n1',
      annotations: { 'kmm.node.kubernetes.io/last-error.ns.other': 'modprobe failed' },
    },
    spec: {},
  } as NodeModulesConfig;
  const r = nodeRow(n, nmc, true);
  assert.deepEqual(r.features, { cpu: 2, kernel: 0, pci: 2, usb: 1, system: 0, custom: 1 });
  assert.deepEqual(r.pciVendors, ['10de', '8086']);
  assert.deepEqual(r.usbVendors, ['0bda']);
  assert.deepEqual(r.custom, [`${F}/gpu=nvidia`]);
  assert.equal(r.modulesLoaded, 1);
  assert.equal(r.modulesFailed, 1);
  assert.equal(r.kernel, '6.1.0-1');
  assert.equal(r.hasNodeFeature, true);
});

test('search words must all be found in the name, kernel or a label', () => {
  const n = node('gpu-node-7', { [`${F}/pci-0300_10de.present`]: 'true' }, '5.14.0-284.el9');
  const cases: [string, boolean][] = [
    ['', true],
    ['gpu-node', true],
    ['GPU-NODE', true],
    ['el9', true],
    ['10de', true],
    ['0300_10de.present=true', true],
    ['gpu 10de', true],
    ['gpu 8086', false],
    ['nothing', false],
  ];
  for (const [q, want] of cases) assert.equal(nodeMatches(n, q), want, q);
});

test('heartbeats are no change; labels, readiness and kernel are', () => {
  const a = trimDashNode({
    ...node('n', { a: '1' }),
    metadata: { name: 'n', labels: { a: '1' }, resourceVersion: '1' },
  });
  const same = trimDashNode({
    ...node('n', { a: '1' }),
    metadata: { name: 'n', labels: { a: '1' }, resourceVersion: '2' },
  });
  assert.equal(nodeShownChanged(a, same), false);
  assert.equal(nodeShownChanged(a, trimDashNode(node('n', { a: '2' }))), true);
  assert.equal(nodeShownChanged(a, trimDashNode(node('n', { a: '1', b: '' }))), true);
  assert.equal(nodeShownChanged(a, trimDashNode(node('n', { a: '1' }, '6.2.0'))), true);
  assert.equal(nodeShownChanged(a, trimDashNode(node('n', { a: '1' }, '6.1.0-1', false))), true);
});

test('the kernel histogram is most common first, with the rest as other', () => {
  const nodes = [
    node('a', {}, '6.1.0'),
    node('b', {}, '6.1.0'),
    node('c', {}, '5.14.0'),
    node('d', {}, '4.18.0+'),
    node('e', {}, '4.18.0'),
    node('f', {}, '6.1.0'),
  ];
  assert.deepEqual(kernelHistogram(nodes), [
    { kernel: '6.1.0', nodes: 3 },
    { kernel: '4.18.0', nodes: 2 },
    { kernel: '5.14.0', nodes: 1 },
  ]);
  assert.deepEqual(kernelHistogram(nodes, 1), [
    { kernel: '6.1.0', nodes: 3 },
    { kernel: 'other', nodes: 3 },
  ]);
});

const nf = (name: string, cpu: Record<string, string>): NodeFeature => ({
  metadata: { name, namespace: 'nfd', labels: { 'nfd.node.kubernetes.io/node-name': name } },
  spec: {
    features: {
      flags: {},
      attributes: { 'cpu.model': { elements: cpu } },
      instances: {},
    },
    labels: {},
  },
});

const rule: NodeFeatureRule = {
  metadata: { name: 'cpus' },
  spec: {
    rules: [
      {
        name: 'intel',
        labels: { intel: 'true' },
        matchFeatures: [
          {
            feature: 'cpu.model',
            matchExpressions: { vendor_id: { op: 'In', value: ['Intel'] } },
          },
        ],
      },
      {
        name: 'family',
        labels: { 'example.com/family': '6' },
        matchFeatures: [
          {
            feature: 'cpu.model',
            matchExpressions: { family: { op: 'Gt', value: ['5'] } },
          },
        ],
      },
      {
        name: 'chained',
        labels: { chained: 'yes' },
        matchFeatures: [{ feature: 'rule.matched', matchExpressions: { intel: { op: 'IsTrue' } } }],
      },
    ],
  },
};

test('each rule of an object is evaluated on a node: what matched, what it added, what failed', () => {
  const intel = [nf('a', { vendor_id: 'Intel', family: '6' })];
  assert.deepEqual(evaluateRuleObject(rule, intel), [
    { object: 'cpus', rule: 'intel', labels: { [`${F}/intel`]: 'true' } },
    { object: 'cpus', rule: 'family', labels: { 'example.com/family': '6' } },
    { object: 'cpus', rule: 'chained', labels: { [`${F}/chained`]: 'yes' } },
  ]);
  // The same arrays give the same (cached) answer.
  assert.equal(evaluateRuleObject(rule, intel), evaluateRuleObject(rule, intel));
  const amd = [nf('b', { vendor_id: 'AMD', family: 'x' })];
  const r = evaluateRuleObject(rule, amd);
  assert.equal(r.length, 1);
  assert.equal(r[0]!.rule, 'family');
  assert.match(r[0]!.error ?? '', /family|integer|x/);
});

test('rule rows count nodes matched per object and per rule, and group errors', () => {
  const rows = ruleRows(
    [rule],
    [
      [nf('a', { vendor_id: 'Intel', family: '6' })],
      [nf('b', { vendor_id: 'Intel', family: '4' })],
      [nf('c', { vendor_id: 'AMD', family: 'x' })],
      [nf('d', { vendor_id: 'AMD', family: 'x' })],
    ],
  );
  assert.equal(rows.length, 1);
  const row = rows[0]!;
  assert.equal(row.nodesMatched, 2);
  assert.deepEqual(row.perRule, [
    { rule: 'intel', nodes: 2 },
    { rule: 'family', nodes: 1 },
    { rule: 'chained', nodes: 2 },
  ]);
  assert.equal(row.errors.length, 1);
  assert.equal(row.errors[0]!.nodes, 2);
  assert.deepEqual(row.labels, ['example.com/family', `${F}/chained`, `${F}/intel`]);
});

function kmod(extra: Partial<Module['spec']> = {}): Module {
  return {
    metadata: { name: 'drv', namespace: 'ns' },
    spec: {
      selector: { gpu: 'yes' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'drv' },
          kernelMappings: [
            { literal: '6.1.0-1', containerImage: 'reg/drv:6.1' },
            { regexp: '^5\\.', containerImage: 'reg/drv:${KERNEL_FULL_VERSION}' },
          ],
        },
      },
      ...extra,
    },
    status: {
      devicePlugin: { desiredNumber: 3, availableNumber: 2 },
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'Loading',
          message: '',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    },
  };
}

test('a module row: per kernel mapping and image state, per node state with reasons, versions', () => {
  const ready = 'kmm.node.kubernetes.io/ns.drv.ready';
  const nodes = [
    node('loaded', {
      gpu: 'yes',
      [ready]: '',
      'kmm.node.kubernetes.io/ns.drv.version.ready': 'v1',
    }),
    node('failing', { gpu: 'yes', 'kmm.node.kubernetes.io/version-module.ns.drv': 'v1' }),
    node('nomap', { gpu: 'yes' }, '4.18.0'),
    node('building', { gpu: 'yes' }, '5.14.0'),
    node('notready', { gpu: 'yes' }, '6.1.0-1', false),
    node('other', { gpu: 'no' }),
  ];
  const nmcs: Record<string, NodeModulesConfig> = {
    failing: {
      metadata: {
        name: 'failing',
        annotations: { 'kmm.node.kubernetes.io/last-error.ns.drv': 'modprobe: ERROR: bad' },
      },
      spec: {},
    },
  };
  const mic = {
    metadata: { name: 'drv', namespace: 'ns' },
    spec: {},
    status: {
      imagesStates: [
        { image: 'reg/drv:6.1', status: 'Exists' },
        { image: 'reg/drv:5.14.0', status: 'NeedsBuilding' },
      ],
    },
  } as ModuleImagesConfig;
  const r = moduleRow(
    kmod({ devicePlugin: { container: { image: 'dp' } } }),
    nodes,
    (n) => nmcs[n],
    mic,
  );
  assert.equal(r.selector, 'gpu=yes');
  assert.deepEqual([r.matched, r.loaded, r.pending, r.failed], [5, 1, 2, 2]);
  assert.deepEqual(
    r.kernels.map((k) => [k.kernel, k.nodes, k.state, k.image, k.mappingIndex]),
    [
      ['4.18.0', 1, 'no mapping', undefined, undefined],
      ['5.14.0', 1, 'building', 'reg/drv:5.14.0', 1],
      ['6.1.0-1', 3, 'present', 'reg/drv:6.1', 0],
    ],
  );
  assert.deepEqual(
    r.failures.map((f) => f.node),
    ['failing', 'nomap'],
  );
  assert.equal(r.failures[0]!.reason, 'modprobe: ERROR: bad');
  assert.match(r.failures[1]!.reason, /no entry matches kernel 4\.18\.0/);
  assert.deepEqual(r.pendingNodes, [
    { node: 'building', reason: 'not scheduled on the node yet' },
    { node: 'notready', reason: 'node not Ready' },
  ]);
  assert.deepEqual(r.versions, [{ version: 'v1', target: 1, loaded: 1 }]);
  assert.deepEqual(r.devicePlugin, { desired: 3, available: 2 });
  assert.deepEqual(r.conditions, [
    { type: 'Ready', status: 'False', reason: 'Loading', message: '' },
  ]);
});

test('a node config is kept as its modules by name and its last errors', () => {
  const nmc = {
    metadata: {
      name: 'n1',
      resourceVersion: '7',
      annotations: { 'kmm.node.kubernetes.io/last-error.ns.drv': 'bad', other: 'x' },
      managedFields: [],
    },
    spec: {
      modules: [
        {
          name: 'drv',
          namespace: 'ns',
          serviceAccountName: 'sa',
          config: { kernelVersion: 'k', containerImage: 'i', insecurePull: false, modprobe: {} },
        },
      ],
    },
  } as unknown as NodeModulesConfig;
  assert.deepEqual(trimDashNmc(nmc), {
    metadata: {
      name: 'n1',
      uid: undefined,
      resourceVersion: '7',
      annotations: { 'kmm.node.kubernetes.io/last-error.ns.drv': 'bad' },
    },
    spec: { modules: [{ name: 'drv', namespace: 'ns' }] },
  });
});

test('an image not yet checked, and a missing one, say so', () => {
  const mic = {
    metadata: { name: 'drv', namespace: 'ns' },
    spec: {},
    status: { imagesStates: [{ image: 'reg/drv:6.1', status: 'DoesNotExist' }] },
  } as ModuleImagesConfig;
  const nodes = [node('a', { gpu: 'yes' }), node('b', { gpu: 'yes' }, '5.10.0')];
  const r = moduleRow(kmod(), nodes, () => undefined, mic);
  assert.deepEqual(
    r.kernels.map((k) => [k.state, k.reason]),
    [
      ['unchecked', 'the image has not been checked yet'],
      ['missing', 'the image does not exist and the mapping has no build to make it'],
    ],
  );
});

test('preflight rows count results per status', () => {
  const pv = {
    metadata: { name: 'next' },
    spec: { kernelVersion: '6.2.0-1' },
    status: {
      modules: [
        { name: 'a', namespace: 'n', verificationStatus: 'Success', verificationStage: 'Done' },
        {
          name: 'b',
          namespace: 'n',
          verificationStatus: 'Failure',
          verificationStage: 'Done',
          statusReason: 'no mapping',
        },
        { name: 'c', namespace: 'n', verificationStatus: 'InProgress', verificationStage: 'Image' },
      ],
    },
  } as PreflightValidation;
  const r = preflightRow(pv, 'PreflightValidation');
  assert.deepEqual([r.success, r.failure, r.inProgress], [1, 1, 1]);
  assert.equal(r.modules[1]!.reason, 'no mapping');
  assert.equal(r.kernel, '6.2.0-1');
});

test('topology rows show zones and their resources', () => {
  const t = {
    metadata: { name: 'n1' },
    attributes: [{ name: 'topologyManagerPolicy', value: 'single-numa-node' }],
    zones: [
      {
        name: 'node-0',
        type: 'Node',
        resources: [{ name: 'cpu', capacity: 8, allocatable: 7, available: 5 }],
      },
      { name: 'node-1', type: 'Node' },
    ],
  } as unknown as NodeResourceTopology;
  assert.deepEqual(topologyRow(t), {
    node: 'n1',
    policy: 'single-numa-node',
    zones: [
      {
        name: 'node-0',
        type: 'Node',
        resources: [{ name: 'cpu', capacity: '8', allocatable: '7', available: '5' }],
      },
      { name: 'node-1', type: 'Node', resources: [] },
    ],
  });
});

test('pages are bounded slices', () => {
  const xs = [1, 2, 3, 4, 5];
  assert.deepEqual(page(xs, 1, 2), { total: 5, offset: 1, items: [2, 3] });
  assert.deepEqual(page(xs, 9, 2), { total: 5, offset: 5, items: [] });
  assert.deepEqual(page(xs, 3, 100), { total: 5, offset: 3, items: [4, 5] });
});
