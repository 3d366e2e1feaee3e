import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManagedClusterModule } from '../../api/index.js';
import {
  clusterKernels,
  kernelClaimValue,
  manifestWork,
  mcmStatus,
  pinnedImage,
  planCluster,
  selectedClusters,
  trimmedModule,
  type ManagedCluster,
  type ManifestWork,
} from './plan.js';

const K1 = '5.14.0-284.30.1.el9_2.x86_64';
const K2 = '6.1.0-18-amd64';
const K3 = '4.18.0-80.el8.x86_64';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function mcm(over: Partial<ManagedClusterModule['spec']> = {}): ManagedClusterModule {
  return {
    apiVersion: 'hub.kmm.sigs.x-k8s.io/v1beta1',
    kind: 'ManagedClusterModule',
    metadata: { name: 'mcm', uid: 'u1' },
    spec: {
      moduleSpec: {
        selector: { gpu: 'true' },
        imageRepoSecret: { name: 'pull' },
        moduleLoader: {
          container: {
            modprobe: { moduleName: 'kmod' },
            build: { dockerfileConfigMap: { name: 'df' } },
            kernelMappings: [
              {
                regexp: '^5\\.',
                containerImage: 'reg.example/kmod:${KERNEL_FULL_VERSION}',
                sign: {
                  keySecret: { name: 'k' },
                  certSecret: { name: 'c' },
                  filesToSign: ['/opt/kmod.ko'],
                },
                inTreeModulesToRemove: ['old'],
              },
              {
                literal: K2,
                containerImage: 'reg.example/kmod-debian:v1',
                registryTLS: { insecure: true },
              },
            ],
          },
        },
      },
      spokeNamespace: 'drivers',
      selector: { env: 'prod' },
      ...over,
    },
  };
}

const cluster = (name: string, labels: Record<string, string>, claim?: string): ManagedCluster => ({
  metadata: { name, labels },
  ...(claim !== undefined
    ? {
        status: {
          clusterClaims: [{ name: 'kernel-versions.kmm.node.kubernetes.io', value: claim }],
        },
      }
    : {}),
});

describe('selectedClusters', () => {
  const cases: [string, Record<string, string>, ManagedCluster[], string[]][] = [
    [
      'every selector label must match',
      { env: 'prod' },
      [cluster('b', { env: 'prod' }), cluster('a', { env: 'prod', x: '1' }), cluster('c', {})],
      ['a', 'b'],
    ],
    [
      'an empty selector selects all',
      {},
      [cluster('a', {}), cluster('b', { env: 'x' })],
      ['a', 'b'],
    ],
    [
      'a cluster being deleted is not selected',
      {},
      [{ metadata: { name: 'a', deletionTimestamp: '2024-01-01T00:00:00Z' } }],
      [],
    ],
  ];
  for (const [name, selector, clusters, want] of cases) {
    it(name, () => {
      const got = selectedClusters(mcm({ selector }), clusters).map((c) => c.metadata.name);
      assert.deepEqual(got, want);
    });
  }
});

describe('clusterKernels and kernelClaimValue', () => {
  it('reads the claim: distinct, sorted, blank lines dropped', () => {
    assert.deepEqual(clusterKernels(cluster('a', {}, `${K2}\n${K1}\n\n${K2}\n`)), [K1, K2]);
  });
  it('is undefined while the cluster has no claim', () => {
    assert.equal(clusterKernels(cluster('a', {})), undefined);
  });
  it('writes kernels sorted, one a line', () => {
    assert.equal(kernelClaimValue([K2, K1, K2, ' ']), `${K1}\n${K2}`);
  });
});

describe('planCluster', () => {
  it('maps each kernel, one MIC image per distinct image, with build and sign', () => {
    const p = planCluster(mcm(), [K2, K1, K3]);
    assert.deepEqual(
      p.mappings.map((m) => [m.kernelVersion, m.containerImage]),
      [
        [K1, `reg.example/kmod:${K1}`],
        [K2, 'reg.example/kmod-debian:v1'],
      ],
    );
    assert.deepEqual(p.noMapping, [K3]);
    assert.equal(p.images.length, 2);
    assert.ok(p.images[0]!.build && p.images[0]!.sign);
    assert.deepEqual(p.images[1]!.registryTLS, { insecure: true });
  });
  it('names the field of an invalid moduleSpec', () => {
    const bad = mcm();
    bad.spec.moduleSpec.moduleLoader!.container.kernelMappings[0]!.regexp = '(';
    assert.match(planCluster(bad, [K1]).invalid ?? '', /^spec\.moduleSpec: .*kernelMappings\[0\]/);
  });
});

describe('trimmedModule', () => {
  const m = mcm();
  const p = planCluster(m, [K1, K2]);
  const digests = new Map([
    [`reg.example/kmod:${K1}`, D1],
    ['reg.example/kmod-debian:v1', D2],
  ]);
  const mod = trimmedModule(m, p, digests);
  const c = mod.spec.moduleLoader!.container;

  it('is the Module for the spoke namespace, build and sign removed', () => {
    assert.equal(mod.kind, 'Module');
    assert.deepEqual(mod.metadata, { name: 'mcm', namespace: 'drivers' });
    assert.equal(c.build, undefined);
    assert.equal(c.sign, undefined);
    assert.deepEqual(mod.spec.selector, { gpu: 'true' });
    assert.deepEqual(mod.spec.imageRepoSecret, { name: 'pull' });
  });
  it('has one literal mapping per kernel, pinned by digest, the rest of the mapping kept', () => {
    assert.deepEqual(c.kernelMappings, [
      { literal: K1, containerImage: `reg.example/kmod@${D1}`, inTreeModulesToRemove: ['old'] },
      {
        literal: K2,
        containerImage: `reg.example/kmod-debian@${D2}`,
        registryTLS: { insecure: true },
      },
    ]);
  });
  it('leaves the MCM untouched', () => {
    assert.ok(m.spec.moduleSpec.moduleLoader!.container.build);
    assert.equal(m.spec.moduleSpec.moduleLoader!.container.kernelMappings.length, 2);
  });
});

describe('pinnedImage', () => {
  const cases: [string, string][] = [
    ['reg.example:5000/a/b:v1', `reg.example:5000/a/b@${D1}`],
    ['busybox', `docker.io/library/busybox@${D1}`],
    [`reg.example/a@${D2}`, `reg.example/a@${D2}`],
  ];
  for (const [image, want] of cases) it(image, () => assert.equal(pinnedImage(image, D1), want));
});

describe('mcmStatus', () => {
  const w = (ns: string, conds: [string, 'True' | 'False'][]): ManifestWork => ({
    ...manifestWork(mcm(), ns, trimmedModule(mcm(), planCluster(mcm(), []), new Map())),
    status: {
      conditions: conds.map(([type, status]) => ({
        type,
        status,
        reason: 'r',
        message: '',
        lastTransitionTime: '2024-01-01T00:00:00Z',
      })),
    },
  });
  it('counts applied and degraded works of selected clusters only', () => {
    assert.deepEqual(
      mcmStatus(
        ['a', 'b', 'c'],
        [
          w('a', [
            ['Applied', 'True'],
            ['Available', 'True'],
          ]),
          w('b', [
            ['Applied', 'True'],
            ['Degraded', 'True'],
          ]),
          w('old', [['Applied', 'True']]),
        ],
      ),
      { numberDesired: 3, numberApplied: 2, numberDegraded: 1 },
    );
  });
  it('names the work after the MCM in the cluster namespace, labelled', () => {
    const mw = w('a', []);
    assert.equal(mw.metadata.name, 'mcm');
    assert.equal(mw.metadata.namespace, 'a');
    assert.equal(mw.metadata.labels?.['hub.kmm.sigs.x-k8s.io/managedclustermodule'], 'mcm');
  });
});
