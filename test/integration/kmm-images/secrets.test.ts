/**
 * Secrets stay secret: a private key and a registry password are planted in Secrets; the KMM
 * operator (Module, node config and image controllers, logging at debug level) signs an image,
 * builds and signs another, and fails to sign a third with a broken key; the test plays the
 * build and sign pods (kwok runs no containers) with `hwe kmm sign-image` at debug level, then
 * runs must-gather. The planted bytes must appear in none of: logs, events, the objects
 * (status, annotations, every field), the images pushed (the signature aside, which holds only
 * the certificate) and the must-gather bundle. Then more programs meet the Secrets: the KMM
 * webhook (debug level) admits and refuses Modules naming them, and nfd-worker and nfd-master run
 * at -v 4 in their namespace, the worker with the password and the key in its environment and
 * the master with a NodeFeatureRule naming the Secrets; none of them prints the planted bytes.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import {
  ALL_RESOURCES,
  ModuleBuildSignConfigs,
  ModuleImagesConfigs,
  Modules,
  NodeModulesConfigs,
  installCrds,
  type Module,
} from '../../../src/api/index.js';
import type { Pod } from '../../../src/kmm/build/index.js';
import { RegistryClient, parseReference, resolveImage } from '../../../src/oci/index.js';
import {
  kmmWebhookConfiguration,
  startKmmWebhook,
  type ValidatingWebhookConfiguration,
} from '../../../src/kmm/webhook/index.js';
import {
  ConfigMaps,
  Events,
  Pods,
  ResourceClient,
  Secrets,
  ValidatingWebhookConfigurations,
  createLogger,
  type KubeObject,
  type ResourceType,
} from '../../../src/runtime/index.js';
import { type CliResult, runHwe } from '../../support/cli.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import { finishPodAsKubelet, kmmTestManager, runSignPodProgram } from '../../support/kmm.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';
import { hostFixture } from '../../fixtures/hosts/index.js';
import { runMasterProgram, stopChild } from '../nfd-master/program.js';
import { NO_POD, workerArgs } from '../nfd-worker/worker-process.js';
import { makeKeyPair, makeModule } from '../../fixtures/signing/fixtures.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const planted = randomBytes(12).toString('hex');
const user = { username: 'kmm-pusher', password: `pw-${planted}` };
const reg = await testRegistry({ auth: 'htpasswd', users: [user] });
const cluster = await testCluster();
const { client } = cluster;
await installCrds(client, ALL_RESOURCES);
const ns = await testNamespace(client, 'kmm-secrets');
const opNs = await testNamespace(client, 'kmm-secrets-op');
const work = mkdtempSync(join(tmpdir(), 'kmm-secrets-'));
onCleanup(async () => rmSync(work, { recursive: true, force: true }));

const keys = await makeKeyPair(work, 'planted', { cn: 'hwe planted key' });
const keyPem = readFileSync(keys.key, 'utf8');
// A key the signer cannot read, whose body is planted too: the failing signing.
const brokenKey = `-----BEGIN PRIVATE KEY-----\nQlJPS0VO${b64(`broken-${planted}`)}\n-----END PRIVATE KEY-----\n`;
const dockerConfig = JSON.stringify({
  auths: { [reg.host]: { auth: b64(`${user.username}:${user.password}`) } },
});

/** Every form in which the planted secrets could leak. */
const needles: { what: string; bytes: Buffer }[] = [
  { what: 'registry password', bytes: Buffer.from(user.password) },
  {
    what: 'registry auth (base64 user:password)',
    bytes: Buffer.from(b64(`${user.username}:${user.password}`)),
  },
  { what: 'the dockerconfigjson, base64', bytes: Buffer.from(b64(dockerConfig).slice(0, 48)) },
  {
    what: 'private key (DER)',
    bytes: createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' }).subarray(-48),
  },
  { what: 'the key Secret value', bytes: Buffer.from(b64(keyPem).slice(40, 100)) },
  { what: 'the broken key', bytes: Buffer.from(`broken-${planted}`) },
  { what: 'the broken key, base64', bytes: Buffer.from(b64(`broken-${planted}`)) },
  ...keyPem
    .split('\n')
    .filter((l) => l.length >= 40 && !l.startsWith('-----'))
    .map((l, i) => ({ what: `private key PEM line ${i + 2}`, bytes: Buffer.from(l) })),
];

/** The needles found in `data`, named. */
function leaks(where: string, data: string | Buffer): string[] {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return needles.filter((n) => buf.includes(n.bytes)).map((n) => `${where}: ${n.what}`);
}

const api = <T extends KubeObject>(t: ResourceType<T>) => new ResourceClient<T>(client, t, 'test');
const pods = api(Pods as ResourceType<Pod>);
const secrets = api(Secrets);
await secrets.create({
  metadata: { name: 'signing-key', namespace: ns },
  data: { key: b64(keyPem) },
} as KubeObject);
await secrets.create({
  metadata: { name: 'broken-key', namespace: ns },
  data: { key: b64(brokenKey) },
} as KubeObject);
await secrets.create({
  metadata: { name: 'signing-cert', namespace: ns },
  data: { cert: b64(readFileSync(keys.certDer)) },
} as KubeObject);
await secrets.create({
  metadata: { name: 'repo-pull', namespace: ns },
  type: 'kubernetes.io/dockerconfigjson',
  data: { '.dockerconfigjson': b64(dockerConfig) },
} as KubeObject);

const KERNEL = '6.1.0-secrets.x86_64';
const push = new RegistryClient({ registry: reg.host, tls: reg.tls, auth: user });
after(() => push.close());
const ko = readFileSync(await makeModule(work, 'kmm_ci', { vermagic: `${KERNEL} SMP mod_unload` }));
const koPath = `opt/lib/modules/${KERNEL}/kmm_ci.ko`;
const moduleImage = (repo: string, tag: string) =>
  pushTestImage(push, repo, tag, { layers: [[{ path: koPath, data: ko }]] });
await moduleImage('vendor/kmod', 'unsigned');

const NO_NODE = { 'hwe.test/build-node': uniqueName('none') };
const node = uniqueName('secrets-node');
await testNodes(client, [
  { name: node, kernelVersion: KERNEL, labels: { 'hwe.test/secrets': 'yes' } },
]);

const logs: string[] = [];
const mgr = await kmmTestManager(client, {
  name: 'kmm-secrets-test',
  operatorNamespace: opNs,
  namespace: ns,
  nodeSelector: NO_NODE,
  images: { retryMs: 2_000 },
  log: createLogger({ name: 'kmm', level: 'debug', write: (l) => void logs.push(l) }),
});
before(() => mgr.start());
after(() => mgr.stop());

const runs: CliResult[] = [];
const debug = { HWE_LOG_LEVEL: 'debug' };

async function createModule(name: string, mapping: Record<string, unknown>): Promise<void> {
  await api(Modules).create({
    metadata: { name, namespace: ns },
    spec: {
      selector: { 'hwe.test/secrets': 'yes' },
      imageRepoSecret: { name: 'repo-pull' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'kmm_ci' },
          kernelMappings: [{ literal: KERNEL, registryTLS: { insecure: true }, ...mapping }],
        },
      },
    },
  } as unknown as Module);
}

const sign = (keySecret: string) => ({
  unsignedImage: `${reg.host}/vendor/kmod:unsigned`,
  unsignedImageRegistryTLS: { insecure: true },
  keySecret: { name: keySecret },
  certSecret: { name: 'signing-cert' },
  filesToSign: [`/${koPath}`],
});

async function podOf(module: string, type: 'build' | 'sign'): Promise<Pod> {
  return eventually(
    `${type} pod of ${module}`,
    async () =>
      (
        await pods.list({
          namespace: ns,
          labelSelector: `kmm.node.kubernetes.io/module.name=${module},kmm.node.kubernetes.io/pod-type=${type}`,
        })
      ).items.find((p) => !p.status?.phase || p.status.phase === 'Pending'),
    90_000,
  );
}

/** Plays a sign pod: runs its program at debug level, then reports its end with the log tail. */
async function playSign(module: string): Promise<CliResult> {
  const pod = await podOf(module, 'sign');
  const r = await runSignPodProgram(secrets, pod, work, debug);
  runs.push(r);
  // FallbackToLogsOnError: the kubelet puts the log's tail in the termination message.
  await finishPodAsKubelet(pods, pod, r.code === 0, r.code === 0 ? '' : r.stderr.slice(-2048));
  return r;
}

async function eventNamed(reason: string, module: string) {
  return eventually(
    `${reason} on ${module}`,
    async () =>
      (
        await api(
          Events as ResourceType<
            KubeObject & { reason?: string; involvedObject?: { name?: string } }
          >,
        ).list({ namespace: ns })
      ).items.find((e) => e.reason === reason && e.involvedObject?.name === module),
    90_000,
  );
}

const signed = uniqueName('signed');
const built = uniqueName('built');
const failing = uniqueName('failing');

describe('planted secrets', () => {
  before(async () => {
    // 1. A signing.
    await createModule(signed, {
      containerImage: `${reg.host}/kmm/${signed}:${KERNEL}`,
      sign: sign('signing-key'),
    });
    const r1 = await playSign(signed);
    assert.equal(r1.code, 0, r1.stderr);
    await eventNamed('SignSucceeded', signed);

    // 2. A build, then its signing: the build pod's part is the unsigned image it pushes.
    await api(ConfigMaps).create({
      metadata: { name: `${built}-dockerfile`, namespace: ns },
      data: { dockerfile: 'FROM scratch\nCOPY kmm_ci.ko /opt/\n' },
    } as KubeObject);
    const builtImage = `${reg.host}/kmm/${built}:${KERNEL}`;
    await createModule(built, {
      containerImage: builtImage,
      build: { dockerfileConfigMap: { name: `${built}-dockerfile` } },
      sign: sign('signing-key'),
    });
    const build = await podOf(built, 'build');
    const ref = parseReference(`${builtImage}_kmm_unsigned`);
    await moduleImage(ref.repository, ref.tag!);
    await finishPodAsKubelet(pods, build, true);
    const r2 = await playSign(built);
    assert.equal(r2.code, 0, r2.stderr);
    await eventNamed('SignSucceeded', built);

    // 3. A signing that fails on the broken key.
    await createModule(failing, {
      containerImage: `${reg.host}/kmm/${failing}:${KERNEL}`,
      sign: sign('broken-key'),
    });
    const r3 = await playSign(failing);
    assert.equal(r3.code, 1, r3.stderr);
    await eventNamed('SignFailed', failing);
  });

  it('are in no log of the operator or the signer, at debug level', () => {
    // The scan finds each secret where it is.
    assert.ok(leaks('probe', keyPem).length >= 3, 'the PEM lines');
    assert.ok(leaks('probe', readFileSync(keys.key)).length >= 3);
    assert.ok(leaks('probe', b64(dockerConfig)).length >= 1, 'the Secret value');
    assert.ok(leaks('probe', brokenKey).length >= 1, 'the broken key');
    assert.ok(
      logs.some((l) => l.includes('"level":"debug"')),
      'the operator logged at debug',
    );
    // sign-image has no debug lines: it prints its result (stdout) or its error (stderr).
    assert.ok(
      runs.every((r) => r.stdout.length + r.stderr.length > 0),
      'the signer reported',
    );
    const found = [
      ...leaks('operator log', logs.join('')),
      ...runs.flatMap((r, i) => [
        ...leaks(`signer ${i} stdout`, r.stdout),
        ...leaks(`signer ${i} stderr`, r.stderr),
      ]),
    ];
    assert.deepEqual(found, []);
  });

  it('are in no event and no object: status, annotations, every field', async () => {
    const found: string[] = [];
    for (const [what, type] of [
      ['Event', Events],
      ['Module', Modules],
      ['ModuleImagesConfig', ModuleImagesConfigs],
      ['ModuleBuildSignConfig', ModuleBuildSignConfigs],
      ['Pod', Pods],
      ['ConfigMap', ConfigMaps],
    ] as const) {
      for (const n of [ns, opNs]) {
        const items = (await api(type as ResourceType<KubeObject>).list({ namespace: n })).items;
        found.push(...leaks(`${what}s in ${n}`, JSON.stringify(items)));
      }
    }
    const nmcs = (await api(NodeModulesConfigs).list()).items;
    found.push(...leaks('NodeModulesConfigs', JSON.stringify(nmcs)));
    assert.deepEqual(found, []);
  });

  it('are in no image pushed, the signature holding only the certificate', async () => {
    const found: string[] = [];
    let blobs = 0;
    for (const image of [
      `${reg.host}/kmm/${signed}:${KERNEL}`,
      `${reg.host}/kmm/${built}:${KERNEL}`,
      `${reg.host}/kmm/${built}:${KERNEL}_kmm_unsigned`,
    ]) {
      const resolved = await resolveImage(push, parseReference(image));
      const repo = parseReference(image).repository;
      found.push(...leaks(`${image} manifest`, JSON.stringify(resolved.manifest)));
      for (const d of [resolved.manifest.config, ...resolved.manifest.layers]) {
        const blob = await push.getBlob(repo, d.digest);
        blobs++;
        found.push(
          ...leaks(`${image} blob ${d.digest}`, blob[0] === 0x1f ? gunzipSync(blob) : blob),
        );
      }
    }
    assert.ok(blobs >= 6, `${blobs} blobs read`);
    assert.deepEqual(found, []);
    // Nothing was pushed for the failed signing.
    await assert.rejects(
      resolveImage(push, parseReference(`${reg.host}/kmm/${failing}:${KERNEL}`)),
    );
  });

  it('are in no file of the must-gather bundle', async () => {
    const dest = join(work, 'must-gather');
    const r = await runHwe(['must-gather', '--dest-dir', dest, '--namespace', opNs], {
      env: { KUBECONFIG: cluster.kubeconfig, ...debug },
    });
    assert.equal(r.code, 0, r.stderr);
    const found = [
      ...leaks('must-gather stdout', r.stdout),
      ...leaks('must-gather stderr', r.stderr),
    ];
    let files = 0;
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) walk(p);
        else {
          files++;
          found.push(...leaks(p.slice(dest.length + 1), readFileSync(p)));
        }
      }
    };
    walk(dest);
    found.push(...leaks('must-gather archive', gunzipSync(readFileSync(`${dest}.tar.gz`))));
    const bundle = readdirSync(dest, { recursive: true }).join('\n');
    assert.match(bundle, new RegExp(signed), 'the bundle holds the Modules');
    assert.ok(files > 5, `${files} files`);
    assert.deepEqual(found, []);
  });
});

describe('planted secrets, more programs', () => {
  it('are in no log or answer of the KMM webhook admitting Modules that name them', async () => {
    const labels = { 'hwe.test/kmm-secrets-webhook': uniqueName('wh') };
    const vwcs = api(
      ValidatingWebhookConfigurations,
    ) as ResourceClient<ValidatingWebhookConfiguration>;
    const vwcName = uniqueName('hwe-test-kmm-secrets-webhook');
    await vwcs.create(
      kmmWebhookConfiguration({
        name: vwcName,
        target: { url: 'https://127.0.0.1:1' },
        objectSelector: { matchLabels: labels },
      }),
    );
    onCleanup(() => vwcs.deleteIfExists(vwcName));
    const hookLogs: string[] = [];
    const hook = await startKmmWebhook({
      client,
      host: '127.0.0.1',
      port: 0,
      certificates: {
        mode: 'self',
        certDir: mkdtempSync(join(work, 'webhook-')),
        ipAddresses: ['127.0.0.1'],
        dnsNames: [],
        secretNamespace: opNs,
        secretName: 'kmm-secrets-webhook-cert',
        webhookConfigurationName: vwcName,
      },
      log: createLogger({
        name: 'kmm-webhook',
        level: 'debug',
        write: (l) => void hookLogs.push(l),
      }),
    });
    onCleanup(() => hook.stop());
    const vwc = await vwcs.get(vwcName);
    for (const w of vwc.webhooks) {
      const cc = w['clientConfig'] as { url: string };
      cc.url = cc.url.replace('https://127.0.0.1:1', `https://127.0.0.1:${hook.port}`);
    }
    await vwcs.update(vwc);

    const module = (name: string, mapping: Record<string, unknown>) =>
      ({
        metadata: { name, namespace: ns, labels },
        spec: {
          // No node matches: the operator has nothing to do for these.
          selector: NO_NODE,
          imageRepoSecret: { name: 'repo-pull' },
          moduleLoader: {
            container: {
              modprobe: { moduleName: 'kmm_ci' },
              kernelMappings: [
                {
                  containerImage: `${reg.host}/kmm/webhook:${KERNEL}`,
                  sign: sign('signing-key'),
                  ...mapping,
                },
              ],
            },
          },
        },
      }) as unknown as Module;
    // The apiserver may call the webhook before it has the new CA: retry until admitted.
    await eventually(
      'a Module naming the Secrets admitted through the webhook',
      async () => {
        try {
          return await api(Modules).create(module(uniqueName('wh-ok'), { literal: KERNEL }));
        } catch {
          return undefined;
        }
      },
      90_000,
    );
    let refusal = '';
    try {
      await api(Modules).create(
        // A regexp that does not compile: only the webhook's code can tell.
        module(uniqueName('wh-bad'), { regexp: '^6[.', sign: sign('broken-key') }),
      );
    } catch (e) {
      refusal = (e as Error).message;
    }
    assert.match(refusal, /denied the request.*regexp/s, 'the webhook refused the Module');
    assert.ok(hookLogs.length > 0, 'the webhook logged');
    assert.deepEqual(
      [...leaks('webhook log', hookLogs.join('')), ...leaks('webhook refusal', refusal)],
      [],
    );
  });

  it('are in no output of nfd-worker and nfd-master at -v 4 in their namespace', async () => {
    const id = uniqueName('planted');
    // nfd-worker, once, with the password and the key in its environment.
    const worker = await runHwe(
      [
        'nfd',
        'worker',
        ...workerArgs(
          {
            hostRoot: hostFixture('intel-rhcos'),
            node,
            namespace: ns,
            kubeconfig: cluster.kubeconfig,
          },
          '-oneshot',
          '-v',
          '4',
        ),
      ],
      { env: { ...NO_POD, REGISTRY_PASSWORD: user.password, SIGNING_KEY: keyPem } },
    );
    assert.equal(worker.code, 0, worker.stderr);
    assert.match(worker.stderr, /NodeFeature .*: created/);

    // A NodeFeature only this test's rule matches, and the rule, which names the Secrets.
    await client.request(`/apis/nfd.k8s-sigs.io/v1alpha1/namespaces/${ns}/nodefeatures`, {
      method: 'POST',
      body: {
        apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
        kind: 'NodeFeature',
        metadata: {
          name: `${node}-planted`,
          namespace: ns,
          labels: { 'nfd.node.kubernetes.io/node-name': node },
        },
        spec: { features: { attributes: { 'hwe.test.secrets': { elements: { run: id } } } } },
      },
    });
    const rule = uniqueName('signing-key-rule');
    await client.request('/apis/nfd.k8s-sigs.io/v1alpha1/nodefeaturerules', {
      method: 'POST',
      body: {
        apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
        kind: 'NodeFeatureRule',
        metadata: { name: rule },
        spec: {
          rules: [
            {
              name: 'signing-key',
              labels: { [`${id}-key-secret`]: 'signing-key', [`${id}-pull-secret`]: 'repo-pull' },
              matchFeatures: [
                {
                  feature: 'hwe.test.secrets',
                  matchExpressions: { run: { op: 'In', value: [id] } },
                },
              ],
            },
          ],
        },
      },
    });
    onCleanup(() =>
      client
        .request(`/apis/nfd.k8s-sigs.io/v1alpha1/nodefeaturerules/${rule}`, { method: 'DELETE' })
        .then(() => undefined),
    );

    // nfd-master, publishing nothing (other files' masters own the Nodes), -v 4.
    const master = runMasterProgram(['-v', '4', '-no-publish', '-instance', id], {
      kubeconfig: cluster.kubeconfig,
      namespace: ns,
    });
    await eventually(
      'nfd-master computed the rule for the node',
      async () => master.log().includes(`${id}-key-secret`) || undefined,
      90_000,
    );
    await stopChild(master);
    assert.deepEqual(
      [
        ...leaks('nfd-worker stdout', worker.stdout),
        ...leaks('nfd-worker stderr', worker.stderr),
        ...leaks('nfd-master log', master.log()),
      ],
      [],
    );
  });
});
