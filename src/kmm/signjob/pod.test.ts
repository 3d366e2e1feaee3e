import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SignInput, renderSignPod, signImageArgs } from './pod.js';

const input: SignInput = {
  owner: {
    ownerReference: {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
      kind: 'ModuleBuildSignConfig',
      name: 'm',
      uid: 'u',
    },
    namespace: 'ns',
    moduleName: 'm',
  },
  unsignedImage: 'quay.io/org/kmod:unsigned',
  image: 'quay.io/org/kmod:signed',
  kernelVersion: '6.1',
  sign: {
    keySecret: { name: 'key-secret' },
    certSecret: { name: 'cert-secret' },
    filesToSign: ['/opt/lib/modules/6.1/a.ko', '/opt/lib/modules/6.1/-odd.ko'],
  },
  push: true,
};

describe('signImageArgs', () => {
  it('names the images, the key files and the patterns after --', () => {
    assert.deepEqual(signImageArgs(input), [
      'kmm',
      'sign-image',
      '--unsigned-image=quay.io/org/kmod:unsigned',
      '--image=quay.io/org/kmod:signed',
      '--key=/run/secrets/kmm-sign-key/key',
      '--cert=/run/secrets/kmm-sign-cert/cert',
      '--',
      '/opt/lib/modules/6.1/a.ko',
      '/opt/lib/modules/6.1/-odd.ko',
    ]);
  });
  it('TLS, credentials and no push', () => {
    const a = signImageArgs({
      ...input,
      push: false,
      imageRepoSecret: 'pull',
      unsignedImageRegistryTLS: { insecure: true },
      registryTLS: { insecureSkipTLSVerify: true },
    });
    for (const f of [
      '--registry-auth=/run/secrets/kmm-registry-auth/.dockerconfigjson',
      '--no-push',
      '--insecure-pull',
      '--skip-tls-verify',
    ]) {
      assert.ok(a.indexOf(f) > 1 && a.indexOf(f) < a.indexOf('--'), f);
    }
    assert.ok(!a.includes('--insecure') && !a.includes('--skip-tls-verify-pull'));
  });
});

describe('renderSignPod', () => {
  const pod = renderSignPod({ ...input, imageRepoSecret: 'pull' }, 'quay.io/hwe/hwe:1');
  const c = pod.spec.containers[0]!;
  it('runs hwe from the configured image', () => {
    assert.equal(c.image, 'quay.io/hwe/hwe:1');
    assert.deepEqual(c.command, ['hwe']);
    assert.equal(pod.spec.restartPolicy, 'Never');
    assert.match(pod.metadata.name!, /^m-sign-[0-9a-f]{10}$/);
  });
  it('gives the key only as a file from its Secret volume, never in env', () => {
    assert.equal(c.env, undefined);
    const key = pod.spec.volumes?.find((v) => v.name === 'sign-key');
    assert.deepEqual(key?.secret, {
      secretName: 'key-secret',
      items: [{ key: 'key', path: 'key' }],
      defaultMode: 0o440,
    });
    assert.deepEqual(
      c.volumeMounts?.map((m) => [m.name, m.mountPath, m.readOnly]),
      [
        ['sign-key', '/run/secrets/kmm-sign-key', true],
        ['sign-cert', '/run/secrets/kmm-sign-cert', true],
        ['registry-auth', '/run/secrets/kmm-registry-auth', true],
      ],
    );
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
  });
  it('changes name when the work changes', () => {
    const other = renderSignPod(
      { ...input, imageRepoSecret: 'pull', image: 'quay.io/org/kmod:2' },
      'quay.io/hwe/hwe:1',
    );
    assert.notEqual(other.metadata.name, pod.metadata.name);
  });
});
