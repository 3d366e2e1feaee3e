/**
 * nfd-topology-updater against a real control plane. The kubelet is played by
 * PodResourcesStandIn (./kubelet.ts): a gRPC server on a unix socket speaking the kubelet's own
 * pod-resources v1 proto, answering as a kubelet with the static CPU and memory managers would.
 * The host is a fixture tree (test/fixtures/hosts/numa-*), the pods are real Pod objects on
 * simulated nodes, and the updater runs as a DaemonSet runs it: a separate process started
 * under the name nfd-topology-updater with upstream's single-dash flags.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { installCrds, type NodeResourceTopology, type Zone } from '../../../src/api/index.js';
import { isKubeError, type KubeClient } from '../../../src/runtime/client.js';
import { repoRoot } from '../../fixtures/hosts/index.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import { HWE_ENTRY, runHwe } from '../../support/cli.js';
import { type KubeletState, PodResourcesStandIn } from './kubelet.js';

const NRT = '/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies';
const GiB = 2 ** 30;
const MiB = 2 ** 20;
const fixture = (name: string) => join(repoRoot(), 'test/fixtures/hosts', name);
const numa = (...ids: number[]) => ({ nodes: ids.map((ID) => ({ ID })) });

/** One resource line of a zone, as the updater writes it. */
const r = (name: string, capacity: number, allocatable: number, available: number) => ({
  name,
  capacity: String(capacity),
  allocatable: String(allocatable),
  available: String(available),
});
const costs = (...values: number[]) => values.map((value, i) => ({ name: `node-${i}`, value }));

describe('nfd-topology-updater', { timeout: 300_000 }, () => {
  let client: KubeClient;
  let kubeconfig: string;
  let ns: string;
  const id = uniqueName('topo');
  const [nodeTwo, nodeOne, nodeDead] = ['two', 'one', 'dead'].map((s) => `${id}-${s}`) as [
    string,
    string,
    string,
  ];
  const tmp = mkdtempSync(join(tmpdir(), 'hwe-topology-'));
  // The name the DaemonSet's command uses; main.ts maps it to `hwe nfd topology-updater`.
  const program = join(tmp, 'nfd-topology-updater');

  const children: ChildProcess[] = [];
  /**
   * Starts the updater as a long-running process; its stderr is collected. Each test stops its
   * own at its end (`stop`), the others are stopped when the file ends.
   */
  function startUpdater(args: string[]): {
    child: ChildProcess;
    stderr: () => string;
    stop: () => Promise<void>;
  } {
    const child = spawn(process.execPath, [program, ...args, `-kubeconfig=${kubeconfig}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    children.push(child);
    const stop = () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    return { child, stderr: () => err, stop };
  }

  const getNrt = async (node: string) => {
    try {
      return await client.request<NodeResourceTopology>(`${NRT}/${node}`);
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return undefined;
      throw e;
    }
  };
  const available = (nrt: NodeResourceTopology | undefined, zone: string, res: string) =>
    nrt?.zones.find((z: Zone) => z.name === zone)?.resources?.find((x) => x.name === res)
      ?.available;

  async function createPod(
    name: string,
    node: string,
    resources: { requests?: Record<string, string>; limits?: Record<string, string> },
  ): Promise<void> {
    await client.request(`/api/v1/namespaces/${ns}/pods`, {
      method: 'POST',
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns },
        spec: {
          nodeName: node,
          containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9', resources }],
        },
      },
    });
  }

  /** The two-node host: CPUs 0 and 8 reserved, memory and huge pages per node, a NIC and a GPU. */
  const twoNodeKubelet = (): KubeletState => ({
    allocatable: {
      cpu_ids: [1, 2, 3, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15],
      devices: [
        { resource_name: 'example.com/nic', device_ids: ['nic0', 'nic1'], topology: numa(0) },
        { resource_name: 'example.com/gpu', device_ids: ['gpu0'], topology: numa(1) },
      ],
      memory: [
        { memory_type: 'memory', size: 15 * GiB, topology: numa(0) },
        { memory_type: 'memory', size: 16 * GiB - 612 * MiB, topology: numa(1) },
        { memory_type: 'hugepages-2Mi', size: GiB, topology: numa(0) },
        { memory_type: 'hugepages-2Mi', size: 512 * MiB, topology: numa(1) },
        { memory_type: 'hugepages-1Gi', size: 2 * GiB, topology: numa(0) },
      ],
    },
    list: {
      pod_resources: [
        {
          name: 'pinned',
          namespace: ns,
          containers: [
            {
              name: 'c',
              cpu_ids: [4, 5],
              devices: [],
              memory: [
                { memory_type: 'memory', size: GiB, topology: numa(1) },
                { memory_type: 'hugepages-2Mi', size: 256 * MiB, topology: numa(1) },
              ],
            },
          ],
        },
        {
          // Burstable: its CPUs are shared ones and do not count; its NIC does.
          name: 'with-nic',
          namespace: ns,
          containers: [
            {
              name: 'c',
              cpu_ids: [1, 2, 3, 9],
              devices: [
                { resource_name: 'example.com/nic', device_ids: ['nic1'], topology: numa(0) },
              ],
              memory: [],
            },
          ],
        },
        {
          // Burstable without devices: does not count at all.
          name: 'shared',
          namespace: ns,
          containers: [{ name: 'c', cpu_ids: [1, 2, 3, 9], devices: [], memory: [] }],
        },
        {
          // Known to the kubelet but not to the API (deleted meanwhile): left out.
          name: 'gone',
          namespace: ns,
          containers: [{ name: 'c', cpu_ids: [6, 7], devices: [], memory: [] }],
        },
      ],
    },
  });

  const twoNodeZones = (node1CpuAvailable: number) => [
    {
      name: 'node-0',
      type: 'Node',
      costs: costs(10, 21),
      resources: [
        r('cpu', 8, 6, 6),
        r('example.com/nic', 2, 2, 1),
        r('hugepages-1Gi', 2 * GiB, 2 * GiB, 2 * GiB),
        r('hugepages-2Mi', GiB, GiB, GiB),
        r('memory', 16 * GiB, 15 * GiB, 15 * GiB),
      ],
    },
    {
      name: 'node-1',
      type: 'Node',
      costs: costs(21, 10),
      resources: [
        r('cpu', 8, 8, node1CpuAvailable),
        r('example.com/gpu', 1, 1, 1),
        r('hugepages-2Mi', 512 * MiB, 512 * MiB, 256 * MiB),
        r('memory', 16 * GiB, 16 * GiB - 612 * MiB, 15 * GiB - 612 * MiB),
      ],
    },
  ];

  before(async () => {
    const cluster = await testCluster();
    client = cluster.client;
    kubeconfig = cluster.kubeconfig;
    await installCrds(client);
    ns = await testNamespace(client, 'topo');
    symlinkSync(HWE_ENTRY, program);
    onCleanup(async () => {
      for (const c of children) c.kill('SIGTERM');
      rmSync(tmp, { recursive: true, force: true });
    });
    await testNodes(
      client,
      [nodeTwo, nodeOne, nodeDead].map((name) => ({ name, labels: { 'hwe-test': id } })),
    );
    for (const node of [nodeTwo, nodeOne, nodeDead])
      onCleanup(() => client.request(`${NRT}/${node}`, { method: 'DELETE' }));
    const guaranteed = { limits: { cpu: '2', memory: '1Gi' } };
    await createPod('pinned', nodeTwo, guaranteed);
    await createPod('with-nic', nodeTwo, { requests: { cpu: '500m' } });
    await createPod('shared', nodeTwo, { requests: { cpu: '1' } });
  });

  it('publishes the zones of a two-NUMA-node host and follows pod changes', async () => {
    const kubelet = await PodResourcesStandIn.start(join(tmp, 'two.sock'), twoNodeKubelet());
    onCleanup(() => kubelet.stop());
    const root = fixture('numa-two');
    const stateDir = join(tmp, 'two-state');
    mkdirSync(stateDir);
    const run = startUpdater([
      `-podresources-socket=${kubelet.socket}`,
      `-kubelet-config-file=${root}/var/lib/kubelet/config.yaml`,
      `-kubelet-state-dir=${stateDir}`,
      '-sleep-interval=3s',
      `-host-root=${root}`,
      `-node-name=${nodeTwo}`,
    ]);
    const nrt = await eventually('the NodeResourceTopology', () => getNrt(nodeTwo), 60_000);
    assert.deepEqual(nrt.topologyPolicies, ['SingleNUMANodePodLevel']);
    assert.deepEqual(nrt.attributes, [
      { name: 'topologyManagerPolicy', value: 'single-numa-node' },
      { name: 'topologyManagerScope', value: 'pod' },
    ]);
    assert.deepEqual(nrt.zones, twoNodeZones(6));
    assert.ok(
      nrt.metadata.managedFields?.some(
        (f) =>
          (f as { manager?: string; operation?: string }).manager === 'nfd-topology-updater' &&
          (f as { operation?: string }).operation === 'Apply',
      ),
      'written by server-side apply under its own field manager',
    );

    // The kubelet gives the pinned pod two more CPUs: the next interval shows it.
    const state = twoNodeKubelet();
    state.list.pod_resources[0]!.containers[0]!.cpu_ids = [4, 5, 6, 7];
    kubelet.state = state;
    const after = await eventually(
      'node-1 cpu available to drop to 4',
      async () => {
        const o = await getNrt(nodeTwo);
        return available(o, 'node-1', 'cpu') === '4' && o;
      },
      60_000,
    );
    assert.deepEqual(after.zones, twoNodeZones(4));
    await run.stop();
    assert.equal(run.child.exitCode, 0, run.stderr());
  });

  it('updates on a kubelet checkpoint change without a timed pass', async () => {
    const kubelet = await PodResourcesStandIn.start(join(tmp, 'watch.sock'), twoNodeKubelet());
    onCleanup(() => kubelet.stop());
    const root = fixture('numa-two');
    const stateDir = join(tmp, 'watch-state');
    mkdirSync(stateDir);
    const cpuState = join(stateDir, 'cpu_manager_state');
    writeFileSync(cpuState, '{}');
    const node = nodeTwo;
    const run = startUpdater([
      `-podresources-socket=${kubelet.socket}`,
      `-kubelet-config-file=${root}/var/lib/kubelet/config.yaml`,
      `-kubelet-state-dir=${stateDir}`,
      '-sleep-interval=0',
      `-host-root=${root}`,
      `-node-name=${node}`,
    ]);
    await eventually('a first pass', async () => kubelet.calls.List >= 1, 60_000);
    const passes = kubelet.calls.List;
    const state = twoNodeKubelet();
    state.list.pod_resources[0]!.containers[0]!.cpu_ids = [4];
    kubelet.state = state;
    // The kubelet rewrites its checkpoint when it gives CPUs to or takes them from a pod.
    writeFileSync(cpuState, '{"entries":{}}');
    utimesSync(cpuState, new Date(), new Date());
    await eventually(
      'a pass after the checkpoint changed',
      async () => kubelet.calls.List > passes,
      60_000,
    );
    await eventually(
      'node-1 cpu available to be 7',
      async () => available(await getNrt(node), 'node-1', 'cpu') === '7',
      60_000,
    );
    await run.stop();
  });

  it('reports a dead socket, keeps running and publishes once the kubelet answers', async () => {
    const root = fixture('numa-one');
    const socket = join(tmp, 'later.sock');
    const run = startUpdater([
      `-podresources-socket=${socket}`,
      `-kubelet-config-file=${root}/var/lib/kubelet/config.yaml`,
      '-kubelet-state-dir=',
      '-sleep-interval=2s',
      `-host-root=${root}`,
      `-node-name=${nodeDead}`,
    ]);
    await eventually(
      'an error that names the socket',
      async () => run.stderr().includes(`pod-resources`) && run.stderr().includes(socket),
      60_000,
    );
    assert.match(run.stderr(), /retrying in \d+s/);
    assert.equal(run.child.exitCode, null, 'still running');
    assert.equal(await getNrt(nodeDead), undefined);
    const kubelet = await PodResourcesStandIn.start(socket, {
      allocatable: { cpu_ids: [1, 2, 3], devices: [], memory: [] },
      list: { pod_resources: [] },
    });
    onCleanup(() => kubelet.stop());
    const nrt = await eventually('the NodeResourceTopology', () => getNrt(nodeDead), 90_000);
    assert.deepEqual(nrt.zones, [
      { name: 'node-0', type: 'Node', costs: costs(10), resources: [r('cpu', 4, 3, 3)] },
    ]);
    await run.stop();
  });

  it('on a kubelet without GetAllocatableResources, uses the reserved CPUs of its config; legacy flags warn', async () => {
    const root = fixture('numa-one');
    const kubelet = await PodResourcesStandIn.start(join(tmp, 'old.sock'), {
      noAllocatable: true,
      allocatable: { cpu_ids: [], devices: [], memory: [] },
      list: { pod_resources: [] },
    });
    onCleanup(() => kubelet.stop());
    const res = await runHwe([
      'nfd',
      'topology-updater',
      '-oneshot',
      `-podresources-socket=${kubelet.socket}`,
      `-kubelet-config-file=${root}/var/lib/kubelet/config.yaml`,
      `-host-root=${root}`,
      `-node-name=${nodeOne}`,
      `-kubeconfig=${kubeconfig}`,
      '-server=nfd-master:8080',
      '-ca-file=/etc/nfd/ca.crt',
      '-cert-file=/etc/nfd/tls.crt',
      '-key-file=/etc/nfd/tls.key',
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /-server, -ca-file, -cert-file, -key-file ignored/);
    assert.match(res.stderr, /cannot report allocatable resources/);
    const nrt = await getNrt(nodeOne);
    assert.deepEqual(nrt?.topologyPolicies, ['None']);
    assert.deepEqual(nrt?.zones, [
      { name: 'node-0', type: 'Node', costs: costs(10), resources: [r('cpu', 4, 3, 3)] },
    ]);
  });

  it('-oneshot -no-publish prints the object and writes nothing; a dead socket fails -oneshot', async () => {
    const root = fixture('numa-two');
    const kubelet = await PodResourcesStandIn.start(join(tmp, 'print.sock'), twoNodeKubelet());
    onCleanup(() => kubelet.stop());
    const node = uniqueName('nowhere');
    const common = [
      `-kubelet-config-file=${root}/var/lib/kubelet/config.yaml`,
      `-host-root=${root}`,
      `-node-name=${node}`,
      `-kubeconfig=${kubeconfig}`,
      `-watch-namespace=${ns}`,
      '-oneshot',
    ];
    const res = await runHwe([
      'nfd',
      'topology-updater',
      ...common,
      `-podresources-socket=${kubelet.socket}`,
      '-no-publish',
    ]);
    assert.equal(res.code, 0, res.stderr);
    const printed = parse(res.stdout) as NodeResourceTopology;
    assert.equal(printed.metadata.name, node);
    // The pods are on another node: nothing is used here.
    assert.equal(available(printed, 'node-1', 'cpu'), '8');
    assert.equal(await getNrt(node), undefined);

    const dead = await runHwe([
      'nfd',
      'topology-updater',
      ...common,
      `-podresources-socket=${join(tmp, 'nothing.sock')}`,
    ]);
    assert.equal(dead.code, 1);
    assert.match(dead.stderr, /nothing\.sock.*-podresources-socket/);
  });
});
