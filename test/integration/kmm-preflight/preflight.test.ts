/**
 * Preflight on the real control plane, against a real registry: every Module ends in Success
 * or Failure with the right reason — mapping missing, image present, image missing but
 * buildable, image missing and not buildable — and pushBuiltImage goes through a
 * ModuleImagesConfig whose outcome becomes the verdict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  installCrds,
  ModuleImagesConfigs,
  type ModuleImagesConfig,
} from '../../../src/api/index.js';
import { RegistryClient } from '../../../src/oci/index.js';
import {
  Manager,
  ResourceClient,
  silentLogger,
  type KubeObject,
} from '../../../src/runtime/index.js';
import { preflightMicName, setupPreflightControllers } from '../../../src/kmm/preflight/index.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  uniqueName,
} from '../../support/cluster.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';

const reg = await testRegistry();
const cluster = await testCluster();
const client = cluster.client;
await installCrds(client);
const ns = await testNamespace(client, 'kmm-preflight');

const KERNEL = '5.14.0-284.30.1.el9_2.x86_64';
const registry = new RegistryClient({ registry: reg.host, tls: reg.tls });
await pushTestImage(registry, 'kmod-present', KERNEL, {
  layers: [[{ path: `opt/lib/modules/${KERNEL}/present.ko`, data: Buffer.from('ko') }]],
});

type Json = Record<string, unknown>;
const post = (path: string, body: Json) => client.request<Json>(path, { method: 'POST', body });
const MODULES = `/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${ns}/modules`;

async function module(name: string, container: Json): Promise<void> {
  await post(MODULES, {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name, namespace: ns },
    spec: {
      selector: { 'hwe.test/none': ns },
      moduleLoader: {
        container: {
          modprobe: { moduleName: name.replace(/-/g, '_') },
          registryTLS: { insecure: true },
          ...container,
        },
      },
    },
  });
}
const image = (repo: string) => `${reg.host}/${repo}:\${KERNEL_FULL_VERSION}`;

await post(`/api/v1/namespaces/${ns}/configmaps`, {
  metadata: { name: 'dockerfile' },
  data: {
    dockerfile: 'FROM scratch\nARG KERNEL_VERSION\nCOPY m.ko /opt/lib/modules/${KERNEL_VERSION}/',
  },
});
await post(`/api/v1/namespaces/${ns}/configmaps`, {
  metadata: { name: 'dockerfile-dtk' },
  data: { dockerfile: 'ARG DTK_AUTO\nFROM ${DTK_AUTO} as builder\nRUN make\n' },
});
await module('mapping-missing', {
  kernelMappings: [{ literal: '6.0.15-300.fc37.x86_64', containerImage: image('kmod-any') }],
});
await module('present', {
  kernelMappings: [{ regexp: '\\.el9_2\\.', containerImage: image('kmod-present') }],
});
await module('buildable', {
  kernelMappings: [{ regexp: '^5\\.', containerImage: image('kmod-buildable') }],
  build: { dockerfileConfigMap: { name: 'dockerfile' } },
});
await module('missing', {
  kernelMappings: [{ regexp: '.', containerImage: image('kmod-missing') }],
});
await module('needs-dtk', {
  kernelMappings: [{ regexp: '.', containerImage: image('kmod-dtk') }],
  build: { dockerfileConfigMap: { name: 'dockerfile-dtk' } },
});

const mgr = new Manager({ client, name: 'kmm-preflight-test', log: silentLogger });
setupPreflightControllers(mgr, { namespace: ns, recheckMs: 1000, registryTimeoutMs: 10_000 });
await mgr.start();
onCleanup(() => mgr.stop());

interface ModuleStatus {
  name: string;
  namespace: string;
  verificationStatus: string;
  verificationStage: string;
  statusReason: string;
  lastTransitionTime: string;
}
type Pv = KubeObject & { status?: { modules?: ModuleStatus[] } };

async function preflight(kind: 'PreflightValidation' | 'PreflightValidationOCP', spec: Json) {
  const name = uniqueName('pfv');
  const plural =
    kind === 'PreflightValidation' ? 'preflightvalidations' : 'preflightvalidationsocp';
  const path = `/apis/kmm.sigs.x-k8s.io/v1beta2/${plural}`;
  await post(path, { apiVersion: 'kmm.sigs.x-k8s.io/v1beta2', kind, metadata: { name }, spec });
  onCleanup(() => client.request(`${path}/${name}`, { method: 'DELETE' }));
  return { name, get: () => client.request<Pv>(`${path}/${name}`) };
}

/** Waits until every listed Module has a final verdict; returns the statuses by Module name. */
async function settled(get: () => Promise<Pv>, names: string[], done = ['Success', 'Failure']) {
  return eventually(
    `verdicts for ${names.join(', ')}`,
    async () => {
      const by = new Map(((await get()).status?.modules ?? []).map((m) => [m.name, m]));
      return names.every((n) => done.includes(by.get(n)?.verificationStatus ?? '')) && by;
    },
    60_000,
  );
}

const ALL = ['mapping-missing', 'present', 'buildable', 'missing', 'needs-dtk'];

test('PreflightValidation: each Module ends in Success or Failure with its reason', async () => {
  const pv = await preflight('PreflightValidation', { kernelVersion: KERNEL });
  const by = await settled(pv.get, ALL);
  const expect: Record<string, [string, string]> = {
    'mapping-missing': ['Failure', `no kernel mapping matches kernel ${KERNEL}`],
    present: ['Success', `image ${reg.host}/kmod-present:${KERNEL} for kernel ${KERNEL} exists`],
    buildable: ['Success', 'does not exist; it can be built'],
    missing: ['Failure', 'no build or sign section'],
    'needs-dtk': ['Failure', 'spec.dtkImage'],
  };
  for (const [name, [status, reason]] of Object.entries(expect)) {
    const s = by.get(name)!;
    assert.equal(s.verificationStatus, status, `${name}: ${s.statusReason}`);
    assert.equal(s.verificationStage, 'Done');
    assert.equal(s.namespace, ns);
    assert.ok(s.statusReason.includes(reason), `${name}: ${s.statusReason}`);
    assert.ok(!Number.isNaN(Date.parse(s.lastTransitionTime)));
  }
});

test("PreflightValidationOCP: the release's dtkImage makes a DTK_AUTO build possible", async () => {
  const pv = await preflight('PreflightValidationOCP', {
    kernelVersion: KERNEL,
    dtkImage: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:0123',
  });
  const by = await settled(pv.get, ['needs-dtk', 'present']);
  assert.equal(
    by.get('needs-dtk')!.verificationStatus,
    'Success',
    by.get('needs-dtk')!.statusReason,
  );
  assert.equal(by.get('present')!.verificationStatus, 'Success');
});

test('a missing image that is pushed later turns the Failure into Success', async () => {
  await module('late', { kernelMappings: [{ regexp: '.', containerImage: image('kmod-late') }] });
  const pv = await preflight('PreflightValidation', { kernelVersion: KERNEL });
  const first = await settled(pv.get, ['late']);
  assert.equal(first.get('late')!.verificationStatus, 'Failure');
  await pushTestImage(registry, 'kmod-late', KERNEL, {
    layers: [[{ path: `opt/lib/modules/${KERNEL}/late.ko`, data: Buffer.from('ko') }]],
  });
  await eventually(
    'the pushed image to be found',
    async () => {
      const s = (await pv.get()).status?.modules?.find((m) => m.name === 'late');
      return s?.verificationStatus === 'Success';
    },
    60_000,
  );
  // A deleted Module leaves the status.
  await client.request(`${MODULES}/late`, { method: 'DELETE' });
  await eventually('the deleted Module to leave the status', async () => {
    const mods = (await pv.get()).status?.modules ?? [];
    return mods.length > 0 && !mods.some((m) => m.name === 'late');
  });
});

test('pushBuiltImage: the build goes through an owned ModuleImagesConfig and its outcome decides', async () => {
  const pv = await preflight('PreflightValidation', {
    kernelVersion: KERNEL,
    pushBuiltImage: true,
  });
  const inProgress = await settled(pv.get, ['buildable'], ['InProgress']);
  const s = inProgress.get('buildable')!;
  assert.equal(s.verificationStage, 'Image');
  const mics = new ResourceClient<ModuleImagesConfig>(client, ModuleImagesConfigs);
  const micName = preflightMicName('buildable', 'PreflightValidation', pv.name);
  const mic = await mics.get(micName, ns);
  assert.equal(mic.spec.pushBuiltImage, true);
  assert.equal(mic.spec.images?.[0]?.image, `${reg.host}/kmod-buildable:${KERNEL}`);
  assert.equal(mic.spec.images?.[0]?.build?.dockerfileConfigMap.name, 'dockerfile');
  assert.equal(mic.metadata.ownerReferences?.[0]?.name, pv.name);
  assert.equal(mic.metadata.labels?.['kmm.node.kubernetes.io/module.name'], 'buildable');
  // A missing image with nothing to build it from is not waited for, pushBuiltImage or not.
  const missing = (await pv.get()).status?.modules?.find((m) => m.name === 'missing');
  assert.equal(missing?.verificationStatus, 'Failure');
  // The operator's image controllers report the build's result in the MIC status.
  await mics.patchStatus(
    micName,
    { status: { imagesStates: [{ image: mic.spec.images[0].image, status: 'Exists' }] } },
    { namespace: ns },
  );
  const done = await settled(pv.get, ['buildable']);
  assert.equal(done.get('buildable')!.verificationStatus, 'Success');
  assert.ok(done.get('buildable')!.statusReason.includes('was built and pushed'));
});

test('pushBuiltImage: a failed build is a Failure that names the ModuleBuildSignConfig', async () => {
  const pv = await preflight('PreflightValidation', {
    kernelVersion: KERNEL,
    pushBuiltImage: true,
  });
  await settled(pv.get, ['buildable'], ['InProgress']);
  const mics = new ResourceClient<ModuleImagesConfig>(client, ModuleImagesConfigs);
  const micName = preflightMicName('buildable', 'PreflightValidation', pv.name);
  const mic = await eventually('the MIC', () => mics.find(micName, ns));
  await mics.patchStatus(
    micName,
    { status: { imagesStates: [{ image: mic.spec.images![0]!.image, status: 'DoesNotExist' }] } },
    { namespace: ns },
  );
  const done = await settled(pv.get, ['buildable']);
  assert.equal(done.get('buildable')!.verificationStatus, 'Failure');
  assert.ok(done.get('buildable')!.statusReason.includes(`ModuleBuildSignConfig ${ns}/${micName}`));
});
