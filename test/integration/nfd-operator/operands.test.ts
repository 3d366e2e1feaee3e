/**
 * The rendered operands really work: nfd-master, nfd-worker and nfd-gc run as processes with
 * the command, arguments and environment of the objects the operator wrote, authenticated by
 * tokens of the ServiceAccounts it created (TokenRequest), so only the RBAC it rendered lets
 * them act. The worker's ConfigMap volume is laid out as the kubelet does (a `..data` symlink
 * swapped on update); the node gets the worker's labels, and a workerConfig edit reaches the
 * running worker without a restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NodeFeatures } from '../../../src/api/index.js';
import {
  ConfigMaps,
  DaemonSets,
  Deployments,
  Nodes,
  Pods,
  type KubeObject,
} from '../../../src/runtime/index.js';
import { HWE_MAIN } from '../../support/cli.js';
import {
  eventually,
  onCleanup,
  testNodes,
  uniqueName,
  serviceAccountKubeconfig,
} from '../../support/cluster.js';
import { operatorUnderTest } from './operator-under-test.js';

const { client, ns, mgr, api, crApi, deleteCr } = await operatorUnderTest(
  'nfd-operands',
  'hwe:operands-test',
);
const node = uniqueName('nfd-operands');

const dir = mkdtempSync(join(tmpdir(), 'nfd-operands-'));
onCleanup(async () => rmSync(dir, { recursive: true, force: true }));

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  command: string[];
  args: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  serviceAccountName: string;
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}
interface Workload extends KubeObject {
  spec: { template: { spec: PodSpec } };
}
type Pod = KubeObject & { spec: PodSpec & { nodeName?: string } };

const rule = (name: string) => `core:
  sleepInterval: 1h
sources:
  custom:
    - name: ${name}
      labels:
        ${name}: "true"
      matchFeatures:
        - feature: kernel.version
          matchExpressions:
            major: {op: Exists}
`;

/** A token of the ServiceAccount, from the TokenRequest API, in a kubeconfig. */
function kubeconfigFor(sa: string): Promise<string> {
  return serviceAccountKubeconfig(client, ns, sa, join(dir, `${sa}.kubeconfig`));
}

/** A field of the pod, as the downward API reads it (`spec.nodeName`, `metadata.uid`). */
function field(pod: Pod, path: string): string {
  let v: unknown = pod;
  for (const k of path.split('.')) v = (v as Record<string, unknown>)[k];
  return String(v);
}

/**
 * The kubelet's ConfigMap volume: files under a timestamped directory, `..data` pointing at
 * it, and each key a link through `..data`; an update swaps `..data` atomically.
 */
function writeConfigMapVolume(target: string, data: Record<string, string>): void {
  mkdirSync(target, { recursive: true });
  const stamp = `..${Date.now()}_${Math.random().toString(36).slice(2)}`;
  mkdirSync(join(target, stamp));
  for (const [k, v] of Object.entries(data)) writeFileSync(join(target, stamp, k), v);
  symlinkSync(stamp, join(target, '..data_tmp'));
  renameSync(join(target, '..data_tmp'), join(target, '..data'));
  for (const k of Object.keys(data)) {
    try {
      symlinkSync(join('..data', k), join(target, k));
    } catch {
      // already linked through ..data
    }
  }
}

const children: ChildProcess[] = [];
after(() => children.forEach((c) => c.kill('SIGTERM')));

/**
 * Runs the pod's container as a process: its command (a link named after the program, as the
 * image's entry points are), its arguments with ConfigMap mount paths mapped to local
 * directories, its environment resolved from the pod, and its ServiceAccount's token.
 */
async function runContainer(pod: Pod, mounts: Map<string, string>): Promise<ChildProcess> {
  const c = pod.spec.containers[0]!;
  const program = join(dir, c.command[0]!);
  try {
    symlinkSync(HWE_MAIN, program);
  } catch {
    // linked already
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HWE_LOG_LEVEL: process.env.HWE_TEST_CHILD_STDERR ? 'debug' : undefined,
    KUBECONFIG: await kubeconfigFor(pod.spec.serviceAccountName),
  };
  for (const e of c.env ?? []) {
    env[e.name] = e.valueFrom?.fieldRef ? field(pod, e.valueFrom.fieldRef.fieldPath) : e.value;
  }
  let args = c.args.map((a) => {
    for (const [from, to] of mounts) if (a.includes(from)) return a.replace(from, to);
    return a;
  });
  // Every operand serves probes on one port; processes on one machine need their own.
  args = args.map((a) => (a.startsWith('-port=') ? '-port=0' : a));
  const child = spawn(process.execPath, [program, ...args], {
    env,
    stdio: ['ignore', 'ignore', process.env.HWE_TEST_CHILD_STDERR ? 'inherit' : 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.on('exit', (code) => {
    if (code !== null && code !== 0)
      process.stderr.write(`${c.command[0]} exited ${code}: ${stderr}\n`);
  });
  children.push(child);
  return child;
}

const podsApi = api<Pod>(Pods);

async function podOf(app: string): Promise<Pod> {
  return eventually(
    `a pod of ${app}`,
    async () => {
      const { items } = await podsApi.list({ namespace: ns, labelSelector: `app=${app}` });
      return (
        items.find((p) => !p.metadata.deletionTimestamp && p.spec.nodeName === node) ??
        items.find((p) => !p.metadata.deletionTimestamp && app !== 'nfd-worker')
      );
    },
    120_000,
  );
}

const nodeLabel = async (key: string) => (await api(Nodes).get(node)).metadata.labels?.[key];

before(async () => {
  await testNodes(client, [{ name: node, labels: { [node]: 'yes' } }]);
  await mgr.start();
  await crApi.create({
    apiVersion: 'nfd.openshift.io/v1',
    kind: 'NodeFeatureDiscovery',
    metadata: { name: 'nfd', namespace: ns },
    spec: {
      operand: { workerNodeSelector: { [node]: 'yes' } },
      workerConfig: { configData: rule('op-first') },
    },
  });
});
after(async () => {
  await deleteCr('nfd').catch(() => undefined);
  await mgr.stop();
});

describe('rendered operands', { timeout: 400_000 }, () => {
  let worker: ChildProcess;
  const confDir = join(dir, 'nfd-worker-conf');

  it('label the node when run with their own arguments, environment and ServiceAccounts', async () => {
    const ds = await eventually('the worker DaemonSet', () =>
      api<Workload>(DaemonSets).find('nfd-worker', ns),
    );
    const cmApi = api<KubeObject & { data: Record<string, string> }>(ConfigMaps);
    // The config volume, as the kubelet would mount it.
    const vol = ds.spec.template.spec.volumes!.find((v) => v.configMap)!;
    const mount = ds.spec.template.spec.containers[0]!.volumeMounts!.find(
      (m) => m.name === vol.name,
    )!;
    const cm = await cmApi.get(vol.configMap!.name, ns);
    writeConfigMapVolume(confDir, cm.data);

    for (const name of ['nfd-master', 'nfd-gc']) {
      await eventually(`Deployment ${name}`, () => api<Workload>(Deployments).find(name, ns));
      await runContainer(await podOf(name), new Map());
    }
    worker = await runContainer(await podOf('nfd-worker'), new Map([[mount.mountPath, confDir]]));

    const nf = await eventually(
      'the worker to publish its NodeFeature',
      () => api(NodeFeatures).find(node, ns),
      120_000,
    );
    assert.equal(nf.metadata.labels?.['nfd.node.kubernetes.io/node-name'], node);
    assert.ok(
      nf.metadata.ownerReferences?.some((r) => r.kind === 'Pod'),
      'owned by its pod',
    );
    await eventually(
      'the master to label the node',
      async () => (await nodeLabel('feature.node.kubernetes.io/op-first')) === 'true',
      120_000,
    );
    assert.ok(await nodeLabel('feature.node.kubernetes.io/kernel-version.major'));
  });

  it('a workerConfig edit reaches the running worker without a restart', async () => {
    await crApi.patch(
      'nfd',
      { spec: { workerConfig: { configData: rule('op-second') } } },
      { namespace: ns },
    );
    const cmApi = api<KubeObject & { data: Record<string, string> }>(ConfigMaps);
    const cm = await eventually('the ConfigMap to change', async () => {
      const c = await cmApi.get('nfd-worker-conf', ns);
      return (c.data['nfd-worker.conf'] ?? '').includes('op-second') && c;
    });
    writeConfigMapVolume(confDir, cm.data);
    await eventually(
      'the node to get the new label and lose the old one',
      async () =>
        (await nodeLabel('feature.node.kubernetes.io/op-second')) === 'true' &&
        (await nodeLabel('feature.node.kubernetes.io/op-first')) === undefined,
      120_000,
    );
    assert.equal(worker.exitCode, null, 'the worker still runs');
  });

  it('nfd-gc deletes the NodeFeature of a node that is gone', async () => {
    const nfApi = api(NodeFeatures);
    const ghost = uniqueName('gone');
    // As upstream, gc acts on a Node's deletion (and on its periodic sweep, which spares young
    // objects): the node exists first, then goes.
    await testNodes(client, [{ name: ghost }]);
    await nfApi.create({
      apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
      kind: 'NodeFeature',
      metadata: {
        name: ghost,
        namespace: ns,
        labels: { 'nfd.node.kubernetes.io/node-name': ghost },
      },
      spec: {},
    });
    await api(Nodes).delete(ghost);
    await eventually('gc to delete it', async () => !(await nfApi.find(ghost, ns)), 120_000);
  });
});
