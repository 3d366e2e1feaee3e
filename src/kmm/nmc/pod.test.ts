import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModuleConfig } from '../../api/index.js';
import { parseWorkerConfig } from '../worker/index.js';
import { failureMessage, podConfig, unpackScript, workerPod, workerPodName } from './pod.js';
import { labelValue, WORKER_CONFIG_ANNOTATION } from '../common/index.js';

interface Container {
  image: string;
  imagePullPolicy?: string;
  command: string[];
  args: string[];
  securityContext: { privileged?: boolean; capabilities?: unknown };
}
interface Spec {
  nodeName: string;
  restartPolicy: string;
  serviceAccountName: string;
  imagePullSecrets?: unknown;
  initContainers: Container[];
  containers: Container[];
  volumes: { hostPath?: { path: string } }[];
}

const owner = {
  apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
  kind: 'NodeModulesConfig',
  name: 'n1',
  uid: 'u',
};
const opts = {
  workerImage: 'hwe:1',
  firmwareHostPath: '/var/lib/firmware',
  runAsUser: 0,
  seLinuxType: 'spc_t',
};
const cfg: ModuleConfig = {
  kernelVersion: '6.1.0-18-amd64',
  containerImage: 'reg/m:6.1',
  imagePullPolicy: 'Always',
  insecurePull: false,
  modprobe: { moduleName: 'm', dirName: '/opt' },
};
const entry = {
  name: 'm',
  namespace: 'ns',
  serviceAccountName: 'sa',
  imageRepoSecret: { name: 'pull' },
};

test('worker pod: pinned, never restarted, image unpacked by copying, same pull policy and secret', () => {
  const p = workerPod('n1', entry, cfg, 'load', owner, opts);
  const spec = p.spec as unknown as Spec;
  assert.equal(p.metadata.name, 'kmm-worker-n1-m');
  assert.equal(p.metadata.namespace, 'ns');
  assert.equal(spec.nodeName, 'n1');
  assert.equal(spec.restartPolicy, 'Never');
  assert.equal(spec.serviceAccountName, 'sa');
  assert.deepEqual(spec.imagePullSecrets, [{ name: 'pull' }]);
  assert.equal(spec.initContainers[0]!.image, 'reg/m:6.1');
  assert.equal(spec.initContainers[0]!.imagePullPolicy, 'Always');
  assert.match(spec.initContainers[0]!.command[2]!, /cp -R '\/opt' '\/tmp\/'/);
  assert.deepEqual(spec.containers[0]!.args.slice(0, 5), [
    'kmm',
    'worker',
    'kmod',
    'load',
    '/etc/kmm-worker/config.yaml',
  ]);
  assert.deepEqual(spec.containers[0]!.securityContext.capabilities, { add: ['SYS_MODULE'] });
  assert.equal(spec.containers[0]!.securityContext.privileged, undefined);
  assert.deepEqual(p.metadata.ownerReferences, [owner]);
  assert.deepEqual(podConfig(p), cfg);
  // The worker parses the annotation it is given (strictly: an unknown field would fail it).
  const parsed = parseWorkerConfig(p.metadata.annotations![WORKER_CONFIG_ANNOTATION]!);
  assert.equal(parsed.containerImage, 'reg/m:6.1');
  assert.equal(parsed.modprobe.moduleName, 'm');
});

test('with firmware: privileged, host firmware directory mounted and passed to the worker', () => {
  const p = workerPod(
    'n1',
    entry,
    { ...cfg, modprobe: { ...cfg.modprobe, firmwarePath: '/firmware' } },
    'unload',
    owner,
    opts,
  );
  const spec = p.spec as unknown as Spec;
  assert.equal(spec.containers[0]!.securityContext.privileged, true);
  assert.deepEqual(spec.containers[0]!.args.slice(-2), ['--firmware-path', '/var/lib/firmware']);
  assert.ok(spec.volumes.some((v) => v.hostPath?.path === '/var/lib/firmware'));
  assert.match(spec.initContainers[0]!.command[2]!, /cp -R '\/firmware' '\/tmp\/'/);
});

test('the unpack script copies dirName and firmware into the shared directory, keeping paths', () => {
  const root = mkdtempSync(join(tmpdir(), 'kmm-unpack-'));
  const src = join(root, 'img');
  mkdirSync(join(src, 'opt/lib/modules/6.1.0'), { recursive: true });
  writeFileSync(join(src, 'opt/lib/modules/6.1.0/m.ko'), 'ko');
  mkdirSync(join(src, 'fw/x'), { recursive: true });
  writeFileSync(join(src, 'fw/x/blob.bin'), 'fw');
  const script = unpackScript(
    { ...cfg, modprobe: { moduleName: 'm', dirName: `${src}/opt`, firmwarePath: `${src}/fw` } },
    join(root, 'out'),
  );
  execFileSync('/bin/sh', ['-c', script]);
  assert.ok(existsSync(join(root, 'out', src, 'opt/lib/modules/6.1.0/m.ko')));
  assert.ok(existsSync(join(root, 'out', src, 'fw/x/blob.bin')));
});

test('names and label values stay within Kubernetes limits', () => {
  assert.equal(labelValue('short'), 'short');
  assert.ok(labelValue('x'.repeat(80)).length <= 63);
  assert.notEqual(labelValue('x'.repeat(80)), labelValue('y'.repeat(80)));
  assert.ok(workerPodName('n'.repeat(200), 'm'.repeat(100)).length <= 253);
});

test('failure message: the worker termination message, else the init container, else the pod reason', () => {
  const term = (name: string, message?: string) => ({
    name,
    state: { terminated: { exitCode: 1, message } },
  });
  assert.equal(
    failureMessage({
      metadata: {},
      spec: { nodeName: 'n' },
      status: { containerStatuses: [term('worker', 'Required key not available\n')] },
    }),
    'Required key not available',
  );
  assert.match(
    failureMessage({
      metadata: {},
      spec: { nodeName: 'n' },
      status: { initContainerStatuses: [term('image-extractor', 'cp: not found')] },
    }),
    /unpacking the module image failed: cp: not found/,
  );
  assert.equal(
    failureMessage({ metadata: {}, spec: { nodeName: 'n' }, status: { reason: 'Evicted' } }),
    'Evicted',
  );
});
