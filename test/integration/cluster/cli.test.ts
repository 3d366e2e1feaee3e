import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LocalCluster } from '../../../src/cluster/local.js';
import { isAlive } from '../../../src/cluster/processes.js';
import { runHwe } from '../../support/cli.js';
import { eventually, onCleanup } from '../../support/cluster.js';

function runKubectl(cluster: LocalCluster, args: string[]) {
  return spawnSync(cluster.bin('kubectl'), args, {
    env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
    encoding: 'utf8',
  });
}

function kubectl(cluster: LocalCluster, args: string[]): string {
  const r = runKubectl(cluster, args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('hwe cluster', () => {
  it('up prints the kubeconfig export last, status reports it, down leaves no process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwe-cli-'));
    onCleanup(async () => {
      await LocalCluster.attach(dir)?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const up = await runHwe([
      'cluster',
      'up',
      '--nodes',
      '5',
      '--node-lease-seconds',
      '60',
      '--dir',
      dir,
    ]);
    assert.equal(up.code, 0, up.stderr);
    const last = up.stdout.trimEnd().split('\n').pop()!;
    assert.equal(last, `export KUBECONFIG=${join(dir, 'kubeconfig')}`);

    const cluster = LocalCluster.attach(dir)!;
    const nodes = kubectl(cluster, ['get', 'nodes', '--no-headers']).trim().split('\n');
    assert.equal(nodes.length, 5);
    for (const line of nodes) assert.match(line, /^node-\d{4}\s+Ready\s/);

    // kwok plays the nodes with hwe's stages: Ready, addressed, leased for the time asked.
    const node = JSON.parse(kubectl(cluster, ['get', 'node', 'node-0000', '-o', 'json'])) as {
      metadata: { labels: Record<string, string> };
      status: { phase?: string; addresses?: { type: string; address: string }[] };
    };
    assert.equal(node.metadata.labels['beta.kubernetes.io/arch'], 'amd64');
    assert.equal(node.status.phase, 'Running');
    assert.deepEqual(
      node.status.addresses?.map((a) => a.type),
      ['InternalIP', 'Hostname'],
    );
    await eventually('the node Lease', async () => {
      const r = runKubectl(cluster, [
        'get',
        'lease',
        '-n',
        'kube-node-lease',
        'node-0000',
        '-o',
        'json',
      ]);
      if (r.status !== 0) return false;
      const lease = JSON.parse(r.stdout) as { spec: { leaseDurationSeconds: number } };
      return lease.spec.leaseDurationSeconds === 60;
    });

    // A second `up` on the same directory refuses and still says where the cluster is.
    const again = await runHwe(['cluster', 'up', '--dir', dir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already runs/);

    const status = await runHwe(['cluster', 'status', '--dir', dir, '-o', 'json']);
    assert.equal(status.code, 0);
    const s = JSON.parse(status.stdout) as { state: string; components: Record<string, boolean> };
    assert.equal(s.state, 'running');
    assert.deepEqual(Object.values(s.components), [true, true, true, true, true]);

    const pids = Object.values(cluster.state.pids);
    const down = await runHwe(['cluster', 'down', '--dir', dir]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(pids.filter(isAlive), []);
    assert.equal(existsSync(dir), false);

    const after = await runHwe(['cluster', 'status', '--dir', dir]);
    assert.equal(after.code, 1);
    assert.match(after.stdout, /stopped/);
  });

  it('rejects a bad node count with a message naming the flag', async () => {
    const r = await runHwe([
      'cluster',
      'up',
      '--nodes',
      'many',
      '--dir',
      join(tmpdir(), 'hwe-unused'),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--nodes/);

    const lease = await runHwe([
      'cluster',
      'up',
      '--node-lease-seconds',
      '0',
      '--dir',
      join(tmpdir(), 'hwe-unused'),
    ]);
    assert.equal(lease.code, 2);
    assert.match(lease.stderr, /--node-lease-seconds 0: give a whole number of seconds/);
  });

  it('leaves no process behind when the process owning a cluster is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwe-owned-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    // A child process starts a cluster it owns, reports, and then is SIGKILLed: no chance to clean up.
    const script = `
      const { LocalCluster } = await import(${JSON.stringify(new URL('../../../src/cluster/local.js', import.meta.url).href)});
      const c = await LocalCluster.start({ dir: ${JSON.stringify(join(dir, 'c'))}, ownedByProcess: true });
      process.stdout.write('READY\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const state = JSON.parse(readFileSync(join(dir, 'c', 'state.json'), 'utf8')) as {
      pids: Record<string, number>;
    };
    const pids = Object.values(state.pids);
    assert.equal(pids.length, 6); // five components and the watchdog
    assert.ok(pids.every(isAlive));
    child.kill('SIGKILL');
    await eventually(
      'every control plane process to be gone',
      async () => pids.every((p) => !isAlive(p)),
      20_000,
      200,
    );
  });
});
