import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { repoRoot } from '../../../test/fixtures/hosts/index.js';
import {
  aggregateZones,
  allocatableFromConfig,
  countedPods,
  decimalSI,
  hasExclusiveCPUs,
  podQOS,
  type PodShape,
} from './aggregate.js';
import { parseExcludeList, TopologyConfigError } from './config.js';
import { topologyPolicy } from './constants.js';
import { KubeletConfigError, parseKubeletConfig, readKubeletConfig } from './kubelet-config.js';
import type { ListPodResourcesResponse } from './podresources.js';
import { parseCpuList, readNumaTopology, SysfsError } from './sysfs.js';

const fixture = (name: string) => join(repoRoot(), 'test/fixtures/hosts', name);
const GiB = 2 ** 30;

const pod = (
  containers: { requests?: Record<string, string>; limits?: Record<string, string> }[],
  init: typeof containers = [],
): PodShape => ({
  metadata: { name: 'p', namespace: 'ns' },
  spec: {
    containers: containers.map((resources) => ({ resources })),
    initContainers: init.map((resources) => ({ resources })),
  },
});
const guaranteed = (cpu: string, memory = '1Gi') => ({
  requests: { cpu, memory },
  limits: { cpu, memory },
});

describe('parseCpuList', () => {
  const cases: [string, number[] | undefined][] = [
    ['0', [0]],
    ['0-3', [0, 1, 2, 3]],
    ['0-1,8-9', [0, 1, 8, 9]],
    ['4,0', [0, 4]],
    ['', []],
    ['3-1', undefined],
    ['a', undefined],
    ['0,,1', undefined],
  ];
  for (const [text, want] of cases)
    it(JSON.stringify(text), () => assert.deepEqual(parseCpuList(text), want));
});

describe('decimalSI', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [16, '16'],
    [1000, '1k'],
    [1500, '1500'],
    [2_000_000, '2M'],
    [17179869184, '17179869184'],
    [1073741824000, '1073741824k'],
  ];
  for (const [n, want] of cases) it(String(n), () => assert.equal(decimalSI(n), want));
});

describe('readNumaTopology', () => {
  it('reads CPUs, distances, memory and huge pages of each node', () => {
    const t = readNumaTopology(join(fixture('numa-two'), 'sys'));
    assert.deepEqual(
      t.nodes.map((n) => [n.id, n.cpus, n.distances]),
      [
        [0, [0, 1, 2, 3, 8, 9, 10, 11], [10, 21]],
        [1, [4, 5, 6, 7, 12, 13, 14, 15], [21, 10]],
      ],
    );
    assert.deepEqual(t.nodes[0]!.memory, {
      memory: 16 * GiB,
      'hugepages-2Mi': GiB,
      'hugepages-1Gi': 2 * GiB,
    });
    assert.deepEqual(t.nodes[1]!.memory, {
      memory: 16 * GiB,
      'hugepages-2Mi': GiB / 2,
      'hugepages-1Gi': 0,
    });
  });
  it('names the directory when there is no NUMA node', () => {
    assert.throws(
      () => readNumaTopology('/nonexistent'),
      (e: Error) => {
        assert.ok(e instanceof SysfsError);
        assert.match(e.message, /\/nonexistent\/bus\/node\/devices/);
        return true;
      },
    );
  });
});

describe('kubelet configuration', () => {
  it('reads policies, reserved CPUs and reserved memory', () => {
    const c = readKubeletConfig(join(fixture('numa-two'), 'var/lib/kubelet/config.yaml'));
    assert.equal(c.topologyManagerPolicy, 'single-numa-node');
    assert.equal(c.topologyManagerScope, 'pod');
    assert.equal(c.cpuManagerPolicy, 'static');
    assert.equal(c.memoryManagerPolicy, 'Static');
    assert.deepEqual(c.reservedSystemCPUs, [0, 8]);
    assert.deepEqual(
      [...c.reservedMemory],
      [
        [0, { memory: GiB }],
        [1, { memory: 612 * 2 ** 20 }],
      ],
    );
  });
  it('has the kubelet defaults', () => {
    const c = parseKubeletConfig('kind: KubeletConfiguration\n', 'f');
    assert.deepEqual(
      [c.topologyManagerPolicy, c.topologyManagerScope, c.cpuManagerPolicy, c.memoryManagerPolicy],
      ['none', 'container', 'none', 'None'],
    );
  });
  const bad: [string, RegExp][] = [
    ['reservedSystemCPUs: "0-a"', /f: field reservedSystemCPUs: expected a CPU list/],
    ['topologyManagerPolicy: 3', /field topologyManagerPolicy: expected a string/],
    ['reservedMemory: {}', /field reservedMemory: expected a list/],
    ['reservedMemory: [{limits: {memory: 1Gi}}]', /reservedMemory\[0\]\.numaNode/],
    ['reservedMemory: [{numaNode: 0, limits: {memory: lots}}]', /limits\.memory: "lots"/],
    ['[1, 2]', /expected a KubeletConfiguration object/],
  ];
  for (const [text, want] of bad)
    it(`refuses ${text}`, () =>
      assert.throws(
        () => parseKubeletConfig(text, 'f'),
        (e: Error) => {
          assert.ok(e instanceof KubeletConfigError);
          assert.match(e.message, want);
          return true;
        },
      ));
  it('names the missing file and the flag', () =>
    assert.throws(
      () => readKubeletConfig('/nonexistent/config.yaml'),
      /\/nonexistent\/config\.yaml.*-kubelet-config-file/,
    ));
});

describe('topologyPolicy', () => {
  const cases: [string, string, string][] = [
    ['single-numa-node', 'container', 'SingleNUMANodeContainerLevel'],
    ['single-numa-node', 'pod', 'SingleNUMANodePodLevel'],
    ['restricted', 'container', 'RestrictedContainerLevel'],
    ['restricted', 'pod', 'RestrictedPodLevel'],
    ['best-effort', 'pod', 'BestEffortPodLevel'],
    ['best-effort', 'container', 'BestEffortContainerLevel'],
    ['none', 'container', 'None'],
    ['single-numa-node', 'node', 'None'],
    ['other', 'pod', 'None'],
  ];
  for (const [p, s, want] of cases) it(`${p} ${s}`, () => assert.equal(topologyPolicy(p, s), want));
});

describe('pod QoS and exclusive CPUs', () => {
  const cases: [string, PodShape, string, boolean][] = [
    ['whole CPUs, requests = limits', pod([guaranteed('2')]), 'Guaranteed', true],
    ['fractional CPU', pod([guaranteed('1500m')]), 'Guaranteed', false],
    ['1000m is whole', pod([guaranteed('1000m')]), 'Guaranteed', true],
    ['no limits', pod([{ requests: { cpu: '2', memory: '1Gi' } }]), 'Burstable', false],
    [
      'no memory limit',
      pod([{ requests: { cpu: '2' }, limits: { cpu: '2' } }]),
      'Burstable',
      false,
    ],
    ['nothing', pod([{}]), 'BestEffort', false],
    ['two containers', pod([guaranteed('1'), guaranteed('3')]), 'Guaranteed', true],
    ['one fractional of two', pod([guaranteed('1'), guaranteed('500m')]), 'Guaranteed', false],
    ['init container too', pod([guaranteed('2')], [guaranteed('1')]), 'Guaranteed', true],
    [
      'requests below limits',
      pod([{ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } }]),
      'Burstable',
      false,
    ],
    [
      'memory only',
      pod([{ requests: { memory: '1Gi' }, limits: { memory: '1Gi' } }]),
      'Burstable',
      false,
    ],
  ];
  for (const [name, p, qos, exclusive] of cases)
    it(name, () => {
      assert.equal(podQOS(p), qos);
      assert.equal(hasExclusiveCPUs(p), exclusive);
    });
});

describe('countedPods', () => {
  const list: ListPodResourcesResponse = {
    pod_resources: [
      {
        name: 'pinned',
        namespace: 'a',
        containers: [
          {
            name: 'c',
            cpu_ids: [4, 5],
            devices: [],
            memory: [{ memory_type: 'memory', size: GiB, topology: { nodes: [{ ID: 1 }] } }],
          },
        ],
      },
      {
        name: 'shared',
        namespace: 'a',
        containers: [{ name: 'c', cpu_ids: [1, 2, 3], devices: [], memory: [] }],
      },
      {
        name: 'nic',
        namespace: 'b',
        containers: [
          {
            name: 'c',
            cpu_ids: [1, 2, 3],
            devices: [
              { resource_name: 'vendor/nic', device_ids: ['n1'], topology: { nodes: [{ ID: 0 }] } },
            ],
            memory: [],
          },
        ],
      },
      {
        name: 'gone',
        namespace: 'a',
        containers: [{ name: 'c', cpu_ids: [6], devices: [], memory: [] }],
      },
    ],
  };
  const pods = new Map<string, PodShape>([
    ['a/pinned', pod([guaranteed('2')])],
    ['a/shared', pod([{ requests: { cpu: '1' } }])],
    ['b/nic', pod([{ requests: { cpu: '1' } }])],
  ]);
  it('counts Guaranteed pods with whole CPUs and pods with devices', () => {
    assert.deepEqual(countedPods(list, pods, '*'), [
      {
        namespace: 'a',
        name: 'pinned',
        resources: [
          { name: 'cpu', data: ['4', '5'], numaNodes: [] },
          { name: 'memory', data: [String(GiB)], numaNodes: [1] },
        ],
      },
      // Not Guaranteed: its shared CPUs do not count, its device does.
      {
        namespace: 'b',
        name: 'nic',
        resources: [{ name: 'vendor/nic', data: ['n1'], numaNodes: [0] }],
      },
    ]);
  });
  it('honours the watched namespace', () => {
    assert.deepEqual(
      countedPods(list, pods, 'b').map((p) => p.name),
      ['nic'],
    );
  });
});

describe('aggregateZones', () => {
  const topology = readNumaTopology(join(fixture('numa-two'), 'sys'));
  const allocatable = {
    cpu_ids: [1, 2, 3, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15],
    devices: [
      { resource_name: 'vendor/nic', device_ids: ['n0', 'n1'], topology: { nodes: [{ ID: 0 }] } },
      { resource_name: 'vendor/gpu', device_ids: ['g0'], topology: { nodes: [{ ID: 1 }] } },
      { resource_name: 'vendor/floating', device_ids: ['f0'], topology: null },
    ],
    memory: [
      { memory_type: 'memory', size: 15 * GiB, topology: { nodes: [{ ID: 0 }] } },
      { memory_type: 'memory', size: 15 * GiB, topology: { nodes: [{ ID: 1 }] } },
      { memory_type: 'hugepages-2Mi', size: GiB, topology: { nodes: [{ ID: 0 }] } },
    ],
  };
  const res = (name: string, capacity: number, allocatable: number, available: number) => ({
    name,
    capacity: String(capacity),
    allocatable: String(allocatable),
    available: String(available),
  });
  it('gives capacity, allocatable and available per zone, with costs', () => {
    const zones = aggregateZones({
      topology,
      allocatable,
      pods: [
        {
          namespace: 'a',
          name: 'p',
          resources: [
            { name: 'cpu', data: ['4', '5', '12'], numaNodes: [] },
            { name: 'vendor/nic', data: ['n1'], numaNodes: [0] },
            { name: 'memory', data: [String(2 * GiB)], numaNodes: [1] },
            { name: 'hugepages-2Mi', data: [String(GiB)], numaNodes: [0] },
          ],
        },
      ],
    });
    assert.deepEqual(zones, [
      {
        name: 'node-0',
        type: 'Node',
        costs: [
          { name: 'node-0', value: 10 },
          { name: 'node-1', value: 21 },
        ],
        resources: [
          res('cpu', 8, 6, 6),
          res('hugepages-2Mi', GiB, GiB, 0),
          res('memory', 16 * GiB, 15 * GiB, 15 * GiB),
          res('vendor/nic', 2, 2, 1),
        ],
      },
      {
        name: 'node-1',
        type: 'Node',
        costs: [
          { name: 'node-0', value: 21 },
          { name: 'node-1', value: 10 },
        ],
        resources: [
          res('cpu', 8, 8, 5),
          res('memory', 16 * GiB, 15 * GiB, 13 * GiB),
          res('vendor/gpu', 1, 1, 1),
        ],
      },
    ]);
  });
  it('takes a block over several nodes in order, and leaves out excluded resources', () => {
    const zones = aggregateZones({
      topology,
      allocatable,
      exclude: new Set(['vendor/nic', 'vendor/gpu']),
      pods: [
        {
          namespace: 'a',
          name: 'p',
          resources: [{ name: 'memory', data: [String(20 * GiB)], numaNodes: [0, 1] }],
        },
      ],
    });
    assert.deepEqual(
      zones.map((z) => z.resources?.map((r) => `${r.name}=${r.available}`)),
      [
        ['cpu=6', `hugepages-2Mi=${GiB}`, 'memory=0'],
        ['cpu=8', `memory=${10 * GiB}`],
      ],
    );
  });
  it('a node the kubelet gives nothing has only its reserved CPUs', () => {
    const zones = aggregateZones({
      topology,
      allocatable: { cpu_ids: [4, 5, 6, 7], devices: [], memory: [] },
      pods: [],
    });
    assert.deepEqual(
      zones.map((z) => z.resources),
      [[res('cpu', 8, 0, 0)], [res('cpu', 8, 4, 4)]],
    );
  });
});

describe('allocatableFromConfig', () => {
  const topology = readNumaTopology(join(fixture('numa-two'), 'sys'));
  it('is every CPU but the reserved ones, and memory less reservedMemory', () => {
    const cfg = readKubeletConfig(join(fixture('numa-two'), 'var/lib/kubelet/config.yaml'));
    const a = allocatableFromConfig(topology, cfg);
    assert.deepEqual(a.cpu_ids, [1, 2, 3, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15]);
    assert.deepEqual(
      a.memory.map((m) => [m.topology?.nodes[0]?.ID, m.memory_type, m.size]),
      [
        [0, 'hugepages-1Gi', 2 * GiB],
        [0, 'hugepages-2Mi', GiB],
        [0, 'memory', 15 * GiB],
        [1, 'hugepages-1Gi', 0],
        [1, 'hugepages-2Mi', GiB / 2],
        [1, 'memory', 16 * GiB - 612 * 2 ** 20],
      ],
    );
  });
  it('gives no CPUs or memory when those managers are not static', () => {
    const cfg = parseKubeletConfig('reservedSystemCPUs: "0"\n', 'f');
    assert.deepEqual(allocatableFromConfig(topology, cfg), {
      devices: [],
      cpu_ids: [],
      memory: [],
    });
  });
});

describe('exclude list', () => {
  const text = "excludeList:\n  '*': [hugepages-1Gi]\n  worker-1: [memory]\n  worker-2: [cpu]\n";
  it('takes the names for every node and for this node', () =>
    assert.deepEqual([...parseExcludeList(text, 'f', 'worker-1')].sort(), [
      'hugepages-1Gi',
      'memory',
    ]));
  const bad: [string, RegExp][] = [
    ['excludelist: {}', /unknown field excludelist/],
    ['excludeList: [memory]', /field excludeList: expected a map/],
    ['excludeList: {"*": memory}', /field excludeList\.\*: expected a list/],
  ];
  for (const [t, want] of bad)
    it(`refuses ${t}`, () =>
      assert.throws(
        () => parseExcludeList(t, 'f', 'n'),
        (e: Error) => {
          assert.ok(e instanceof TopologyConfigError);
          assert.match(e.message, want);
          return true;
        },
      ));
});
