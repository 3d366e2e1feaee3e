import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Command, UsageError, stopSignal } from '../command/index.js';
import type { SecretLike } from '../oci/index.js';
import { isKubeError } from '../runtime/client.js';
import { LocalCluster } from './local.js';
import {
  createSimNodes,
  simNodeSpecs,
  upgradeKernel,
  waitForReadyNodes,
  type NodeObject,
} from './nodes.js';

function defaultDir(env: NodeJS.ProcessEnv): string {
  return join(env.HWE_HOME ?? join(env.HOME ?? homedir(), '.hwe'), 'cluster');
}

const dirFlag = {
  name: 'dir',
  type: 'string' as const,
  placeholder: 'DIR',
  help: 'where the local cluster keeps its data, logs and kubeconfig (default $HWE_HOME/cluster, HWE_HOME=~/.hwe)',
};

const up: Command = {
  name: 'up',
  summary: 'start a local control plane with simulated nodes',
  description:
    'Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1,\n' +
    'builds them first from tools/k8s-box if needed, creates simulated nodes, and prints\n' +
    '"export KUBECONFIG=<path>" on its last line, so that `eval "$(hwe cluster up | tail -1)"` works.\n' +
    'The cluster keeps running until `hwe cluster down`.',
  flags: [
    {
      name: 'nodes',
      type: 'number',
      default: 3,
      placeholder: 'N',
      help: 'number of simulated nodes',
    },
    {
      name: 'kernel',
      type: 'string',
      placeholder: 'VERSION',
      help: 'kernel version the nodes report',
    },
    {
      name: 'node-lease-seconds',
      type: 'number',
      default: 40,
      placeholder: 'S',
      help: 'how long a node Lease lasts (renewed every S/4 seconds); raise it for thousands of nodes on a small machine',
    },
    dirFlag,
  ],
  run: async ({ flags, stdout, stderr, env }) => {
    const n = flags.nodes as number;
    if (!Number.isInteger(n) || n < 0)
      throw new UsageError(`--nodes ${n}: give a whole number of nodes, 0 or more`);
    const lease = flags['node-lease-seconds'] as number;
    if (!Number.isInteger(lease) || lease < 1)
      throw new UsageError(
        `--node-lease-seconds ${lease}: give a whole number of seconds, 1 or more`,
      );
    const dir = (flags.dir as string | undefined) ?? defaultDir(env);
    const existing = LocalCluster.attach(dir);
    if (existing && Object.values(existing.running()).some(Boolean)) {
      stderr.write(
        `a local cluster already runs in ${dir}; stop it with "hwe cluster down" first\n`,
      );
      stdout.write(`export KUBECONFIG=${existing.kubeconfig}\n`);
      return 1;
    }
    const started = Date.now();
    const cluster = await LocalCluster.start({
      dir,
      nodeLeaseDurationSeconds: lease,
      log: (l) => stderr.write(`${l}\n`),
    });
    try {
      if (n > 0) {
        stderr.write(`creating ${n} simulated nodes\n`);
        await createSimNodes(
          cluster.client,
          simNodeSpecs(n, 'node', flags.kernel ? { kernelVersion: flags.kernel as string } : {}),
        );
        await waitForReadyNodes(cluster.client, n, { timeoutMs: 300_000 });
      }
    } catch (e) {
      await cluster.stop({ keepDir: true });
      throw e;
    } finally {
      cluster.client.close();
    }
    stderr.write(
      `cluster ready in ${((Date.now() - started) / 1000).toFixed(1)}s with ${n} Ready nodes\n`,
    );
    stderr.write(`kubectl: ${cluster.bin('kubectl')}\n`);
    stdout.write(`export KUBECONFIG=${cluster.kubeconfig}\n`);
    return 0;
  },
};

const down: Command = {
  name: 'down',
  summary: 'stop the local control plane and remove its data',
  flags: [dirFlag],
  run: async ({ flags, stderr, env }) => {
    const dir = (flags.dir as string | undefined) ?? defaultDir(env);
    const cluster = LocalCluster.attach(dir);
    if (!cluster) {
      stderr.write(`no local cluster in ${dir}\n`);
      return existsSync(dir) ? 1 : 0;
    }
    await cluster.stop();
    stderr.write(`stopped the local cluster in ${dir}\n`);
    return 0;
  },
};

const status: Command = {
  name: 'status',
  summary: 'say whether the local control plane runs, component by component',
  flags: [
    dirFlag,
    { name: 'output', aliases: ['o'], type: 'string', default: 'text', help: 'text or json' },
  ],
  run: ({ flags, stdout, env }) => {
    const dir = (flags.dir as string | undefined) ?? defaultDir(env);
    const cluster = LocalCluster.attach(dir);
    const components = cluster?.running();
    const runningAll = !!components && Object.values(components).every(Boolean);
    const state = !cluster
      ? 'stopped'
      : runningAll
        ? 'running'
        : Object.values(components!).some(Boolean)
          ? 'degraded'
          : 'stopped';
    if (flags.output === 'json') {
      stdout.write(
        JSON.stringify({
          state,
          dir,
          server: cluster?.state.server,
          kubeconfig: cluster?.kubeconfig,
          components,
        }) + '\n',
      );
    } else if (flags.output === 'text') {
      stdout.write(`local cluster in ${dir}: ${state}\n`);
      if (cluster) {
        stdout.write(`  server: ${cluster.state.server}\n  kubeconfig: ${cluster.kubeconfig}\n`);
        for (const [c, up] of Object.entries(components!))
          stdout.write(`  ${c.padEnd(24)} ${up ? 'running' : 'stopped'}\n`);
      }
    } else {
      throw new UsageError(`--output ${String(flags.output)}: use text or json`);
    }
    return Promise.resolve(state === 'running' ? 0 : 1);
  },
};

/** The running local cluster in --dir, or a usage error saying how to start one. */
function runningCluster(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): LocalCluster {
  const dir = (flags.dir as string | undefined) ?? defaultDir(env);
  const cluster = LocalCluster.attach(dir);
  if (!cluster || !cluster.running()['kube-apiserver']) {
    throw new UsageError(`no local cluster runs in ${dir}; start one with "hwe cluster up"`);
  }
  return cluster;
}

const upgradeKernelCommand: Command = {
  name: 'upgrade-kernel',
  summary: 'make a simulated node come back from a reboot on another kernel',
  usage: 'NODE KERNEL',
  description:
    "Sets the node's status.nodeInfo.kernelVersion (and osImage with --os-image) and gives it a\n" +
    'new bootID, as a node that was upgraded and rebooted reports it.',
  flags: [
    { name: 'os-image', type: 'string', placeholder: 'NAME', help: 'the new OS image name' },
    dirFlag,
  ],
  run: async ({ flags, args, stderr, env }) => {
    const [node, kernel, extra] = args;
    if (!node || !kernel || extra !== undefined)
      throw new UsageError('give the node name and the new kernel version: NODE KERNEL');
    const cluster = runningCluster(flags, env);
    try {
      await upgradeKernel(cluster.client, node, kernel, flags['os-image'] as string | undefined);
    } finally {
      cluster.client.close();
    }
    stderr.write(`${node} rebooted into kernel ${kernel}\n`);
    return 0;
  },
};

const kmmWorkers: Command = {
  name: 'kmm-workers',
  summary: 'play the kubelet and kmm-worker for KMM worker pods on the simulated nodes',
  description:
    'Simulated nodes run no containers. This completes each Running KMM worker pod as its\n' +
    'containers would: it pulls the module image named in the pod config, unpacks it as the\n' +
    'init container does, runs `kmm worker kmod load|unload` with the pod config and flags\n' +
    'against a per-node directory under --work-dir standing for the host, with\n' +
    "`modprobe -n -S <the node's kernel>` (a dry run: modprobe resolves the module in the\n" +
    'image for that kernel and prints what it would insert), and marks the pod Succeeded, or\n' +
    "Failed with the worker's message. With --complete it marks every pod Succeeded without\n" +
    'running anything. One line per pod on stdout; runs until SIGINT or SIGTERM.',
  flags: [
    dirFlag,
    {
      name: 'work-dir',
      type: 'string',
      placeholder: 'DIR',
      help: "the nodes' host directories and unpacked images (default <dir>/kmm-workers)",
    },
    { name: 'namespace', type: 'string', placeholder: 'NS', help: 'only pods of this namespace' },
    {
      name: 'complete',
      type: 'boolean',
      help: 'mark pods Succeeded without the dry run',
    },
  ],
  run: async ({ flags, stdout, stderr, env }) => {
    const cluster = runningCluster(flags, env);
    const workDir = (flags['work-dir'] as string | undefined) ?? join(cluster.dir, 'kmm-workers');
    const complete = !!flags.complete;
    const { describeWorkerPod, dryRunWorkerPod, startWorkerDriver } =
      await import('./kmm-workers.js');
    // The worker's output of each pod, shown indented under the pod's line.
    const outputs = new Map<string, string>();
    const driver = await startWorkerDriver(
      cluster.client,
      async (pod) => {
        if (complete) return 'succeed';
        const node = await cluster.client.request<NodeObject>(
          `/api/v1/nodes/${encodeURIComponent(pod.spec.nodeName)}`,
        );
        const kernel = node.status?.nodeInfo?.kernelVersion;
        const pullSecrets: SecretLike[] = [];
        const refs = (pod.spec.imagePullSecrets ?? []) as { name: string }[];
        for (const { name } of refs) {
          const path = `/api/v1/namespaces/${pod.metadata.namespace}/secrets/${encodeURIComponent(name)}`;
          try {
            pullSecrets.push(await cluster.client.request<SecretLike>(path));
          } catch (e) {
            if (!isKubeError(e, 'NotFound')) throw e; // the kubelet pulls without it too
          }
        }
        const r = await dryRunWorkerPod(pod, {
          workDir,
          pullSecrets,
          ...(kernel ? { kernel } : {}),
        });
        outputs.set(pod.metadata.uid!, r.output);
        return r.outcome;
      },
      {
        namespace: flags.namespace as string | undefined,
        onDone: (pod, outcome) => {
          const output = outputs.get(pod.metadata.uid!) ?? '';
          outputs.delete(pod.metadata.uid!);
          const end =
            outcome === 'succeed'
              ? complete
                ? 'Succeeded (completed without running)'
                : 'Succeeded (dry run)'
              : `Failed: ${outcome.fail}`;
          const detail = output ? output.replace(/^/gm, '    ') + '\n' : '';
          stdout.write(`${describeWorkerPod(pod)}: ${end}\n${detail}`);
        },
      },
    );
    stderr.write(
      `completing KMM worker pods ${complete ? 'without running them' : `by dry run in ${workDir}`}\n`,
    );
    await stopSignal();
    await driver.stop();
    cluster.client.close();
    return 0;
  },
};

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'a local Kubernetes control plane with simulated nodes, for trying hwe out',
  subcommands: [up, down, status, upgradeKernelCommand, kmmWorkers],
};
