import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModuleBuildSignSpec } from '../../api/index.js';
import type { KubeObject } from '../../runtime/index.js';
import type { Pod } from '../build/index.js';
import { type WorkApis, type WorkContext, type WorkSettings, renderWork } from './work.js';

type Obj = KubeObject & Record<string, unknown>;
type Fixture = { kind: string; obj: Obj };

/** ResourceClient stand-ins over a fixed set of objects (find and listAll are all work.ts uses). */
function fakeApis(objects: Fixture[]): WorkApis {
  const of = (kind: string) => ({
    find: async (name: string, ns?: string) =>
      objects.find(
        (o) =>
          o.kind === kind &&
          o.obj.metadata.name === name &&
          (ns === undefined || o.obj.metadata.namespace === ns),
      )?.obj,
    listAll: async () => ({
      items: objects.filter((o) => o.kind === kind).map((o) => o.obj),
      resourceVersion: '1',
    }),
  });
  return {
    secrets: of('Secret'),
    configMaps: of('ConfigMap'),
    nodes: of('Node'),
    imageStreams: of('ImageStream'),
  } as unknown as WorkApis;
}

const ns = 'drivers';
const K = '5.14.0-284.el9.x86_64';
const secret = (name: string, data: Record<string, string>) => ({
  kind: 'Secret',
  obj: { metadata: { name, namespace: ns }, data },
});
const cm = (name: string, dockerfile?: string) => ({
  kind: 'ConfigMap',
  obj: { metadata: { name, namespace: ns }, data: dockerfile === undefined ? {} : { dockerfile } },
});
const node = {
  kind: 'Node',
  obj: {
    metadata: { name: 'n1' },
    status: {
      nodeInfo: {
        kernelVersion: K,
        osImage: 'Red Hat Enterprise Linux CoreOS 414.92.202402130420-0 (Plow)',
      },
    },
  },
};
const stream = (tag: string) => ({
  kind: 'ImageStream',
  obj: {
    metadata: { name: 'driver-toolkit', namespace: 'openshift' },
    spec: { tags: [{ name: tag, from: { kind: 'DockerImage', name: 'quay.io/dtk@sha256:1' } }] },
  },
});
const complete: Fixture[] = [
  secret('key', { key: 'a2V5' }),
  secret('cert', { cert: 'Y2VydA==' }),
  secret('pull', { '.dockerconfigjson': 'e30=' }),
  secret('token', { t: 'eA==' }),
  cm('df', 'FROM ubi9\n'),
  cm('dtk', 'ARG DTK_AUTO\nFROM ${DTK_AUTO}\n'),
];

const settings: WorkSettings = { backend: 'kaniko', buildImage: 'kaniko:1', signImage: 'hwe:1' };
const ctx: WorkContext = {
  owner: {
    ownerReference: {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
      kind: 'ModuleBuildSignConfig',
      name: 'm',
      uid: 'u',
    },
    namespace: ns,
    moduleName: 'm',
  },
  imageRepoSecret: 'pull',
  push: true,
};
const image = 'quay.io/org/kmod:1';
const build = (over: Partial<NonNullable<ModuleBuildSignSpec['build']>> = {}) => ({
  image,
  kernelVersion: K,
  action: 'BuildImage' as const,
  build: { dockerfileConfigMap: { name: 'df' }, secrets: [{ name: 'token' }], ...over },
});
const sign = (over: Partial<NonNullable<ModuleBuildSignSpec['sign']>> = {}) => ({
  image,
  kernelVersion: K,
  action: 'SignImage' as const,
  sign: {
    unsignedImage: 'quay.io/org/kmod:unsigned',
    keySecret: { name: 'key' },
    certSecret: { name: 'cert' },
    filesToSign: ['/opt/lib/modules/x/a.ko'],
    ...over,
  },
});

describe('renderWork: problems name the object and the fix', () => {
  const cases: {
    name: string;
    objects?: Fixture[];
    entry: ModuleBuildSignSpec;
    want: RegExp;
  }[] = [
    {
      name: 'missing Dockerfile ConfigMap',
      entry: build({ dockerfileConfigMap: { name: 'nope' } }),
      want: /ConfigMap drivers\/nope \(build.dockerfileConfigMap\) not found; create it with the Dockerfile under data key "dockerfile"/,
    },
    {
      name: 'ConfigMap without the dockerfile key',
      objects: [...complete, cm('empty')],
      entry: build({ dockerfileConfigMap: { name: 'empty' } }),
      want: /ConfigMap drivers\/empty \(build.dockerfileConfigMap\) has no data key "dockerfile"/,
    },
    {
      name: 'missing build secret',
      entry: build({ secrets: [{ name: 'token' }, { name: 'gone' }] }),
      want: /Secret drivers\/gone \(build.secrets\) not found/,
    },
    {
      name: 'missing key Secret',
      entry: sign({ keySecret: { name: 'nokey' } }),
      want: /Secret drivers\/nokey \(sign.keySecret\) not found; create it with the private key under data key "key"/,
    },
    {
      name: 'key Secret without "key"',
      objects: [...complete, secret('wrong', { 'tls.key': 'eA==' })],
      entry: sign({ keySecret: { name: 'wrong' } }),
      want: /Secret drivers\/wrong \(sign.keySecret\) has no data key "key"/,
    },
    {
      name: 'missing cert Secret',
      entry: sign({ certSecret: { name: 'nocert' } }),
      want: /Secret drivers\/nocert \(sign.certSecret\) not found/,
    },
    {
      name: 'no unsigned image and no build',
      entry: sign({ unsignedImage: '' }),
      want: /sign.unsignedImage is not set/,
    },
    {
      name: 'nothing to sign',
      entry: sign({ filesToSign: [] }),
      want: /sign.filesToSign is empty/,
    },
    {
      name: 'DTK_AUTO without a node on the kernel',
      entry: build({ dockerfileConfigMap: { name: 'dtk' } }),
      want: /DTK_AUTO but no node runs kernel 5\.14\.0-284\.el9\.x86_64/,
    },
    {
      name: 'DTK_AUTO without the ImageStream',
      objects: [...complete, node],
      entry: build({ dockerfileConfigMap: { name: 'dtk' } }),
      want: /ImageStream openshift\/driver-toolkit does not exist/,
    },
    {
      name: 'DTK_AUTO without a tag for the node',
      objects: [...complete, node, stream('413.92.1-0')],
      entry: build({ dockerfileConfigMap: { name: 'dtk' } }),
      want: /DTK_AUTO for node n1: .*no tag for OS version 414\.92\.202402130420-0/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await renderWork(fakeApis(c.objects ?? complete), settings, ctx, c.entry);
      assert.equal(r.kind, 'problem');
      assert.match((r as { message: string }).message, c.want);
    });
  }
  it('a missing pull secret', async () => {
    const r = await renderWork(
      fakeApis(complete),
      settings,
      { ...ctx, imageRepoSecret: 'x' },
      build(),
    );
    assert.match(
      (r as { message: string }).message,
      /Secret drivers\/x \(imageRepoSecret\) not found/,
    );
  });
});

describe('renderWork: objects', () => {
  const args = async (objects: Fixture[], entry: ModuleBuildSignSpec) => {
    const r = await renderWork(fakeApis(objects), settings, ctx, entry);
    assert.equal(r.kind, 'pod', JSON.stringify(r));
    return (r as { object: Pod }).object.spec.containers[0]!.args ?? [];
  };
  it('DTK_AUTO from the node osImage', async () => {
    const a = await args(
      [...complete, node, stream('414.92.202402130420-0')],
      build({
        dockerfileConfigMap: { name: 'dtk' },
      }),
    );
    assert.ok(a.includes('--build-arg=DTK_AUTO=quay.io/dtk@sha256:1'), a.join(' '));
  });
  it('a DTK_AUTO build argument is kept and nothing is looked up', async () => {
    const a = await args(
      complete,
      build({
        dockerfileConfigMap: { name: 'dtk' },
        buildArgs: [{ name: 'DTK_AUTO', value: 'quay.io/dtk:next' }],
      }),
    );
    assert.ok(a.includes('--build-arg=DTK_AUTO=quay.io/dtk:next'), a.join(' '));
  });
  it('build then sign: the build pushes the unsigned tag, the sign reads it', async () => {
    const both = { ...build(), sign: sign().sign, registryTLS: { insecure: true } };
    assert.ok((await args(complete, both)).includes(`--destination=${image}_kmm_unsigned`));
    const s = await args(complete, { ...both, action: 'SignImage' });
    assert.ok(s.includes(`--unsigned-image=${image}_kmm_unsigned`));
    assert.ok(s.includes('--insecure-pull') && s.includes('--insecure'));
  });
  it('OpenShift backend renders a Build', async () => {
    const r = await renderWork(
      fakeApis(complete),
      { ...settings, backend: 'openshift' },
      ctx,
      build(),
    );
    assert.equal(r.kind, 'build');
  });
});
