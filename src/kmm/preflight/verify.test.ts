import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Module } from '../../api/index.js';
import { OciError, type ImageExistence, type SecretLike } from '../../oci/index.js';
import { verifyModule, type VerifyDeps } from './verify.js';
import { testModule } from '../../../test/fixtures/kmm/module.js';

const KERNEL = '5.14.0-284.30.1.el9_2.x86_64';

const mod = (container: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
  testModule(
    {
      kernelMappings: [{ regexp: '\\.el9_2\\.', containerImage: 'reg/m:${KERNEL_FULL_VERSION}' }],
      ...container,
    },
    spec,
  );

interface World {
  images?: Record<string, ImageExistence['state']>;
  configMaps?: Record<string, Record<string, string>>;
  secrets?: Record<string, Record<string, string>>;
}

function deps(w: World, seen: { pullSecrets: string[] } = { pullSecrets: [] }): VerifyDeps {
  return {
    configMap: async (ns, name) => w.configMaps?.[`${ns}/${name}`],
    secret: async (ns, name): Promise<SecretLike | undefined> => {
      const data = w.secrets?.[`${ns}/${name}`];
      return data ? { metadata: { name, namespace: ns }, data } : undefined;
    },
    imageExists: async (image, access) => {
      seen.pullSecrets.push(...access.pullSecrets.map((s) => s.metadata?.name ?? ''));
      const state = w.images?.[image] ?? 'NotFound';
      if (state === 'Exists') return { state, digest: 'sha256:00', mediaType: 'x' };
      return {
        state,
        error: new OciError('NotFound', `${state} from the fake registry`),
      };
    },
  };
}

const IMAGE = `reg/m:${KERNEL}`;
const build = { build: { dockerfileConfigMap: { name: 'df' } } };
const sign = (extra: Record<string, unknown> = {}) => ({
  sign: {
    keySecret: { name: 'key' },
    certSecret: { name: 'cert' },
    filesToSign: ['/opt/lib/modules/x/m.ko'],
    ...extra,
  },
});
const signingSecrets = { 'ns/key': { key: 'K' }, 'ns/cert': { cert: 'C' } };

// [case, module, world, pushBuiltImage, dtkImage, status, text in the reason]
const cases: [string, Module, World, boolean, string | undefined, string, string][] = [
  [
    'in-tree driver, device plugin only',
    { ...mod(), spec: { selector: {}, devicePlugin: { container: { image: 'p:1' } } } },
    {},
    false,
    undefined,
    'Success',
    'no moduleLoader',
  ],
  [
    'no mapping for the kernel',
    mod({ kernelMappings: [{ literal: '6.0.0-1', containerImage: 'r/m:1' }] }),
    {},
    false,
    undefined,
    'Failure',
    'no kernel mapping matches kernel',
  ],
  [
    'image present',
    mod(),
    { images: { [IMAGE]: 'Exists' } },
    false,
    undefined,
    'Success',
    `image ${IMAGE} for kernel ${KERNEL} exists`,
  ],
  [
    'image missing, nothing to make it',
    mod(),
    {},
    false,
    undefined,
    'Failure',
    'no build or sign section',
  ],
  [
    'image missing, buildable',
    mod(build),
    { configMaps: { 'ns/df': { dockerfile: 'FROM x' } } },
    false,
    undefined,
    'Success',
    'can be built',
  ],
  [
    'image missing, buildable, push',
    mod(build),
    { configMaps: { 'ns/df': { dockerfile: 'FROM x' } } },
    true,
    undefined,
    'InProgress',
    'being built and pushed',
  ],
  [
    'Dockerfile ConfigMap missing',
    mod(build),
    {},
    false,
    undefined,
    'Failure',
    'missing ConfigMap ns/df',
  ],
  [
    'ConfigMap without the dockerfile key',
    mod(build),
    { configMaps: { 'ns/df': { other: '' } } },
    false,
    undefined,
    'Failure',
    'key "dockerfile"',
  ],
  [
    'DTK_AUTO without a DTK image',
    mod(build),
    { configMaps: { 'ns/df': { dockerfile: 'ARG DTK_AUTO\nFROM ${DTK_AUTO}' } } },
    false,
    undefined,
    'Failure',
    'spec.dtkImage',
  ],
  [
    'DTK_AUTO with the OCP dtkImage',
    mod(build),
    { configMaps: { 'ns/df': { dockerfile: 'ARG DTK_AUTO\nFROM ${DTK_AUTO}' } } },
    false,
    'quay.io/dtk@sha256:1',
    'Success',
    'can be built',
  ],
  [
    'build Secret missing',
    mod({ build: { dockerfileConfigMap: { name: 'df' }, secrets: [{ name: 'tok' }] } }),
    { configMaps: { 'ns/df': { dockerfile: 'FROM x' } } },
    false,
    undefined,
    'Failure',
    'build Secret ns/tok',
  ],
  [
    'built and signed',
    mod({ ...build, ...sign() }),
    { configMaps: { 'ns/df': { dockerfile: 'FROM x' } }, secrets: signingSecrets },
    false,
    undefined,
    'Success',
    'can be built and signed',
  ],
  [
    'signing key Secret missing',
    mod({ ...build, ...sign() }),
    { configMaps: { 'ns/df': { dockerfile: 'FROM x' } }, secrets: { 'ns/cert': { cert: 'C' } } },
    false,
    undefined,
    'Failure',
    'signing Secret ns/key',
  ],
  [
    'certificate Secret without the cert key',
    mod({ ...build, ...sign() }),
    {
      configMaps: { 'ns/df': { dockerfile: 'FROM x' } },
      secrets: { 'ns/key': { key: 'K' }, 'ns/cert': { crt: 'C' } },
    },
    false,
    undefined,
    'Failure',
    'data key "cert"',
  ],
  [
    'sign a prebuilt image',
    mod(sign({ unsignedImage: 'reg/u:${KERNEL_FULL_VERSION}' })),
    { images: { [`reg/u:${KERNEL}`]: 'Exists' }, secrets: signingSecrets },
    false,
    undefined,
    'Success',
    'can be signed',
  ],
  [
    'prebuilt unsigned image missing',
    mod(sign({ unsignedImage: 'reg/u:1' })),
    { secrets: signingSecrets },
    false,
    undefined,
    'Failure',
    'unsigned image reg/u:1',
  ],
  [
    'registry refuses credentials',
    mod(),
    { images: { [IMAGE]: 'Unauthorized' } },
    false,
    undefined,
    'Failure',
    'imageRepoSecret',
  ],
  [
    'registry unreachable',
    mod(),
    { images: { [IMAGE]: 'Unreachable' } },
    false,
    undefined,
    'Failure',
    'checked again',
  ],
  [
    'invalid Module (bad regexp)',
    mod({ kernelMappings: [{ regexp: '(', containerImage: 'r/m:1' }] }),
    {},
    false,
    undefined,
    'Failure',
    'cannot be mapped',
  ],
];

for (const [name, module, world, push, dtkImage, status, text] of cases) {
  test(`verifyModule: ${name}`, async () => {
    const v = await verifyModule(
      { module, kernelVersion: KERNEL, pushBuiltImage: push, ...(dtkImage ? { dtkImage } : {}) },
      deps(world),
    );
    assert.equal(v.status, status, v.reason);
    assert.equal(v.stage, status === 'InProgress' ? 'Image' : 'Done');
    assert.ok(v.reason.includes(text), v.reason);
    assert.equal(v.build !== undefined, status === 'InProgress');
  });
}

test('verifyModule: a missing prebuilt image never stays InProgress', async () => {
  for (const push of [false, true]) {
    const v = await verifyModule(
      { module: mod(), kernelVersion: KERNEL, pushBuiltImage: push },
      deps({}),
    );
    assert.equal(v.status, 'Failure');
    assert.equal(v.recheck, true, 'checked again: the image may be pushed later');
  }
});

test('verifyModule: the image is checked with imageRepoSecret', async () => {
  const seen = { pullSecrets: [] as string[] };
  await verifyModule(
    {
      module: mod({}, { imageRepoSecret: { name: 'pull' } }),
      kernelVersion: KERNEL,
      pushBuiltImage: false,
    },
    deps(
      { images: { [IMAGE]: 'Exists' }, secrets: { 'ns/pull': { '.dockerconfigjson': 'e30=' } } },
      seen,
    ),
  );
  assert.deepEqual(seen.pullSecrets, ['pull']);
});
