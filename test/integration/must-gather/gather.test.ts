/**
 * `hwe must-gather` against the local cluster holding KMM and NFD objects: the layout, the
 * archive, the pod and namespace selection, and no Secret data anywhere in the bundle.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  Modules,
  NodeFeatureDiscoveries,
  NodeFeatureRules,
  NodeFeatures,
  installCrds,
  type Module,
} from '../../../src/api/index.js';
import {
  ConfigMaps,
  Events,
  Pods,
  ResourceClient,
  Secrets,
  type KubeObject,
  type ResourceType,
} from '../../../src/runtime/index.js';
import { readLayer } from '../../../src/oci/index.js';
import { type CliResult, runHwe } from '../../support/cli.js';
import { testCluster, testNamespace, testNodes, uniqueName } from '../../support/cluster.js';

const cluster = await testCluster();
const client = cluster.client;
await installCrds(client);
const api = <T extends KubeObject>(t: ResourceType<T>) => new ResourceClient<T>(client, t, 'test');
const b64 = (s: string) => Buffer.from(s).toString('base64');

// The bytes that must never appear in the bundle: a private key and a registry password.
const planted = `PLANTED-${randomBytes(12).toString('hex')}`;
const keyPem = `-----BEGIN PRIVATE KEY-----\n${planted}\n-----END PRIVATE KEY-----\n`;
const password = `pw-${planted}`;
const dockerConfig = JSON.stringify({
  auths: { 'registry.example': { auth: b64(`user:${password}`) } },
});

const opNs = await testNamespace(client, 'mg-op');
const modNs = await testNamespace(client, 'mg-mod');
const nfdNs = await testNamespace(client, 'mg-nfd');
const node = uniqueName('mg-node');
await testNodes(client, [{ name: node, kernelVersion: '6.1.0-mg.x86_64' }]);

for (const ns of [opNs, modNs]) {
  await api(Secrets).create({
    metadata: { name: 'signing-key', namespace: ns },
    data: { key: b64(keyPem) },
  } as KubeObject);
  await api(Secrets).create({
    metadata: {
      name: 'repo-pull',
      namespace: ns,
      // kubectl apply copies a Secret into this annotation: it must not leak either.
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': keyPem },
    },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': b64(dockerConfig) },
  } as KubeObject);
}
await api(ConfigMaps).create({
  metadata: { name: 'kmm-operator-manager-config', namespace: opNs },
  data: { 'controller_config.yaml': 'job:\n  gcDelay: 0s\n' },
} as KubeObject);
const pod = (name: string, ns: string, labels: Record<string, string> = {}) =>
  api(Pods).create({
    metadata: { name, namespace: ns, labels },
    spec: { containers: [{ name: 'main', image: 'registry.example/x:1' }] },
  } as KubeObject);
await pod('operator', opNs, { app: 'kmm' });
await pod('kmm-worker-x', modNs, { 'kmm.node.kubernetes.io/module.name': 'drv' });
await pod('unrelated', modNs, { app: 'web' });

const moduleName = uniqueName('drv');
await api(Modules).create({
  metadata: { name: moduleName, namespace: modNs },
  spec: {
    selector: { 'hwe.test/mg': 'true' },
    imageRepoSecret: { name: 'repo-pull' },
    moduleLoader: {
      container: {
        modprobe: { moduleName: 'drv' },
        kernelMappings: [
          {
            regexp: '^.+$',
            containerImage: 'registry.example/drv:${KERNEL_FULL_VERSION}',
            sign: {
              keySecret: { name: 'signing-key' },
              certSecret: { name: 'signing-key' },
              filesToSign: ['/opt/lib/modules/${KERNEL_FULL_VERSION}/drv.ko'],
            },
          },
        ],
      },
    },
  },
});
await api(Events).create({
  metadata: { name: uniqueName('ev'), namespace: modNs },
  involvedObject: { kind: 'Module', name: moduleName, namespace: modNs },
  reason: 'ImageMissing',
  message: 'image registry.example/drv does not exist',
  type: 'Warning',
  lastTimestamp: new Date().toISOString(),
} as KubeObject);
await api(NodeFeatureDiscoveries).create({
  metadata: { name: 'nfd-instance', namespace: nfdNs },
  spec: {},
});
await pod('nfd-master', nfdNs, { app: 'nfd-master' });
await api(NodeFeatures).create({
  metadata: { name: node, namespace: nfdNs, labels: { 'nfd.node.kubernetes.io/node-name': node } },
  spec: { labels: { 'example.com/feature': 'true' } },
});
const ruleName = uniqueName('mg-rule');
await api(NodeFeatureRules).create({
  metadata: { name: ruleName },
  spec: { rules: [{ name: 'r', labels: { x: 'y' }, matchFeatures: [] }] },
});

const work = mkdtempSync(join(tmpdir(), 'hwe-must-gather-'));
after(() => rmSync(work, { recursive: true, force: true }));
const env = { KUBECONFIG: cluster.kubeconfig };

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The archive's files, read back as an image layer (a gzip-compressed tar) is read. */
async function tarEntries(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const e of readLayer(createReadStream(file), () => true)) {
    if (e.type === 'file') out.set(e.path, e.data ?? Buffer.alloc(0));
  }
  return out;
}

describe('hwe must-gather', () => {
  const dest = join(work, 'bundle');
  let run: CliResult;
  let files: string[] = [];
  before(async () => {
    run = await runHwe(['must-gather', '--dest-dir', dest, '--namespace', opNs], { env });
    if (run.code === 0) files = walk(dest).map((f) => relative(dest, f));
  });

  it('writes the bundle and its archive, with progress on stderr', async () => {
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { archive: string; objects: Record<string, number> };
    assert.equal(summary.archive, `${dest}.tar.gz`);
    assert.ok(summary.objects.Module! >= 1 && summary.objects.Node! >= 1, run.stdout);
    assert.match(run.stderr, /must-gather: Module: \d+/);
    assert.match(run.stderr, /must-gather: wrote .*bundle\.tar\.gz/);
    const tarred = await tarEntries(`${dest}.tar.gz`);
    assert.deepEqual([...tarred.keys()].sort(), files.map((f) => `bundle/${f}`).sort());
  });

  it('lays objects out by namespace, group and resource', () => {
    const has = (p: string) => assert.ok(files.includes(p), `${p} in the bundle`);
    has(`namespaces/${modNs}/kmm.sigs.x-k8s.io/modules/${moduleName}.yaml`);
    has(`namespaces/${nfdNs}/nfd.openshift.io/nodefeaturediscoveries/nfd-instance.yaml`);
    has(`namespaces/${nfdNs}/nfd.k8s-sigs.io/nodefeatures/${node}.yaml`);
    has(`cluster-scoped-resources/nfd.k8s-sigs.io/nodefeaturerules/${ruleName}.yaml`);
    has(`namespaces/${opNs}/core/configmaps/kmm-operator-manager-config.yaml`);
    has(`namespaces/${opNs}/core/pods/operator.yaml`);
    // The NodeFeatureDiscovery's namespace is an operator namespace: gathered whole.
    has(`namespaces/${nfdNs}/core/pods/nfd-master.yaml`);
    // In a user's namespace only KMM's pods are taken.
    has(`namespaces/${modNs}/core/pods/kmm-worker-x.yaml`);
    assert.ok(!files.includes(`namespaces/${modNs}/core/pods/unrelated.yaml`));
    // Logs: kwok serves none, so a note stands where the log would be.
    assert.ok(
      files.some((f) =>
        /^namespaces\/[^/]+\/pods\/kmm-worker-x\/main\/main\/logs\/(current\.log|error\.txt)$/.test(
          f,
        ),
      ),
    );
    const mod = parse(
      readFileSync(
        join(dest, `namespaces/${modNs}/kmm.sigs.x-k8s.io/modules/${moduleName}.yaml`),
        'utf8',
      ),
    ) as Module;
    assert.equal(mod.kind, 'Module');
    assert.equal(mod.apiVersion, 'kmm.sigs.x-k8s.io/v1beta1');
    assert.equal(mod.metadata.managedFields, undefined);
    const n = parse(
      readFileSync(join(dest, `cluster-scoped-resources/core/nodes/${node}.yaml`), 'utf8'),
    ) as { status: { nodeInfo: { kernelVersion: string; osImage: string } } };
    assert.equal(n.status.nodeInfo.kernelVersion, '6.1.0-mg.x86_64');
    const events = readFileSync(join(dest, `namespaces/${modNs}/core/events.yaml`), 'utf8');
    assert.match(events, /image registry\.example\/drv does not exist/);
  });

  it('lists Secrets by name and never holds their data', async () => {
    const names = parse(
      readFileSync(join(dest, `namespaces/${modNs}/core/secrets.yaml`), 'utf8'),
    ) as {
      names: string[];
    };
    assert.deepEqual(names.names, ['repo-pull', 'signing-key']);
    const needles = [planted, b64(keyPem), password, b64(`user:${password}`), b64(dockerConfig)];
    const haystacks: [string, Buffer][] = files.map((f) => [f, readFileSync(join(dest, f))]);
    for (const [name, data] of await tarEntries(`${dest}.tar.gz`)) haystacks.push([name, data]);
    for (const [name, data] of haystacks) {
      for (const n of needles) assert.ok(!data.includes(n), `${name} holds secret bytes`);
    }
  });

  it('--since keeps newer events only and names a bad duration', async () => {
    const bad = await runHwe(['must-gather', '--dest-dir', join(work, 'x'), '--since', 'soon'], {
      env,
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since: "soon" is not a positive duration/);
    const old = uniqueName('old');
    await api(Events).create({
      metadata: { name: old, namespace: modNs },
      involvedObject: { kind: 'Module', name: moduleName, namespace: modNs },
      reason: 'ModuleLoaded',
      message: 'an event from last week',
      lastTimestamp: new Date(Date.now() - 7 * 86_400_000).toISOString(),
    } as KubeObject);
    const d2 = join(work, 'since');
    const r = await runHwe(['must-gather', '--dest-dir', d2, '--since', '1h', '--no-archive'], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(`${d2}.tar.gz`));
    const events = readFileSync(join(d2, `namespaces/${modNs}/core/events.yaml`), 'utf8');
    assert.match(events, /does not exist/);
    assert.doesNotMatch(events, /from last week/);
  });
});
