/**
 * The dry run of KMM worker pods that `hwe cluster kmm-workers` uses on simulated nodes: the
 * pod's module image is pulled from a local registry and unpacked, and the worker's load runs
 * with `modprobe -n -S <kernel>`, so the pod succeeds only when the image holds the module
 * for that kernel.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, it } from 'node:test';
import type { ModuleConfig } from '../../../src/api/index.js';
import { dryRunWorkerPod } from '../../../src/cluster/kmm-workers.js';
import { workerPod, type WorkerAction } from '../../../src/kmm/nmc/pod.js';
import { RegistryClient, type LayerFile } from '../../../src/oci/index.js';
import { makeModuleTree } from '../../fixtures/kmm/modtree.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';

const K1 = '5.14.0-284.30.1.el9_2.x86_64';
const K2 = '6.1.0-18-amd64';
const reg = await testRegistry();
const work = mkdtempSync(join(tmpdir(), 'kmm-workers-'));
after(() => rmSync(work, { recursive: true, force: true }));

function files(root: string, dir = root): LayerFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(root, p) : [{ path: relative(root, p), data: readFileSync(p) }];
  });
}

before(async () => {
  const push = new RegistryClient({ registry: reg.host, tls: reg.tls });
  const src = join(work, 'src');
  await makeModuleTree(src, '/opt', K1, [
    { name: 'hwet_dep', exports: ['hwet_dep_fn'] },
    { name: 'hwet_main', uses: ['hwet_dep_fn'] },
  ]);
  const layer = files(src).filter((f) => f.path.startsWith('opt/'));
  layer.push({ path: 'firmware/hwet/fw.bin', data: Buffer.from('firmware') });
  await pushTestImage(push, 'vendor/hwet', K1, { layers: [layer] });
  push.close();
});

function pod(kernel: string, action: WorkerAction = 'load', extra: Partial<ModuleConfig> = {}) {
  const cfg: ModuleConfig = {
    kernelVersion: kernel,
    containerImage: `${reg.host}/vendor/hwet:${K1}`,
    insecurePull: true,
    modprobe: { moduleName: 'hwet_main', dirName: '/opt' },
    ...extra,
  };
  const p = workerPod(
    'node-a',
    { name: 'hwet', namespace: 'ns', serviceAccountName: 'default' },
    cfg,
    action,
    { apiVersion: 'v1', kind: 'NodeModulesConfig', name: 'node-a', uid: 'u' },
    {
      workerImage: 'hwe:test',
      firmwareHostPath: '/var/lib/firmware',
      runAsUser: 0,
      seLinuxType: 'spc_t',
    },
  );
  p.metadata.uid = `uid-${Math.random().toString(36).slice(2)}`;
  return p;
}

it('loads the module of the image for the node kernel, dependencies first', async () => {
  const r = await dryRunWorkerPod(pod(K1), { workDir: work });
  assert.equal(r.outcome, 'succeed', r.output);
  const insmod = r.output.split('\n').filter((l) => l.startsWith('insmod '));
  assert.equal(insmod.length, 2, r.output);
  assert.match(insmod[0]!, new RegExp(`/opt/lib/modules/${K1}/extra/hwet_dep\\.ko`));
  assert.match(insmod[1]!, /hwet_main\.ko/);
});

it('fails, naming the module, when the image has nothing for the node kernel', async () => {
  // e.g. the node has rebooted into K2 while the pod still has the config for K1
  const r = await dryRunWorkerPod(pod(K1), { workDir: work, kernel: K2 });
  assert.ok(typeof r.outcome === 'object', r.output);
  assert.match(r.outcome.fail, /hwet_main/);
  assert.match(r.outcome.fail, new RegExp(`not found in directory .*${K2.replace(/\./g, '\\.')}`));
});

it('fails as the init container would when the image is missing', async () => {
  const r = await dryRunWorkerPod(
    pod(K1, 'load', { containerImage: `${reg.host}/vendor/none:x` }),
    {
      workDir: work,
    },
  );
  assert.ok(typeof r.outcome === 'object');
  assert.match(r.outcome.fail, /^unpacking the module image failed: /);
});

it('copies firmware under the node directory and sets firmware_class.path', async () => {
  const p = pod(K1, 'load', {
    modprobe: { moduleName: 'hwet_main', dirName: '/opt', firmwarePath: '/firmware' },
  });
  const r = await dryRunWorkerPod(p, { workDir: work });
  assert.equal(r.outcome, 'succeed', r.output);
  const node = join(work, 'nodes', 'node-a');
  assert.equal(readFileSync(join(node, 'var/lib/firmware/hwet/fw.bin'), 'utf8'), 'firmware');
  assert.equal(
    readFileSync(join(node, 'sys/module/firmware_class/parameters/path'), 'utf8'),
    '/var/lib/firmware',
  );
  const u = await dryRunWorkerPod(
    pod(K1, 'unload', {
      modprobe: { moduleName: 'hwet_main', dirName: '/opt', firmwarePath: '/firmware' },
    }),
    { workDir: work },
  );
  assert.equal(u.outcome, 'succeed', u.output);
  assert.throws(() => readFileSync(join(node, 'var/lib/firmware/hwet/fw.bin')));
});

it('pulls with the pod pull secrets from a registry that requires them', async () => {
  const user = { username: 'puller', password: 'pull-pw' };
  const priv = await testRegistry({ auth: 'htpasswd', users: [user] });
  const push = new RegistryClient({ registry: priv.host, tls: priv.tls, auth: user });
  const src = join(work, 'src');
  await pushTestImage(push, 'vendor/hwet', K1, {
    layers: [files(src).filter((f) => f.path.startsWith('opt/'))],
  });
  push.close();
  const p = pod(K1, 'load', { containerImage: `${priv.host}/vendor/hwet:${K1}` });
  const denied = await dryRunWorkerPod(p, { workDir: work });
  assert.ok(typeof denied.outcome === 'object', denied.output);
  assert.match(denied.outcome.fail, /^unpacking the module image failed: /);
  const auth = Buffer.from(`${user.username}:${user.password}`).toString('base64');
  const secret = {
    metadata: { name: 'pull', namespace: 'ns' },
    type: 'kubernetes.io/dockerconfigjson',
    data: {
      '.dockerconfigjson': Buffer.from(
        JSON.stringify({ auths: { [priv.host]: { auth } } }),
      ).toString('base64'),
    },
  };
  const r = await dryRunWorkerPod(p, { workDir: work, pullSecrets: [secret] });
  assert.equal(r.outcome, 'succeed', r.output);
});
