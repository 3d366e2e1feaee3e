/**
 * The walkthroughs of docs/walkthroughs.md, applied from examples/ to the local cluster:
 * - §2.3: simple-kmod with the Driver Toolkit — the ImageStream and BuildConfig (OpenShift
 *   kinds, served here by their test-only stand-in CRDs) and the driver container's
 *   ServiceAccount, Role, RoleBinding and DaemonSet, whose pods run on the worker nodes;
 * - §4: a Module that builds simple-kmod with DTK_AUTO, signs it and loads it with firmware.
 *   kwok runs no containers, so the test plays the build pod (it pushes to the pod's
 *   destination the image the Dockerfile would produce: real .ko files for the node's kernel
 *   and the firmware), runs the signing pod's own program (`hwe kmm sign-image` with the pod's
 *   arguments and Secrets), and lets the worker pods run in a dry run (src/cluster/kmm-workers).
 * Both walkthroughs select every worker node; here they select the test's own nodes, which
 * share the control plane with other tests.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  ALL_RESOURCES,
  BuildConfigs,
  installCrds,
  Modules,
  NodeModulesConfigs,
  type Module,
} from '../../../src/api/index.js';
import { dryRunWorkerPod, startWorkerDriver } from '../../../src/cluster/kmm-workers.js';
import type { Pod } from '../../../src/kmm/build/index.js';
import {
  RegistryClient,
  extractFiles,
  parseReference,
  resolveImage,
  type LayerFile,
} from '../../../src/oci/index.js';
import {
  Nodes,
  Pods,
  ResourceClient,
  Secrets,
  ServiceAccounts,
  type KubeObject,
} from '../../../src/runtime/index.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { findTool, makeModuleTree } from '../../fixtures/kmm/modtree.js';
import { makeKeyPair, tool } from '../../fixtures/signing/fixtures.js';
import { runHwe } from '../../support/cli.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';
import { kmmTestManager } from '../../support/kmm.js';
import { readyLabel } from '../../../src/kmm/common/index.js';

const KERNEL = '4.18.0-372.46.1.el8_6.x86_64';
const RHCOS = '412.86.202302211547-0';

const reg = await testRegistry();
const cluster = await testCluster();
const client = cluster.client;
await installCrds(client, ALL_RESOURCES);
const work = await mkdtemp(join(tmpdir(), 'walkthroughs-'));
onCleanup(() => rm(work, { recursive: true, force: true }));
const sel = uniqueName('walk');
const nodes = [`${sel}-a`, `${sel}-b`];

type Obj = KubeObject & { kind: string; [k: string]: unknown };

/** The documents of an example file. */
async function example(file: string): Promise<Obj[]> {
  const text = await readFile(join(PACKAGE_ROOT, 'examples', file), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as Obj);
}

/** `kubectl apply --server-side` of objects into a namespace, unknown fields an error. */
function apply(objs: Obj[], namespace: string, extra: string[] = []): Promise<string> {
  const input = objs
    .map((o) => JSON.stringify({ ...o, metadata: { ...o.metadata, namespace } }))
    .join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(
      cluster.bin('kubectl'),
      [
        '--kubeconfig',
        cluster.kubeconfig,
        'apply',
        '--server-side',
        '--field-manager=walkthroughs',
        '--validate=strict',
        '-n',
        namespace,
        '-f',
        '-',
        ...extra,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`kubectl apply: ${out}`)),
    );
    child.stdin.end(input);
  });
}

before(() =>
  testNodes(
    client,
    nodes.map((name) => ({
      name,
      labels: { [sel]: 'yes' },
      kernelVersion: KERNEL,
      osImage: `Red Hat Enterprise Linux CoreOS ${RHCOS} (Ootpa)`,
    })),
  ),
);

describe('§2.3 simple-kmod with the Driver Toolkit', () => {
  it('creates the ImageStream and BuildConfig (server-side dry run first)', async () => {
    const ns = await testNamespace(client, 'simple-kmod-demo');
    const objs = await example('dtk/0000-buildconfig.yaml');
    assert.deepEqual(
      objs.map((o) => o.kind),
      ['ImageStream', 'BuildConfig'],
    );
    assert.match(
      await apply(objs, ns, ['--dry-run=server']),
      /serverside-applied \(server dry run\)/,
    );
    await apply(objs, ns);
    const bcs = new ResourceClient(client, BuildConfigs, 'test');
    const bc = (await bcs.get('simple-kmod-driver-build', ns)) as Obj & {
      spec: { output: { to: { name: string } } };
    };
    assert.equal(bc.spec.output.to.name, 'simple-kmod-driver-container:demo');
  });

  it('runs the privileged driver container on every selected worker', async () => {
    const ns = await testNamespace(client, 'simple-kmod-demo');
    const objs = await example('dtk/1000-drivercontainer.yaml');
    assert.deepEqual(
      objs.map((o) => o.kind),
      ['ServiceAccount', 'Role', 'RoleBinding', 'DaemonSet'],
    );
    const ds = objs[3] as Obj & { spec: { template: { spec: { nodeSelector: object } } } };
    ds.spec.template.spec.nodeSelector = { ...ds.spec.template.spec.nodeSelector, [sel]: 'yes' };
    await apply(objs, ns);
    const pods = new ResourceClient<Pod>(client, Pods, 'test');
    const running = await eventually(
      'a Running driver container on each node',
      async () => {
        const list = await pods.list({
          namespace: ns,
          labelSelector: 'app=simple-kmod-driver-container',
        });
        const on = list.items
          .filter((p) => p.status?.phase === 'Running')
          .map((p) => (p.spec as { nodeName?: string }).nodeName)
          .sort();
        return on.length === nodes.length ? on : undefined;
      },
      120_000,
    );
    assert.deepEqual(running, [...nodes].sort());
    const first = (
      await pods.list({ namespace: ns, labelSelector: 'app=simple-kmod-driver-container' })
    ).items[0]!;
    assert.equal(first.spec.serviceAccountName, 'simple-kmod-driver-container');
  });
});

describe('§4 a Module building simple-kmod with DTK_AUTO, signing it, loading it with firmware', () => {
  it('reaches Ready with the signed module loaded and its firmware in place', async () => {
    const ns = await testNamespace(client, 'walk-kmm');
    const opNs = await testNamespace(client, 'walk-kmm-op');
    const sas = new ResourceClient(client, ServiceAccounts, 'test');
    for (const name of ['kmm-operator-module-loader', 'kmm-operator-device-plugin'])
      await sas.create({ metadata: { name, namespace: opNs } });

    // The Driver Toolkit ImageStream: one tag per RHCOS version, as on OpenShift.
    const dtk = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'d'.repeat(64)}`;
    await apply(
      [
        {
          apiVersion: 'image.openshift.io/v1',
          kind: 'ImageStream',
          metadata: { name: 'driver-toolkit' },
          spec: { tags: [{ name: RHCOS, from: { kind: 'DockerImage', name: dtk } }] },
        },
      ],
      ns,
    );

    // The signing key pair of §4.6 (a real one) and the registry secret of §4.3.2.
    const keys = await makeKeyPair(work, 'walk', { cn: 'walkthrough signer' });
    const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');
    const secretsDocs = await example('kmm/signing-secrets.yaml');
    const cert = secretsDocs.find((s) => s.metadata.name === 'my-signing-key-pub')!;
    const key = secretsDocs.find((s) => s.metadata.name === 'my-signing-key')!;
    cert.data = { cert: b64(await readFile(keys.certDer)) };
    key.data = { key: b64(await readFile(keys.key)) };
    const pullSecret: Obj = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'repo-pull-secret' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64(JSON.stringify({ auths: {} })) },
    };
    await apply([cert, key, pullSecret], ns);

    // The operator's controllers; build and sign pods go to a node that does not exist.
    const mgr = await kmmTestManager(client, {
      name: 'walkthroughs',
      operatorNamespace: opNs,
      namespace: ns,
      nodeSelector: { 'hwe.test/build-node': uniqueName('none') },
      retryBaseMs: 1_000,
      images: { dtkImageStream: { namespace: ns, name: 'driver-toolkit' }, retryMs: 2_000 },
    });
    await mgr.start();
    onCleanup(() => mgr.stop());
    const driver = await startWorkerDriver(
      client,
      async (pod) =>
        nodes.includes(pod.spec.nodeName)
          ? (await dryRunWorkerPod(pod, { workDir: join(work, 'workers'), kernel: KERNEL })).outcome
          : 'hold',
      { namespace: ns },
    );
    onCleanup(() => driver.stop());

    // The example, with this test's registry and nodes.
    const [dockerfile, module] = (await example('kmm/module-simple-kmod.yaml')) as [
      Obj,
      Obj & Module,
    ];
    const container = module.spec.moduleLoader!.container;
    const mapping = container.kernelMappings[0]!;
    mapping.containerImage = mapping.containerImage.replace(
      'example.org/repository',
      `${reg.host}/walk`,
    );
    mapping.registryTLS = { insecure: true };
    module.spec.selector = { ...module.spec.selector, [sel]: 'yes' };
    await apply([dockerfile, module], ns);
    const image = `${reg.host}/walk/simple-kmod:${KERNEL}`;

    const pods = new ResourceClient<Pod>(client, Pods, 'test');
    const podOf = (type: 'build' | 'sign') =>
      eventually(
        `the ${type} pod`,
        async () =>
          (
            await pods.list({
              namespace: ns,
              labelSelector: `kmm.node.kubernetes.io/module.name=simple-kmod,kmm.node.kubernetes.io/pod-type=${type}`,
            })
          ).items[0],
        120_000,
      );
    const finish = (pod: Pod) => {
      const c = pod.spec.containers[0]!;
      return pods.patchStatus(
        pod.metadata.name!,
        {
          status: {
            phase: 'Succeeded',
            containerStatuses: [
              {
                name: c.name,
                image: c.image,
                imageID: '',
                ready: false,
                restartCount: 0,
                state: { terminated: { exitCode: 0, finishedAt: new Date().toISOString() } },
              },
            ],
          },
        },
        { namespace: ns },
      );
    };

    // The build: on the Driver Toolkit of the node's RHCOS version, for the node's kernel.
    const build = await podOf('build');
    const args = build.spec.containers[0]!.args ?? [];
    assert.ok(args.includes(`--build-arg=DTK_AUTO=${dtk}`), args.join(' '));
    assert.ok(args.includes(`--build-arg=KERNEL_VERSION=${KERNEL}`), args.join(' '));
    const destination = args.find((a) => a.startsWith('--destination='))!.slice(14);
    // What the Dockerfile produces: simple-kmod.ko and simple-procfs-kmod.ko for the kernel
    // under /opt (indexed by depmod) and the firmware under /firmware.
    const built = join(work, 'built');
    await makeModuleTree(join(work, 'kos'), '/', KERNEL, [
      { name: 'simple_kmod' },
      { name: 'simple_procfs_kmod' },
    ]);
    const modDir = join(built, 'opt', 'lib', 'modules', KERNEL);
    await mkdir(modDir, { recursive: true });
    for (const m of ['simple-kmod', 'simple-procfs-kmod'])
      await copyFile(
        join(work, 'kos', 'lib', 'modules', KERNEL, 'extra', `${m.replace(/-/g, '_')}.ko`),
        join(modDir, `${m}.ko`),
      );
    await tool(findTool('depmod'), ['-b', join(built, 'opt'), KERNEL]);
    await mkdir(join(built, 'firmware'));
    await writeFile(join(built, 'firmware', 'simple-kmod.fw'), 'simple-kmod firmware\n');
    const files = async (dir: string): Promise<LayerFile[]> =>
      (
        await Promise.all(
          (await readdir(dir, { withFileTypes: true })).map(async (e) => {
            const p = join(dir, e.name);
            return e.isDirectory()
              ? files(p)
              : [{ path: relative(built, p), data: await readFile(p) }];
          }),
        )
      ).flat();
    const ref = parseReference(destination);
    const push = new RegistryClient({ registry: ref.registry, tls: { insecure: true } });
    onCleanup(async () => push.close());
    await pushTestImage(push, ref.repository, ref.tag!, { layers: [await files(built)] });
    await finish(build);

    // The signing pod's program, with its Secret volumes as files.
    const sign = await podOf('sign');
    const root = join(work, 'sign-pod');
    const secrets = new ResourceClient<KubeObject & { data?: Record<string, string> }>(
      client,
      Secrets,
      'test',
    );
    let signArgs = sign.spec.containers[0]!.args ?? [];
    for (const m of sign.spec.containers[0]!.volumeMounts ?? []) {
      const v = sign.spec.volumes!.find((x) => x.name === m.name)!;
      if (!v.secret) continue;
      const s = await secrets.get(v.secret.secretName, ns);
      for (const item of v.secret.items ?? []) {
        const file = join(root, m.mountPath, item.path);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, Buffer.from(s.data![item.key]!, 'base64'));
      }
      signArgs = signArgs.map((a) => a.replace(m.mountPath, join(root, m.mountPath)));
    }
    const signed = await runHwe(signArgs);
    assert.equal(signed.code, 0, signed.stderr);
    await finish(sign);

    // Loaded on both nodes by the worker pods' dry run, with the firmware copied.
    const nodesApi = new ResourceClient(client, Nodes, 'test');
    await eventually(
      'the ready label on both nodes',
      async () => {
        for (const n of nodes) {
          const labels = (await nodesApi.get(n)).metadata.labels ?? {};
          if (!(readyLabel(ns, 'simple-kmod') in labels)) return undefined;
        }
        return true;
      },
      180_000,
    );
    const nmcs = new ResourceClient(client, NodeModulesConfigs, 'test');
    for (const n of nodes) {
      const st = (await nmcs.get(n)).status as {
        modules?: { name: string; config?: { containerImage: string } }[];
      };
      assert.equal(
        st.modules?.find((m) => m.name === 'simple-kmod')?.config?.containerImage,
        image,
      );
      const fw = join(work, 'workers', 'nodes', n, 'var/lib/firmware/simple-kmod.fw');
      assert.equal(await readFile(fw, 'utf8'), 'simple-kmod firmware\n');
    }
    // The Module's status follows its nodes within a batch of changes (and a status write a
    // second), not at the same instant as the labels.
    const modules = new ResourceClient<Module>(client, Modules, 'test');
    await eventually('the Module Ready', async () => {
      const mod = await modules.get('simple-kmod', ns);
      const conditions = mod.status?.conditions as { type: string; status: string }[] | undefined;
      return conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    });

    // The module in the image is signed with the walkthrough's key.
    const ko = `opt/lib/modules/${KERNEL}/simple-kmod.ko`;
    const got = await extractFiles(push, await resolveImage(push, parseReference(image)), [ko]);
    const file = join(work, 'signed.ko');
    await writeFile(file, got.get(ko)!.data!);
    assert.equal((await tool('modinfo', ['-F', 'signer', file])).trim(), 'walkthrough signer');
  });
});
