/**
 * The image controllers against the real control plane and a real registry (Debian's
 * docker-registry with htpasswd auth, reached with the Module's imageRepoSecret).
 *
 * kwok runs no containers, so this file stands in for the two programs a build or sign pod
 * would run, and then reports the pod's end as the kubelet would (status phase and the
 * container's termination):
 * - the signing pod: the test runs the very program the pod runs — `hwe kmm sign-image` of this
 *   build, as a child process, with the pod's own arguments and its Secret volumes written out
 *   as files at the mount paths (under a temporary root);
 * - the kaniko pod: the test pushes the image the build would have produced to the pod's
 *   --destination.
 * Build and sign pods get a node selector no node has, so that no kwok node ever runs them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ALL_RESOURCES,
  Builds,
  ImageStreams,
  ModuleBuildSignConfigs,
  ModuleImagesConfigs,
  Modules,
  installCrds,
  type ModuleImageSpec,
} from '../../../src/api/index.js';
import type { OpenShiftBuild, Pod } from '../../../src/kmm/build/index.js';
import { setupImageControllers } from '../../../src/kmm/images/index.js';
import {
  RegistryClient,
  extractFiles,
  parseReference,
  resolveImage,
} from '../../../src/oci/index.js';
import {
  ConfigMaps,
  Events,
  Manager,
  Pods,
  ResourceClient,
  Secrets,
  ownerReference,
  silentLogger,
  type KubeObject,
  type ResourceType,
} from '../../../src/runtime/index.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';
import { finishPodAsKubelet, runSignPodProgram } from '../../support/kmm.js';
import { makeKeyPair, makeModule, tool } from '../../fixtures/signing/fixtures.js';

const user = { username: 'kmm', password: 'kmm-secret-pw' };
const reg = await testRegistry({ auth: 'htpasswd', users: [user] });
const cluster = await testCluster();
const client = cluster.client;
await installCrds(client, ALL_RESOURCES);
const ns = await testNamespace(client, 'kmm-img');

const work = mkdtempSync(join(tmpdir(), 'kmm-images-'));
onCleanup(async () => rmSync(work, { recursive: true, force: true }));
const keys = await makeKeyPair(work, 'kmm', { cn: 'hwe kmm images test' });
const keyPem = readFileSync(keys.key, 'utf8');

const api = <T extends KubeObject>(t: ResourceType<T>) => new ResourceClient<T>(client, t, 'test');
const pods = api(Pods as ResourceType<Pod>);
const mics = api(ModuleImagesConfigs);
const mbscs = api(ModuleBuildSignConfigs);
const modules = api(Modules);
const secrets = api(Secrets);
const configMaps = api(ConfigMaps);
const events = api(
  Events as ResourceType<
    KubeObject & {
      reason?: string;
      message?: string;
      type?: string;
      involvedObject?: { name?: string; kind?: string };
    }
  >,
);

const push = new RegistryClient({ registry: reg.host, tls: reg.tls, auth: user });
after(() => push.close());

const KERNEL = '6.1.0-kmmimg.x86_64';
const NO_NODE = { 'hwe.test/build-node': uniqueName('none') };
const DTK_STREAM = { namespace: ns, name: 'driver-toolkit' };

// Secrets: the signing key pair and the registry credentials.
const dockerConfig = JSON.stringify({
  auths: {
    [reg.host]: { auth: Buffer.from(`${user.username}:${user.password}`).toString('base64') },
  },
});
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
await secrets.create({
  metadata: { name: 'signing-key', namespace: ns },
  data: { key: b64(readFileSync(keys.key)) },
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
await secrets.create({
  metadata: { name: 'build-token', namespace: ns },
  data: { token: b64('t0ken') },
} as KubeObject);

// The unsigned module image, as a vendor would push it.
const ko = await makeModule(work, 'kmm_ci', { vermagic: `${KERNEL} SMP mod_unload` });
const koPath = `opt/lib/modules/${KERNEL}/kmm_ci.ko`;
async function pushModuleImage(repo: string, tag: string) {
  await pushTestImage(push, repo, tag, {
    layers: [
      [{ path: 'etc/os-release', data: Buffer.from('ID=test\n') }],
      [{ path: koPath, data: readFileSync(ko) }],
    ],
  });
}
await pushModuleImage('vendor/kmm-ci', 'unsigned');

const mgr = new Manager({ client, name: 'kmm-images-test', log: silentLogger });
await setupImageControllers(mgr, {
  namespace: ns,
  signImage: 'registry.example/hwe/hwe:test',
  buildImage: 'registry.example/kaniko/executor:v1.23.2',
  buildBackend: 'kaniko',
  nodeSelector: NO_NODE,
  gcDelayMs: 0,
  retryMs: 2_000,
  dtkImageStream: DTK_STREAM,
});
before(() => mgr.start());
after(() => mgr.stop());

/** A Module and its MIC, as the Module controller writes them. */
async function moduleWithImages(name: string, images: ModuleImageSpec[], pullSecret = 'repo-pull') {
  const mod = await modules.create({
    metadata: { name, namespace: ns },
    spec: {
      selector: { 'hwe.test/module': name },
      imageRepoSecret: { name: 'repo-pull' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'kmm_ci' },
          kernelMappings: [{ literal: KERNEL, containerImage: images[0]!.image }],
        },
      },
    },
  });
  const mic = await mics.create({
    metadata: { name, namespace: ns, ownerReferences: [ownerReference(mod, { controller: true })] },
    spec: { images, imageRepoSecret: { name: pullSecret }, imagePullPolicy: 'IfNotPresent' },
  });
  return { mod, mic };
}

/** A Module whose one image is built from a Dockerfile ConfigMap of its own. */
async function moduleWithBuild(prefix: string, dockerfile: string) {
  const name = uniqueName(prefix);
  const image = `${reg.host}/kmm/${name}:${KERNEL}`;
  await configMaps.create({
    metadata: { name: `${name}-dockerfile`, namespace: ns },
    data: { dockerfile },
  } as KubeObject);
  await moduleWithImages(name, [
    {
      image,
      kernelVersion: KERNEL,
      build: { dockerfileConfigMap: { name: `${name}-dockerfile` } },
      registryTLS: { insecure: true },
    },
  ]);
  return { name, image };
}

const stateOf = async (name: string, image: string) =>
  (await mics.get(name, ns)).status?.imagesStates?.find((s) => s.image === image)?.status;

async function waitState(name: string, image: string, state: string) {
  return eventually(
    `${name}: ${image} ${state}`,
    async () => (await stateOf(name, image)) === state,
    60_000,
  );
}

async function podsOf(module: string, type: 'build' | 'sign'): Promise<Pod[]> {
  const list = await pods.list({
    namespace: ns,
    labelSelector: `kmm.node.kubernetes.io/module.name=${module},kmm.node.kubernetes.io/pod-type=${type}`,
  });
  return list.items;
}

async function onePod(module: string, type: 'build' | 'sign'): Promise<Pod> {
  return eventually(
    `${type} pod of ${module}`,
    async () => {
      const p = await podsOf(module, type);
      return p.length === 1 ? p[0] : undefined;
    },
    60_000,
  );
}

const finishPod = (pod: Pod, ok: boolean, message = '') =>
  finishPodAsKubelet(pods, pod, ok, message);
const runSignPod = (pod: Pod) => runSignPodProgram(secrets, pod, work);

/** The signed module in an image, checked with modinfo. */
async function modinfoOfImage(image: string) {
  const ref = parseReference(image);
  const resolved = await resolveImage(push, ref);
  const files = await extractFiles(push, resolved, [koPath]);
  const data = files.get(koPath)?.data;
  assert.ok(data, `${koPath} in ${image}`);
  const file = join(work, `${ref.tag}.ko`);
  writeFileSync(file, data);
  return {
    signer: (await tool('modinfo', ['-F', 'signer', file])).trim(),
    hash: (await tool('modinfo', ['-F', 'sig_hashalgo', file])).trim(),
  };
}

async function eventsOf(name: string) {
  const list = await events.list({ namespace: ns });
  return list.items.filter(
    (e) => e.involvedObject?.name === name && e.involvedObject.kind === 'Module',
  );
}

async function waitEvent(module: string, reason: string, re: RegExp) {
  return eventually(
    `${reason} event on Module ${module}`,
    async () =>
      (await eventsOf(module)).find((e) => e.reason === reason && re.test(e.message ?? '')),
    60_000,
  );
}

const signSpec = (unsignedImage: string) => ({
  unsignedImage,
  unsignedImageRegistryTLS: { insecure: true },
  keySecret: { name: 'signing-key' },
  certSecret: { name: 'signing-cert' },
  filesToSign: [`/opt/lib/modules/${KERNEL}/*.ko`],
});

describe('ModuleImagesConfig with sign.unsignedImage', () => {
  it('signs the prebuilt image in a pod that holds the key only as a Secret volume', async () => {
    const name = uniqueName('signed');
    const image = `${reg.host}/kmm/${name}:${KERNEL}`;
    const spec: ModuleImageSpec = {
      image,
      kernelVersion: KERNEL,
      sign: signSpec(`${reg.host}/vendor/kmm-ci:unsigned`),
      registryTLS: { insecure: true },
    };
    // The same image for a second kernel: one check, one state, one sign.
    await moduleWithImages(name, [spec, { ...spec, kernelVersion: `${KERNEL}-other` }]);
    await waitState(name, image, 'NeedsSigning');
    const pod = await onePod(name, 'sign');
    const mic = await mics.get(name, ns);
    assert.equal(mic.status?.imagesStates?.length, 1, 'one state per distinct image');

    // The key reaches the pod only as a file from its Secret.
    const text = JSON.stringify(pod);
    assert.ok(!text.includes(b64(readFileSync(keys.key))) && !text.includes('PRIVATE KEY'));
    const c = pod.spec.containers[0]!;
    assert.equal(c.env, undefined);
    assert.ok(c.args?.includes('--key=/run/secrets/kmm-sign-key/key'));
    assert.ok(c.args?.includes(`--unsigned-image=${reg.host}/vendor/kmm-ci:unsigned`));
    assert.ok(c.args?.includes(`--image=${image}`));
    assert.ok(c.args?.includes('--insecure') && c.args.includes('--insecure-pull'));
    assert.deepEqual(pod.spec.nodeSelector, NO_NODE);
    assert.equal(pod.metadata.ownerReferences?.[0]?.kind, 'ModuleBuildSignConfig');

    const r = await runSignPod(pod);
    assert.equal(r.code, 0, r.stderr);
    const keyBody = keyPem.split('\n')[1]!;
    assert.ok(!r.stdout.includes(keyBody) && !r.stderr.includes(keyBody), 'no key in output');
    assert.equal((JSON.parse(r.stdout) as { signed: unknown[] }).signed.length, 1);
    await finishPod(pod, true);

    await waitState(name, image, 'Exists');
    assert.deepEqual(await modinfoOfImage(image), {
      signer: 'hwe kmm images test',
      hash: 'sha256',
    });
    const mbsc = await mbscs.get(name, ns);
    assert.deepEqual(mbsc.status?.images, [{ image, action: 'SignImage', status: 'Success' }]);
    await waitEvent(name, 'SignSucceeded', new RegExp(`signing of ${reEscape(image)}`));
    const all = await events.list({ namespace: ns });
    assert.ok(!JSON.stringify(all.items).includes(keyBody), 'no key in any event');
    // job.gcDelay 0: the finished pod is collected.
    await eventually('sign pod collected', async () => (await podsOf(name, 'sign')).length === 0);
  });

  it('reports a missing key Secret by name, then signs once it is created', async () => {
    const name = uniqueName('nokey');
    const image = `${reg.host}/kmm/${name}:${KERNEL}`;
    const sign = {
      ...signSpec(`${reg.host}/vendor/kmm-ci:unsigned`),
      keySecret: { name: `${name}-key` },
    };
    await moduleWithImages(name, [
      { image, kernelVersion: KERNEL, sign, registryTLS: { insecure: true } },
    ]);
    const ev = await waitEvent(
      name,
      'SignFailed',
      new RegExp(`Secret ${ns}/${name}-key \\(sign.keySecret\\) not found`),
    );
    assert.equal(ev.type, 'Warning');
    await eventually(
      'MBSC Failure',
      async () => (await mbscs.find(name, ns))?.status?.images?.[0]?.status === 'Failure',
    );
    await waitState(name, image, 'DoesNotExist');
    assert.equal((await podsOf(name, 'sign')).length, 0);

    await secrets.create({
      metadata: { name: `${name}-key`, namespace: ns },
      data: { key: b64(readFileSync(keys.key)) },
    } as KubeObject);
    const pod = await onePod(name, 'sign');
    await waitState(name, image, 'NeedsSigning');
    assert.equal((await runSignPod(pod)).code, 0);
    await finishPod(pod, true);
    await waitState(name, image, 'Exists');
  });

  it('reports a check it cannot make (pull Secret missing, credentials refused) without a state', async () => {
    const name = uniqueName('nopull');
    const image = `${reg.host}/vendor/kmm-ci:unsigned`;
    await moduleWithImages(
      name,
      [{ image, kernelVersion: KERNEL, registryTLS: { insecure: true } }],
      `${name}-pull`,
    );
    const ev = await waitEvent(
      name,
      'ImageCheckFailed',
      new RegExp(`Secret ${ns}/${name}-pull \\(imageRepoSecret\\) not found`),
    );
    assert.equal(ev.type, 'Warning');
    assert.equal(await stateOf(name, image), undefined);

    // A pull secret the registry refuses: still no state, and the message says which Secret.
    await secrets.create({
      metadata: { name: `${name}-pull`, namespace: ns },
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': b64(
          JSON.stringify({ auths: { [reg.host]: { auth: b64('kmm:wrong-password') } } }),
        ),
      },
    } as KubeObject);
    await waitEvent(
      name,
      'ImageCheckFailed',
      new RegExp(`check that Secret ${ns}/${name}-pull \\(imageRepoSecret\\) can pull it`),
    );
    assert.equal(await stateOf(name, image), undefined);
  });

  it('reports an image that exists as Exists without building or signing', async () => {
    const name = uniqueName('exists');
    const image = `${reg.host}/vendor/kmm-ci:unsigned`;
    await moduleWithImages(name, [
      { image, kernelVersion: KERNEL, sign: signSpec(image), registryTLS: { insecure: true } },
    ]);
    await waitState(name, image, 'Exists');
    assert.equal(await mbscs.find(name, ns), undefined);
  });
});

describe('ModuleImagesConfig with build', () => {
  it('builds with kaniko (forced args, DTK_AUTO, secrets, TLS), then signs', async () => {
    const name = uniqueName('built');
    const image = `${reg.host}/kmm/${name}:${KERNEL}`;
    // A node running the kernel, whose osImage names its Driver Toolkit tag.
    const node = uniqueName('kmmimg-node');
    const osVersion = `999.99.${Date.now()}-0`;
    await testNodes(client, [
      {
        name: node,
        kernelVersion: KERNEL,
        osImage: `Red Hat Enterprise Linux CoreOS ${osVersion} (Ootpa)`,
      },
    ]);
    const dtk = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'d'.repeat(64)}`;
    await api(ImageStreams).create({
      metadata: { name: DTK_STREAM.name, namespace: ns },
      spec: { tags: [{ name: osVersion, from: { kind: 'DockerImage', name: dtk } }] },
    } as KubeObject);
    await configMaps.create({
      metadata: { name: `${name}-dockerfile`, namespace: ns },
      data: {
        dockerfile:
          'ARG DTK_AUTO\nFROM ${DTK_AUTO}\nARG KERNEL_VERSION\nRUN make KVER=${KERNEL_VERSION}\n',
      },
    } as KubeObject);
    await moduleWithImages(name, [
      {
        image,
        kernelVersion: KERNEL,
        build: {
          dockerfileConfigMap: { name: `${name}-dockerfile` },
          buildArgs: [
            { name: 'KERNEL_VERSION', value: 'overridden' },
            { name: 'EXTRA', value: '1' },
          ],
          secrets: [{ name: 'build-token' }],
          baseImageRegistryTLS: { insecureSkipTLSVerify: true },
        },
        sign: signSpec('ignored-when-building:v1'),
        registryTLS: { insecure: true },
      },
    ]);
    await waitState(name, image, 'NeedsBuilding');
    const build = await onePod(name, 'build');
    const c = build.spec.containers[0]!;
    const unsigned = `${image}_kmm_unsigned`;
    assert.equal(c.image, 'registry.example/kaniko/executor:v1.23.2');
    assert.deepEqual(c.args, [
      '--dockerfile=/workspace/Dockerfile',
      '--context=dir:///workspace',
      `--destination=${unsigned}`,
      `--build-arg=KERNEL_VERSION=${KERNEL}`,
      '--build-arg=EXTRA=1',
      `--build-arg=KERNEL_FULL_VERSION=${KERNEL}`,
      `--build-arg=MOD_NAME=${name}`,
      `--build-arg=MOD_NAMESPACE=${ns}`,
      `--build-arg=DTK_AUTO=${dtk}`,
      '--insecure',
      '--skip-tls-verify-pull',
    ]);
    const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
    assert.ok(
      mounts['/run/secrets/build-token'] && mounts['/kaniko/.docker'] && mounts['/workspace'],
    );

    // A kaniko image that cannot be pulled is said so, on the Module.
    await pods.patchStatus(
      build.metadata.name!,
      {
        status: {
          phase: 'Pending',
          containerStatuses: [
            {
              name: c.name,
              image: c.image,
              imageID: '',
              ready: false,
              restartCount: 0,
              state: {
                waiting: {
                  reason: 'ImagePullBackOff',
                  message: `Back-off pulling image "${c.image}"`,
                },
              },
            },
          ],
        },
      },
      { namespace: ns },
    );
    await waitEvent(
      name,
      'BuildPending',
      /cannot start: ImagePullBackOff: Back-off pulling image "registry\.example\/kaniko/,
    );

    // kaniko's part: the built, unsigned image appears at --destination.
    const dest = parseReference(unsigned);
    await pushModuleImage(dest.repository, dest.tag!);
    await finishPod(build, true);

    await waitState(name, image, 'NeedsSigning');
    const sign = await onePod(name, 'sign');
    assert.ok(sign.spec.containers[0]!.args?.includes(`--unsigned-image=${unsigned}`));
    assert.equal((await runSignPod(sign)).code, 0);
    await finishPod(sign, true);
    await waitState(name, image, 'Exists');
    assert.equal((await modinfoOfImage(image)).signer, 'hwe kmm images test');
    await waitEvent(name, 'BuildSucceeded', /build of/);
  });

  it('reports a broken Dockerfile by ConfigMap with the build log, without rebuilding; the trigger retries', async () => {
    const { name, image } = await moduleWithBuild('broken', 'FORM scratch\n');
    const build = await onePod(name, 'build');
    await finishPod(
      build,
      false,
      'error building image: parsing dockerfile: unknown instruction: FORM',
    );
    const ev = await waitEvent(
      name,
      'BuildFailed',
      new RegExp(`ConfigMap ${name}-dockerfile.*unknown instruction: FORM`),
    );
    assert.equal(ev.type, 'Warning');
    await waitState(name, image, 'DoesNotExist');
    const mbsc = await mbscs.get(name, ns);
    assert.deepEqual(mbsc.status?.images, [{ image, action: 'BuildImage', status: 'Failure' }]);
    // The failed pod stays (its log), and no second build starts by itself.
    const after1 = await podsOf(name, 'build');
    assert.deepEqual(
      after1.map((p) => p.metadata.uid),
      [build.metadata.uid],
    );

    // Bumping the rebuild trigger starts over.
    await mics.patch(name, { spec: { imageRebuildTriggerGeneration: 1 } }, { namespace: ns });
    await eventually(
      'a new build pod',
      async () => {
        const p = await podsOf(name, 'build');
        return p.length === 1 && p[0]!.metadata.uid !== build.metadata.uid;
      },
      60_000,
    );
    await waitState(name, image, 'NeedsBuilding');
  });
});

describe('a build or sign pod that succeeded without pushing', () => {
  it('is a BuildFailed naming the missing image, and no rebuild starts', async () => {
    const { name, image } = await moduleWithBuild('nopush', 'FROM scratch\n');
    const build = await onePod(name, 'build');
    // The pod says it succeeded, but nothing reached --destination.
    await finishPod(build, true);
    const ev = await waitEvent(
      name,
      'BuildFailed',
      new RegExp(
        `pod ${build.metadata.name} succeeded but the registry has no image at ${reEscape(image)}`,
      ),
    );
    assert.equal(ev.type, 'Warning');
    await waitState(name, image, 'DoesNotExist');
    const mbsc = await mbscs.get(name, ns);
    assert.deepEqual(mbsc.status?.images, [{ image, action: 'BuildImage', status: 'Failure' }]);
    assert.ok(
      !(await eventsOf(name)).some((e) => e.reason === 'BuildSucceeded'),
      'no BuildSucceeded event',
    );
    // The pod is kept as the diagnosis (gcDelay 0 would have collected a real success), and no
    // second build starts by itself.
    const left = await podsOf(name, 'build');
    assert.deepEqual(
      left.map((p) => p.metadata.uid),
      [build.metadata.uid],
    );
  });

  it('is a SignFailed when the signing pod pushed nothing', async () => {
    const name = uniqueName('nosign');
    const image = `${reg.host}/kmm/${name}:${KERNEL}`;
    await moduleWithImages(name, [
      {
        image,
        kernelVersion: KERNEL,
        sign: signSpec(`${reg.host}/vendor/kmm-ci:unsigned`),
        registryTLS: { insecure: true },
      },
    ]);
    const sign = await onePod(name, 'sign');
    await finishPod(sign, true);
    await waitEvent(
      name,
      'SignFailed',
      new RegExp(`pod ${sign.metadata.name} succeeded but the registry has no image at`),
    );
    await waitState(name, image, 'DoesNotExist');
    assert.deepEqual((await mbscs.get(name, ns)).status?.images, [
      { image, action: 'SignImage', status: 'Failure' },
    ]);
  });
});

describe('OpenShift builds', () => {
  it('discovers build.openshift.io and creates a Build; Complete makes the image Exist', async () => {
    const ns2 = await testNamespace(client, 'kmm-ocp');
    const mgr2 = new Manager({ client, name: 'kmm-images-ocp', log: silentLogger });
    const { backend } = await setupImageControllers(mgr2, {
      namespace: ns2,
      signImage: 'registry.example/hwe/hwe:test',
      buildImage: 'registry.example/kaniko/executor:v1',
      gcDelayMs: 5_000,
    });
    assert.equal(backend, 'openshift');
    await mgr2.start();
    onCleanup(() => mgr2.stop());
    await secrets.create({
      metadata: { name: 'repo-pull', namespace: ns2 },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64(dockerConfig) },
    } as KubeObject);
    await configMaps.create({
      metadata: { name: 'df', namespace: ns2 },
      data: { dockerfile: 'FROM scratch\n' },
    } as KubeObject);
    const image = `${reg.host}/kmm/ocp:${KERNEL}`;
    await mics.create({
      metadata: { name: 'ocpmod', namespace: ns2 },
      spec: {
        imageRepoSecret: { name: 'repo-pull' },
        images: [
          {
            image,
            kernelVersion: KERNEL,
            build: { dockerfileConfigMap: { name: 'df' }, secrets: [] },
            registryTLS: { insecure: true },
          },
        ],
      },
    });
    const builds = api(Builds as ResourceType<OpenShiftBuild>);
    const b = await eventually(
      'a Build',
      async () => (await builds.list({ namespace: ns2 })).items[0],
      60_000,
    );
    assert.equal(b.spec.source.dockerfile, 'FROM scratch\n');
    assert.equal(b.spec.output.to?.name, image);
    assert.equal(b.spec.serviceAccount, 'builder');
    assert.deepEqual(b.spec.output.pushSecret, { name: 'repo-pull' });
    assert.deepEqual(
      b.spec.strategy.dockerStrategy.buildArgs?.map((a) => a.name),
      ['KERNEL_VERSION', 'KERNEL_FULL_VERSION', 'MOD_NAME', 'MOD_NAMESPACE'],
    );
    // The Build's part: the image appears in the registry, then the Build completes.
    const pushed = parseReference(image);
    await pushModuleImage(pushed.repository, pushed.tag!);
    await builds.patchStatus(
      b.metadata.name!,
      { status: { phase: 'Complete' } },
      { namespace: ns2 },
    );
    await eventually(
      'Exists',
      async () => (await mics.get('ocpmod', ns2)).status?.imagesStates?.[0]?.status === 'Exists',
      60_000,
    );
    // job.gcDelay: the completed Build stays a while for inspection, then goes.
    assert.ok(await builds.find(b.metadata.name!, ns2), 'kept during job.gcDelay');
    await eventually(
      'Build collected after job.gcDelay',
      async () => !(await builds.find(b.metadata.name!, ns2)),
    );
  });
});
