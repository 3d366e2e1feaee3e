/**
 * End to end with the Module controller: a Module whose image is missing and has
 * sign.unsignedImage gets a signed image in the registry and its module scheduled for loading
 * (an entry in the node's NodeModulesConfig). As in images.test.ts, the test runs the signing
 * pod's program itself (`hwe kmm sign-image` with the pod's arguments and its Secrets written
 * as files) and reports the pod's end, since kwok runs no containers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import {
  Modules,
  NodeModulesConfigs,
  installCrds,
  type Module,
  type ModuleImagesConfig,
  ModuleImagesConfigs,
} from '../../../src/api/index.js';
import type { Pod } from '../../../src/kmm/build/index.js';
import {
  RegistryClient,
  extractFiles,
  parseReference,
  resolveImage,
} from '../../../src/oci/index.js';
import {
  Pods,
  ResourceClient,
  Secrets,
  ServiceAccounts,
  type KubeObject,
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
import { makeKeyPair, makeModule, tool } from '../../fixtures/signing/fixtures.js';
import { finishPodAsKubelet, kmmTestManager, runSignPodProgram } from '../../support/kmm.js';

const user = { username: 'kmm', password: 'e2e-pw' };
const reg = await testRegistry({ auth: 'htpasswd', users: [user] });
const cluster = await testCluster();
const client = cluster.client;
await installCrds(client);
const opNs = await testNamespace(client, 'kmm-e2e-op');
const ns = await testNamespace(client, 'kmm-e2e');
const work = mkdtempSync(join(tmpdir(), 'kmm-e2e-'));
onCleanup(async () => rmSync(work, { recursive: true, force: true }));

const KERNEL = '6.1.0-kmme2e.x86_64';
const sel = uniqueName('kmm-e2e');
const node = `${sel}-node`;
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const secrets = new ResourceClient<KubeObject & { data?: Record<string, string> }>(
  client,
  Secrets,
  'test',
);
const pods = new ResourceClient<Pod>(client, Pods, 'test');
const push = new RegistryClient({ registry: reg.host, tls: reg.tls, auth: user });
after(() => push.close());

const keys = await makeKeyPair(work, 'e2e', { cn: 'kmm e2e signer' });
const ko = await makeModule(work, 'kmm_e2e', { vermagic: `${KERNEL} SMP mod_unload` });
const koPath = `opt/lib/modules/${KERNEL}/kmm_e2e.ko`;
await pushTestImage(push, 'vendor/kmm-e2e', 'unsigned', {
  layers: [[{ path: koPath, data: readFileSync(ko) }]],
});
for (const [name, data, type] of [
  ['signing-key', { key: b64(readFileSync(keys.key)) }, undefined],
  ['signing-cert', { cert: b64(readFileSync(keys.certDer)) }, undefined],
  [
    'repo-pull',
    {
      '.dockerconfigjson': b64(
        JSON.stringify({
          auths: { [reg.host]: { auth: b64(`${user.username}:${user.password}`) } },
        }),
      ),
    },
    'kubernetes.io/dockerconfigjson',
  ],
] as const) {
  await secrets.create({ metadata: { name, namespace: ns }, data, ...(type ? { type } : {}) });
}

const mgr = await kmmTestManager(client, {
  name: 'kmm-e2e',
  operatorNamespace: opNs,
  namespace: ns,
  nodeSelector: { 'hwe.test/build-node': sel },
});
before(async () => {
  const sas = new ResourceClient(client, ServiceAccounts, 'test');
  for (const name of ['kmm-operator-module-loader', 'kmm-operator-device-plugin']) {
    await sas.create({ metadata: { name, namespace: opNs } });
  }
  await testNodes(client, [{ name: node, labels: { [sel]: 'yes' }, kernelVersion: KERNEL }]);
  await mgr.start();
});
after(() => mgr.stop());

it('a missing image with sign.unsignedImage is signed, pushed, and the module scheduled', async () => {
  const name = uniqueName('e2e');
  const image = `${reg.host}/kmm/${name}:${KERNEL}`;
  await new ResourceClient<Module>(client, Modules, 'test').create({
    metadata: { name, namespace: ns },
    spec: {
      selector: { [sel]: 'yes' },
      imageRepoSecret: { name: 'repo-pull' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'kmm_e2e' },
          kernelMappings: [
            {
              literal: KERNEL,
              containerImage: `${reg.host}/kmm/${name}:\${KERNEL_FULL_VERSION}`,
              registryTLS: { insecure: true },
              sign: {
                unsignedImage: `${reg.host}/vendor/kmm-e2e:unsigned`,
                unsignedImageRegistryTLS: { insecure: true },
                keySecret: { name: 'signing-key' },
                certSecret: { name: 'signing-cert' },
                filesToSign: [`/opt/lib/modules/${KERNEL}/kmm_e2e.ko`],
              },
            },
          ],
        },
      },
    },
  });

  const mics = new ResourceClient<ModuleImagesConfig>(client, ModuleImagesConfigs, 'test');
  await eventually(
    'the image NeedsSigning',
    async () =>
      (await mics.find(name, ns))?.status?.imagesStates?.find((s) => s.image === image)?.status ===
      'NeedsSigning',
    60_000,
  );
  const pod = await eventually(
    'the signing pod',
    async () =>
      (
        await pods.list({
          namespace: ns,
          labelSelector: `kmm.node.kubernetes.io/module.name=${name},kmm.node.kubernetes.io/pod-type=sign`,
        })
      ).items[0],
    60_000,
  );
  const r = await runSignPodProgram(secrets, pod, work);
  assert.equal(r.code, 0, r.stderr);
  await finishPodAsKubelet(pods, pod, true);

  // The module is scheduled for loading on the node, with the signed image.
  const nmcs = new ResourceClient(client, NodeModulesConfigs, 'test');
  const entry = await eventually(
    'the module in the node config',
    async () =>
      (await nmcs.find(node))?.spec?.modules?.find((m) => m.name === name && m.namespace === ns),
    60_000,
  );
  assert.equal(entry.config.containerImage, image);
  assert.equal(entry.config.kernelVersion, KERNEL);

  // The signed module verifies.
  const files = await extractFiles(push, await resolveImage(push, parseReference(image)), [koPath]);
  const file = join(work, 'signed.ko');
  writeFileSync(file, files.get(koPath)!.data!);
  assert.equal((await tool('modinfo', ['-F', 'signer', file])).trim(), 'kmm e2e signer');
});
