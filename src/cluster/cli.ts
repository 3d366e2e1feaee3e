import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Command, UsageError } from '../cli/command.js';
import { LocalCluster } from './local.js';
import { createSimNodes, simNodeSpecs, waitForReadyNodes } from './nodes.js';

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
  run: async ({ flags, stdout, env }) => {
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
    return state === 'running' ? 0 : 1;
  },
};

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'a local Kubernetes control plane with simulated nodes, for trying hwe out',
  subcommands: [up, down, status],
};
