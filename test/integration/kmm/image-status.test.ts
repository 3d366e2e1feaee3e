/**
 * The Module's status when its image is the problem, with the real image controllers and a
 * real registry: a missing image (ImageMissing condition and event), a build in progress
 * (ImagePending), a failed build (BuildFailed naming the pod, the ModuleBuildSignConfig and the
 * error line of the log), a sign that cannot start (SignFailed naming the missing Secret).
 * kwok runs no containers, so the test ends the build pod as the kubelet would.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { installCrds, Modules, type Module } from '../../../src/api/index.js';
import type { Pod } from '../../../src/kmm/build/index.js';
import {
  ConfigMaps,
  Events,
  Pods,
  ResourceClient,
  type Condition,
  type KubeObject,
} from '../../../src/runtime/index.js';
import {
  eventually,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import { testRegistry } from '../../support/registry.js';
import { kmmTestManager } from '../../support/kmm.js';

const reg = await testRegistry();
const cluster = await testCluster();
const client = cluster.client;
await installCrds(client);
const opNs = await testNamespace(client, 'kmm-imgst-op');
const ns = await testNamespace(client, 'kmm-imgst');

const KERNEL = '6.1.0-imgstatus.x86_64';
const sel = uniqueName('kmm-imgst');
const modules = new ResourceClient<Module>(client, Modules, 'test');
const pods = new ResourceClient<Pod>(client, Pods, 'test');
const configMaps = new ResourceClient(client, ConfigMaps, 'test');
const events = new ResourceClient<
  KubeObject & { reason: string; message: string; type: string; involvedObject: { name?: string } }
>(client, Events, 'test');

// No node has the build-node label: build pods stay unscheduled, and the test ends them.
const mgr = await kmmTestManager(client, {
  name: 'kmm-imgst',
  operatorNamespace: opNs,
  namespace: ns,
  nodeSelector: { 'hwe.test/build-node': sel },
});
before(async () => {
  await testNodes(client, [
    { name: `${sel}-node`, labels: { [sel]: 'yes' }, kernelVersion: KERNEL },
  ]);
  await mgr.start();
});
after(() => mgr.stop());

function module(name: string, mapping: Record<string, unknown>): Module {
  return {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name, namespace: ns },
    spec: {
      selector: { [sel]: 'yes' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'kmm_imgst' },
          kernelMappings: [
            {
              literal: KERNEL,
              containerImage: `${reg.host}/kmm/${name}:\${KERNEL_FULL_VERSION}`,
              registryTLS: { insecure: true },
              ...mapping,
            },
          ],
        },
      },
    },
  };
}

type Conditions = Record<'Ready' | 'Progressing' | 'Degraded', Condition>;
async function conditions(name: string): Promise<Conditions & { module: Module }> {
  const m = await modules.get(name, ns);
  const list = (m.status?.conditions ?? []) as Condition[];
  const by = Object.fromEntries(list.map((c) => [c.type, c])) as Conditions;
  return { ...by, module: m };
}

/** Waits until Degraded has this reason; returns every condition then. */
async function degradedBy(name: string, reason: string) {
  return eventually(
    `${name}: Degraded=${reason}`,
    async () => {
      const c = await conditions(name);
      return c.Degraded?.reason === reason ? c : undefined;
    },
    90_000,
  );
}

test('a missing image without build or sign: ImageMissing condition and event, counts agreeing', async () => {
  const name = uniqueName('missing');
  await modules.create(module(name, {}));
  const c = await degradedBy(name, 'ImageMissing');
  const image = `${reg.host}/kmm/${name}:${KERNEL}`;
  assert.equal(c.Degraded.status, 'True');
  assert.ok(c.Degraded.message.includes(`image ${image} for kernel ${KERNEL} does not exist`));
  assert.match(c.Degraded.message, /push it, or add build or sign to its kernel mapping/);
  assert.deepEqual([c.Ready.status, c.Ready.reason], ['False', 'ImageMissing']);
  assert.deepEqual([c.Progressing.status, c.Progressing.reason], ['False', 'ImageMissing']);
  assert.match(c.Progressing.message, /nothing in progress: loaded on 0 of 1 node/);
  assert.equal(c.module.status?.moduleLoader?.desiredNumber, 1);
  assert.equal(c.module.status?.moduleLoader?.availableNumber, 0);
  const ev = await eventually('an ImageMissing event on the Module', async () =>
    (await events.list({ namespace: ns })).items.find(
      (e) => e.reason === 'ImageMissing' && e.involvedObject.name === name,
    ),
  );
  assert.equal(ev.type, 'Warning');
  assert.ok(ev.message.includes(image), ev.message);
  await modules.delete(name, { namespace: ns });
});

test('a build in progress, then failed: ImagePending, then BuildFailed with its pod and error line', async () => {
  const name = uniqueName('broken');
  await configMaps.create({
    metadata: { name: `${name}-dockerfile`, namespace: ns },
    data: { dockerfile: 'FORM scratch\n' },
  } as KubeObject);
  await modules.create(
    module(name, { build: { dockerfileConfigMap: { name: `${name}-dockerfile` } } }),
  );
  const pending = await eventually(
    'Progressing=ImagePending while building',
    async () => {
      const c = await conditions(name);
      return c.Progressing?.reason === 'ImagePending' && /NeedsBuilding/.test(c.Progressing.message)
        ? c
        : undefined;
    },
    90_000,
  );
  assert.equal(pending.Ready.reason, 'ImagePending');
  const pod = await eventually(
    'the build pod',
    async () =>
      (
        await pods.list({
          namespace: ns,
          labelSelector: `kmm.node.kubernetes.io/module.name=${name},kmm.node.kubernetes.io/pod-type=build`,
        })
      ).items[0],
    60_000,
  );
  const log = [
    'INFO[0000] Retrieving image manifest scratch',
    'error building image: parsing dockerfile: unknown instruction: FORM',
  ].join('\n');
  await pods.patchStatus(
    pod.metadata.name!,
    {
      status: {
        phase: 'Failed',
        containerStatuses: [
          {
            name: pod.spec.containers[0]!.name,
            image: pod.spec.containers[0]!.image,
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              terminated: {
                exitCode: 1,
                reason: 'Error',
                message: log,
                finishedAt: new Date().toISOString(),
              },
            },
          },
        ],
      },
    },
    { namespace: ns },
  );
  const c = await eventually(
    'Degraded=BuildFailed with its reason',
    async () => {
      const c = await conditions(name);
      return c.Degraded?.reason === 'BuildFailed' && /unknown instruction/.test(c.Degraded.message)
        ? c
        : undefined;
    },
    90_000,
  );
  const m = c.Degraded.message;
  assert.ok(m.includes(`in pod ${pod.metadata.name}`), m);
  assert.ok(m.includes(`ConfigMap ${name}-dockerfile`), m);
  assert.ok(m.includes(`(ModuleBuildSignConfig ${name})`), m);
  assert.match(m, /… error building image: parsing dockerfile: unknown instruction: FORM/);
  assert.doesNotMatch(m, /push it, or add build or sign/);
  assert.deepEqual([c.Ready.status, c.Ready.reason], ['False', 'BuildFailed']);
  assert.deepEqual([c.Progressing.status, c.Progressing.reason], ['False', 'BuildFailed']);
  await modules.delete(name, { namespace: ns });
});

test('a sign that cannot start: SignFailed names the missing Secret', async () => {
  const name = uniqueName('nokey');
  await modules.create(
    module(name, {
      sign: {
        unsignedImage: `${reg.host}/kmm/${name}-unsigned:1`,
        unsignedImageRegistryTLS: { insecure: true },
        keySecret: { name: `${name}-key` },
        certSecret: { name: `${name}-cert` },
        filesToSign: [`/opt/lib/modules/${KERNEL}/kmm_imgst.ko`],
      },
    }),
  );
  const c = await degradedBy(name, 'SignFailed');
  assert.ok(c.Degraded.message.includes(`Secret ${ns}/${name}-key`), c.Degraded.message);
  assert.ok(c.Degraded.message.includes(`(ModuleBuildSignConfig ${name})`), c.Degraded.message);
  assert.deepEqual([c.Ready.status, c.Ready.reason], ['False', 'SignFailed']);
  await modules.delete(name, { namespace: ns });
});
