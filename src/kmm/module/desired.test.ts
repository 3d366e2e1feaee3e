import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageState, Module } from '../../api/index.js';
import { compareStrings, listNames, planModule, workerServiceAccount } from './desired.js';
import { isSchedulable, type KmmNode, nodeKernel, versionModuleLabel } from '../common/index.js';

const K1 = '5.14.0-284.30.1.el9_2.x86_64';
const K2 = '6.1.0-18-amd64';
const K3 = '4.18.0-80.el8.x86_64';
const sec = { operatorNamespace: 'openshift-kmm', workerServiceAccount: 'kmm-loader' };

function node(
  name: string,
  kernel: string,
  labels: Record<string, string> = { gpu: 'yes' },
  spec?: KmmNode['spec'],
): KmmNode {
  return {
    metadata: { name, labels },
    spec,
    status: { nodeInfo: { kernelVersion: kernel, bootID: `${name}-boot` } },
  };
}

function mod(extra: Partial<Module['spec']> = {}, ns = 'openshift-kmm', version?: string): Module {
  return {
    metadata: { name: 'drv', namespace: ns },
    spec: {
      selector: { gpu: 'yes' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'drv' },
          ...(version ? { version } : {}),
          kernelMappings: [
            { literal: K1, containerImage: 'reg/drv:${KERNEL_FULL_VERSION}' },
            { regexp: '^6\\.', containerImage: 'reg/drv-deb:${KERNEL_X}.${KERNEL_Y}' },
          ],
        },
      },
      ...extra,
    },
  };
}

const exists = (...images: string[]) =>
  new Map<string, ImageState>(images.map((i) => [i, 'Exists']));

test('selected, schedulable nodes with a mapping and an existing image get an entry', () => {
  const nodes = [
    node('a', K1),
    node('b', K2),
    node('c', K3),
    node('d', K1, {}),
    node('e', K1, { gpu: 'yes' }, { taints: [{ key: 'x', effect: 'NoSchedule' }] }),
    node('f', K1, { gpu: 'yes' }, { unschedulable: true }),
  ];
  const p = planModule(mod(), nodes, exists(`reg/drv:${K1}`, 'reg/drv-deb:6.1'), sec);
  assert.deepEqual(p.matching, ['a', 'b', 'c', 'e', 'f']);
  // f is cordoned: like a DaemonSet, the module stays on cordoned nodes.
  assert.deepEqual(p.targets, ['a', 'b', 'c', 'f']);
  assert.deepEqual([...p.entries.keys()].sort(), ['a', 'b', 'f']);
  assert.deepEqual(p.noMapping.get(K3), ['c']);
  const a = p.entries.get('a')!;
  assert.equal(a.config.containerImage, `reg/drv:${K1}`);
  assert.equal(a.config.kernelVersion, K1);
  assert.equal(a.config.imagePullPolicy, 'IfNotPresent');
  assert.equal(a.config.insecurePull, false);
  assert.equal(a.serviceAccountName, 'kmm-loader');
  assert.deepEqual(p.images.map((i) => i.image).sort(), ['reg/drv-deb:6.1', `reg/drv:${K1}`]);
});

test('a node waits while its image does not exist, and the state is reported', () => {
  const p = planModule(
    mod(),
    [node('a', K1), node('b', K2)],
    new Map([['reg/drv-deb:6.1', 'NeedsBuilding']]),
    sec,
  );
  assert.deepEqual([...p.entries.keys()], []);
  assert.deepEqual(
    [...p.hold],
    [
      ['a', K1],
      ['b', K2],
    ],
  );
  assert.deepEqual(
    p.waiting.map((w) => [w.image, w.state, w.nodes]),
    [
      [`reg/drv:${K1}`, 'Unknown', ['a']],
      ['reg/drv-deb:6.1', 'NeedsBuilding', ['b']],
    ],
  );
});

test('tolerations make tainted nodes targets', () => {
  const nodes = [
    node('e', K1, { gpu: 'yes' }, { taints: [{ key: 'x', value: 'v', effect: 'NoSchedule' }] }),
  ];
  const m = mod({
    tolerations: [{ key: 'x', operator: 'Equal', value: 'v', effect: 'NoSchedule' }],
  });
  const p = planModule(m, nodes, exists(`reg/drv:${K1}`), sec);
  assert.deepEqual([...p.entries.keys()], ['e']);
  assert.deepEqual(p.entries.get('e')!.tolerations, m.spec.tolerations);
});

test('outside the operator namespace, worker pods use the namespace default service account', () => {
  assert.equal(workerServiceAccount(mod({}, 'team'), sec), 'default');
  assert.equal(workerServiceAccount(mod({}, 'openshift-kmm'), sec), 'kmm-loader');
  const own = mod({}, 'team');
  own.spec.moduleLoader!.serviceAccountName = 'team-loader';
  assert.equal(workerServiceAccount(own, sec), 'team-loader');
});

test('ordered upgrade: with a version, only nodes labelled for it take it; the others are kept', () => {
  const label = versionModuleLabel('openshift-kmm', 'drv');
  const nodes = [
    node('a', K1, { gpu: 'yes', [label]: 'v2' }),
    node('b', K1, { gpu: 'yes', [label]: 'v1' }),
    node('c', K1),
  ];
  const p = planModule(mod({}, 'openshift-kmm', 'v2'), nodes, exists(`reg/drv:${K1}`), sec);
  assert.deepEqual([...p.entries.keys()], ['a']);
  assert.equal(p.entries.get('a')!.version, 'v2');
  assert.deepEqual([...p.keep].sort(), ['b', 'c']);
});

test('an invalid Module is reported, not mapped', () => {
  const m = mod();
  m.spec.moduleLoader!.container.kernelMappings = [{ regexp: '(', containerImage: 'x:1' }];
  const p = planModule(m, [node('a', K1)], new Map(), sec);
  assert.match(p.invalid ?? '', /kernelMappings\[0\]\.regexp/);
  assert.equal(p.entries.size, 0);
});

test('device plugin only: no images, no entries, nodes still counted', () => {
  const m = mod({ devicePlugin: { container: { image: 'p:1' } } });
  delete m.spec.moduleLoader;
  const p = planModule(m, [node('a', K1)], new Map(), sec);
  assert.deepEqual(p.targets, ['a']);
  assert.equal(p.images.length, 0);
  assert.equal(p.entries.size, 0);
});

test('node helpers', () => {
  assert.equal(nodeKernel(node('a', '6.1.0-rc1+')), '6.1.0-rc1');
  assert.ok(
    isSchedulable(node('a', K1, {}, { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] })),
  );
  assert.ok(!isSchedulable(node('a', K1, {}, { taints: [{ key: 'x', effect: 'NoExecute' }] })));
  assert.ok(
    isSchedulable(node('a', K1, {}, { taints: [{ key: 'x', effect: 'NoExecute' }] }), [
      { operator: 'Exists' },
    ]),
  );
  const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
  assert.ok(isSchedulable(node('a', K1, {}, { taints: [unreachable] })), 'a missed heartbeat');
  assert.equal(listNames(['c', 'a', 'b']), 'a, b, c');
  assert.equal(listNames(['e', 'd', 'c', 'a', 'b']), 'a, b, c and 2 more');
});

test('compareStrings orders by code unit, as lower-case names sort under any locale', () => {
  const table: [string[], string[]][] = [
    [
      ['ns/b', 'ns/a-2', 'ns/a.1', 'ns/a', 'n/z', 'ns/a-10'],
      ['n/z', 'ns/a', 'ns/a-10', 'ns/a-2', 'ns/a.1', 'ns/b'],
    ],
    [
      ['2026-12-02T01:00:10Z', '2026-12-02T01:00:09Z', '2025-12-31T23:59:59Z'],
      ['2025-12-31T23:59:59Z', '2026-12-02T01:00:09Z', '2026-12-02T01:00:10Z'],
    ],
    // Code units, not collation: upper case before lower case.
    [
      ['b', 'B', 'a'],
      ['B', 'a', 'b'],
    ],
    [[], []],
  ];
  for (const [input, want] of table) {
    assert.deepEqual([...input].sort(compareStrings), want);
    // Names and timestamps sort as localeCompare sorted them before.
    if (input.every((x) => x === x.toLowerCase())) {
      assert.deepEqual(
        [...input].sort((a, b) => a.localeCompare(b)),
        want,
      );
    }
  }
  assert.equal(compareStrings('a', 'a'), 0);
});
