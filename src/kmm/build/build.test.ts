import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildArgs,
  labelValue,
  unsignedImageOf,
  usesDtkAuto,
  withTag,
  workObjectName,
} from './common.js';
import { type BuildInput, kanikoArgs, renderKanikoPod } from './kaniko.js';
import { renderOpenShiftBuild } from './openshift.js';

const owner = {
  ownerReference: {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'ModuleBuildSignConfig',
    name: 'kmod',
    uid: 'u-1',
  },
  namespace: 'drivers',
  moduleName: 'kmod',
};
const K = '5.14.0-284.30.1.el9_2.x86_64';
const base: BuildInput = {
  owner,
  image: 'quay.io/org/kmod:5.14',
  kernelVersion: K,
  build: { dockerfileConfigMap: { name: 'kmod-dockerfile' } },
  dockerfile: 'FROM ubi9\n',
  push: true,
};
const forced = [
  `--build-arg=KERNEL_VERSION=${K}`,
  `--build-arg=KERNEL_FULL_VERSION=${K}`,
  '--build-arg=MOD_NAME=kmod',
  '--build-arg=MOD_NAMESPACE=drivers',
];
const head = ['--dockerfile=/workspace/Dockerfile', '--context=dir:///workspace'];

describe('kanikoArgs', () => {
  const cases: { name: string; input: Partial<BuildInput>; want: string[] }[] = [
    {
      name: 'push with the forced arguments',
      input: {},
      want: [...head, '--destination=quay.io/org/kmod:5.14', ...forced],
    },
    { name: 'no push', input: { push: false }, want: [...head, '--no-push', ...forced] },
    {
      name: 'user arguments; forced ones win over a user argument of the same name',
      input: {
        build: {
          dockerfileConfigMap: { name: 'd' },
          buildArgs: [
            { name: 'MOD_NAME', value: 'mine' },
            { name: 'A', value: 'x=y' },
          ],
        },
      },
      want: [
        ...head,
        '--destination=quay.io/org/kmod:5.14',
        '--build-arg=MOD_NAME=kmod',
        '--build-arg=A=x=y',
        `--build-arg=KERNEL_VERSION=${K}`,
        `--build-arg=KERNEL_FULL_VERSION=${K}`,
        '--build-arg=MOD_NAMESPACE=drivers',
      ],
    },
    {
      name: 'DTK_AUTO when resolved',
      input: { dtkImage: 'quay.io/dtk@sha256:abc' },
      want: [
        ...head,
        '--destination=quay.io/org/kmod:5.14',
        ...forced,
        '--build-arg=DTK_AUTO=quay.io/dtk@sha256:abc',
      ],
    },
    {
      name: 'destination TLS and base image TLS are separate flags',
      input: {
        registryTLS: { insecure: true, insecureSkipTLSVerify: true },
        build: {
          dockerfileConfigMap: { name: 'd' },
          baseImageRegistryTLS: { insecure: true, insecureSkipTLSVerify: true },
        },
      },
      want: [
        ...head,
        '--destination=quay.io/org/kmod:5.14',
        ...forced,
        '--insecure',
        '--skip-tls-verify',
        '--insecure-pull',
        '--skip-tls-verify-pull',
      ],
    },
    {
      name: 'base image TLS only',
      input: {
        build: { dockerfileConfigMap: { name: 'd' }, baseImageRegistryTLS: { insecure: true } },
      },
      want: [...head, '--destination=quay.io/org/kmod:5.14', ...forced, '--insecure-pull'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(kanikoArgs({ ...base, ...c.input }), c.want));
  }
});

describe('renderKanikoPod', () => {
  it('mounts the Dockerfile, the build secrets and the push credentials', () => {
    const pod = renderKanikoPod(
      {
        ...base,
        imageRepoSecret: 'pull',
        build: {
          dockerfileConfigMap: { name: 'df' },
          secrets: [{ name: 'token' }, { name: 'ca' }],
        },
      },
      'gcr.io/kaniko-project/executor:latest',
    );
    const c = pod.spec.containers[0]!;
    assert.equal(c.image, 'gcr.io/kaniko-project/executor:latest');
    assert.deepEqual(
      c.volumeMounts?.map((m) => [m.mountPath, m.name]),
      [
        ['/workspace', 'dockerfile'],
        ['/kaniko/.docker', 'registry-auth'],
        ['/run/secrets/token', 'secret-0'],
        ['/run/secrets/ca', 'secret-1'],
      ],
    );
    const vols = Object.fromEntries((pod.spec.volumes ?? []).map((v) => [v.name, v]));
    assert.deepEqual(vols.dockerfile?.configMap, {
      name: 'df',
      items: [{ key: 'dockerfile', path: 'Dockerfile' }],
    });
    assert.deepEqual(vols['registry-auth']?.secret, {
      secretName: 'pull',
      items: [{ key: '.dockerconfigjson', path: 'config.json' }],
    });
    assert.equal(vols['secret-1']?.secret?.secretName, 'ca');
    assert.equal(pod.spec.restartPolicy, 'Never');
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(c.terminationMessagePolicy, 'FallbackToLogsOnError');
    assert.equal(pod.metadata.namespace, 'drivers');
    assert.match(pod.metadata.name!, /^kmod-build-[0-9a-f]{10}$/);
    assert.deepEqual(pod.metadata.ownerReferences, [
      { ...owner.ownerReference, controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(pod.metadata.labels?.['kmm.node.kubernetes.io/pod-type'], 'build');
    assert.equal(pod.metadata.labels?.['kmm.node.kubernetes.io/target-kernel'], K);
    assert.equal(pod.metadata.annotations?.['kmm.node.kubernetes.io/image'], base.image);
  });
  it('uses kanikoParams.tag and merges node selectors', () => {
    const pod = renderKanikoPod(
      {
        ...base,
        nodeSelector: { a: '1', b: '1' },
        build: { ...base.build, kanikoParams: { tag: 'debug' }, selector: { b: '2' } },
      },
      'gcr.io/kaniko-project/executor:v1.9',
    );
    assert.equal(pod.spec.containers[0]!.image, 'gcr.io/kaniko-project/executor:debug');
    assert.deepEqual(pod.spec.nodeSelector, { a: '1', b: '2' });
  });
  it('names a different build differently: an edited Dockerfile gets a new pod', () => {
    const a = renderKanikoPod(base, 'k:1').metadata.name;
    assert.equal(renderKanikoPod({ ...base }, 'k:1').metadata.name, a);
    assert.notEqual(
      renderKanikoPod({ ...base, dockerfile: 'FROM ubi8\n' }, 'k:1').metadata.name,
      a,
    );
    assert.notEqual(renderKanikoPod({ ...base, kernelVersion: '6.1' }, 'k:1').metadata.name, a);
  });
});

describe('renderOpenShiftBuild', () => {
  it('a Docker strategy Build with inline Dockerfile, build volumes and push secret', () => {
    const b = renderOpenShiftBuild({
      ...base,
      imageRepoSecret: 'pull',
      dtkImage: 'dtk:1',
      build: {
        dockerfileConfigMap: { name: 'df' },
        secrets: [{ name: 'token' }],
        selector: { x: 'y' },
      },
    });
    assert.equal(b.apiVersion, 'build.openshift.io/v1');
    assert.equal(b.kind, 'Build');
    assert.equal(b.spec.serviceAccount, 'builder');
    assert.deepEqual(b.spec.source, { type: 'Dockerfile', dockerfile: 'FROM ubi9\n' });
    assert.deepEqual(b.spec.output, {
      to: { kind: 'DockerImage', name: base.image },
      pushSecret: { name: 'pull' },
    });
    const s = b.spec.strategy.dockerStrategy;
    assert.deepEqual(s.pullSecret, { name: 'pull' });
    assert.deepEqual(s.volumes, [
      {
        name: 'token',
        source: { type: 'Secret', secret: { secretName: 'token' } },
        mounts: [{ destinationPath: '/run/secrets/token' }],
      },
    ]);
    assert.deepEqual(s.buildArgs?.at(-1), { name: 'DTK_AUTO', value: 'dtk:1' });
    assert.deepEqual(b.spec.nodeSelector, { x: 'y' });
    assert.match(b.metadata.name!, /^kmod-build-/);
  });
  it('no push: no output', () => {
    assert.deepEqual(renderOpenShiftBuild({ ...base, push: false }).spec.output, {});
  });
});

describe('helpers', () => {
  const dtk: [string, boolean][] = [
    ['ARG DTK_AUTO\nFROM ${DTK_AUTO}\n', true],
    ['FROM $DTK_AUTO as builder\n', true],
    ['FROM ubi9\nRUN echo DTK_AUTOMATIC\n', false],
    ['FROM MY_DTK_AUTO\n', false],
    ['FROM ubi9\n', false],
  ];
  for (const [text, want] of dtk) {
    it(`usesDtkAuto ${JSON.stringify(text)} → ${want}`, () =>
      assert.equal(usesDtkAuto(text), want));
  }
  const unsigned: [string, string][] = [
    ['quay.io/org/kmod:5.14', 'quay.io/org/kmod:5.14_kmm_unsigned'],
    ['127.0.0.1:5000/kmod:v1', '127.0.0.1:5000/kmod:v1_kmm_unsigned'],
    ['127.0.0.1:5000/kmod', '127.0.0.1:5000/kmod:latest_kmm_unsigned'],
  ];
  for (const [image, want] of unsigned) {
    it(`unsignedImageOf ${image}`, () => assert.equal(unsignedImageOf(image), want));
  }
  it('withTag', () => {
    assert.equal(withTag('gcr.io/k/executor:v1', 'debug'), 'gcr.io/k/executor:debug');
    assert.equal(withTag('localhost:5000/executor', 'v2'), 'localhost:5000/executor:v2');
    assert.equal(withTag('r/e@sha256:ab', 'v2'), 'r/e:v2');
  });
  it('workObjectName is a DNS label even for long and odd module names', () => {
    const n = workObjectName('A'.repeat(80) + '.x', 'sign', 'f'.repeat(64));
    assert.ok(n.length <= 63, n);
    assert.match(n, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.ok(n.endsWith('-sign-ffffffffff'));
  });
  it('labelValue', () => {
    assert.equal(labelValue('5.14.0+rt'), '5.14.0_rt');
    assert.ok(labelValue('x'.repeat(100)).length <= 63);
  });
  it('buildArgs keeps user order and appends the forced ones', () => {
    assert.deepEqual(
      buildArgs([{ name: 'KERNEL_FULL_VERSION', value: 'x' }], {
        kernelVersion: '6.1',
        moduleName: 'm',
        namespace: 'n',
      }).map((a) => `${a.name}=${a.value}`),
      ['KERNEL_FULL_VERSION=6.1', 'KERNEL_VERSION=6.1', 'MOD_NAME=m', 'MOD_NAMESPACE=n'],
    );
  });
});
