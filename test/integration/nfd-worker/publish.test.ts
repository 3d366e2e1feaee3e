/**
 * nfd-worker against a real apiserver: it creates the NodeFeature of its node, writes nothing
 * when nothing changed, updates it when the host changes, and points it at the worker pod.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { isKubeError, KubeClient } from '../../../src/runtime/client.js';
import { loadKubeconfig } from '../../../src/runtime/kubeconfig.js';
import type { NodeFeatureObject } from '../../../src/nfd/worker/index.js';
import { hostFixture, repoRoot } from '../../fixtures/hosts/index.js';
import { runHwe } from '../../support/cli.js';
import {
  eventually,
  testCluster,
  testNamespace,
  uniqueName,
  serviceAccountKubeconfig,
} from '../../support/cluster.js';
import { NO_POD, startWorker, withWorkerLog, workerArgs } from './worker-process.js';

const CRD_FILE = 'config/crd/bases/nfd.k8s-sigs.io_nodefeatures.yaml';
const NODE_NAME_LABEL = 'nfd.node.kubernetes.io/node-name';

function nfPath(ns: string, name?: string): string {
  return `/apis/nfd.k8s-sigs.io/v1alpha1/namespaces/${ns}/nodefeatures${name ? `/${name}` : ''}`;
}

/** Installs the NodeFeature CRD from config/crd/ (other suites may have installed it already). */
async function installNodeFeatureCrd(client: KubeClient): Promise<void> {
  const crd = parse(readFileSync(join(repoRoot(), CRD_FILE), 'utf8')) as object;
  try {
    await client.request('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      method: 'POST',
      body: crd,
    });
  } catch (e) {
    if (!isKubeError(e, 'AlreadyExists')) throw e;
  }
  await eventually('NodeFeature API served', async () => {
    await client.request(nfPath('default'));
    return true;
  });
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nfd-worker-it-'));
  after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A kubeconfig for a service account that may only read NodeFeatures in `ns`. */
async function readOnlyKubeconfig(client: KubeClient, ns: string, dir: string): Promise<string> {
  const sa = 'nodefeature-reader';
  await client.request(`/api/v1/namespaces/${ns}/serviceaccounts`, {
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } },
  });
  await client.request(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    method: 'POST',
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: sa },
      rules: [
        {
          apiGroups: ['nfd.k8s-sigs.io'],
          resources: ['nodefeatures'],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    },
  });
  await client.request(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    method: 'POST',
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: sa },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
  });
  const file = await serviceAccountKubeconfig(client, ns, sa, join(dir, 'reader.kubeconfig'));
  // RBAC is evaluated from an informer cache: wait until the reader can actually read.
  const readerClient = new KubeClient(loadKubeconfig([file]));
  try {
    await eventually('reader can list NodeFeatures', async () => {
      await readerClient.request(nfPath(ns));
      return true;
    });
  } finally {
    readerClient.close();
  }
  return file;
}

describe('nfd-worker publishing', () => {
  let client: KubeClient;
  let kubeconfig: string;
  let ns: string;

  before(async () => {
    const cluster = await testCluster();
    client = cluster.client;
    kubeconfig = cluster.kubeconfig;
    await installNodeFeatureCrd(client);
    ns = await testNamespace(client, 'nfd-worker');
  });

  it('creates the NodeFeature, then writes nothing when nothing changed', async () => {
    const node = uniqueName('nfd-node');
    const args = [
      'nfd',
      'worker',
      ...workerArgs(
        { hostRoot: hostFixture('intel-rhcos'), node, namespace: ns },
        '-oneshot',
        '-v',
        '2',
      ),
    ];
    const first = await runHwe([...args, '-kubeconfig', kubeconfig], { env: NO_POD });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /NodeFeature .*: created/);

    const nf = await client.request<NodeFeatureObject>(nfPath(ns, node));
    assert.equal(nf.metadata.labels[NODE_NAME_LABEL], node);
    assert.equal(nf.spec.labels['feature.node.kubernetes.io/system-os_release.ID'], 'rhcos');
    assert.equal(nf.spec.labels['example-custom-feature'], 'true');
    assert.ok(nf.spec.features.flags['kernel.loadedmodule']!.elements.veth);
    assert.equal(nf.spec.features.instances['pci.device']!.elements.length, 5);

    // The second pass runs with credentials that cannot write: any create or update would fail.
    const reader = await readOnlyKubeconfig(client, ns, tempDir());
    const second = await runHwe([...args, '-kubeconfig', reader], { env: NO_POD });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /NodeFeature .*: unchanged/);
    const again = await client.request<NodeFeatureObject>(nfPath(ns, node));
    assert.equal(again.metadata.resourceVersion, nf.metadata.resourceVersion);

    // The same credentials are refused as soon as there is something to write.
    const changed = await runHwe([...args, '-kubeconfig', reader, '-label-whitelist', '^cpu-'], {
      env: NO_POD,
    });
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /forbidden/i);
  });

  it('updates the object when the host changes, keeping what others added', async () => {
    const node = uniqueName('nfd-node');
    const root = join(tempDir(), 'host');
    cpSync(hostFixture('amd-debian'), root, { recursive: true, verbatimSymlinks: true });
    const featuresDir = join(root, 'etc/kubernetes/node-feature-discovery/features.d');
    const worker = startWorker(
      workerArgs(
        { hostRoot: root, node, namespace: ns, kubeconfig },
        '-sleep-interval',
        '1h',
        '-v',
        '2',
      ),
    );

    const first = await withWorkerLog(
      worker,
      eventually('NodeFeature created', () =>
        client.request<NodeFeatureObject>(nfPath(ns, node)).catch(() => undefined),
      ),
    );
    assert.equal(first.spec.labels['rdma.capable'], 'true');
    await client.request(nfPath(ns, node), {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { 'team.example.com/owner': 'infra' } } },
    });

    // A new feature file, in a features.d that did not exist at start, wakes the worker long
    // before its 1h sleep interval.
    mkdirSync(featuresDir, { recursive: true });
    writeFileSync(join(featuresDir, 'accelerator'), 'accel.example.com/fpga=true\n');
    const updated = await withWorkerLog(
      worker,
      eventually(
        'label from the new feature file',
        async () => {
          const nf = await client.request<NodeFeatureObject>(nfPath(ns, node));
          return nf.spec.labels['accel.example.com/fpga'] === 'true' ? nf : undefined;
        },
        30_000,
      ),
    );
    assert.equal(updated.metadata.labels['team.example.com/owner'], 'infra');
    assert.equal(updated.metadata.labels[NODE_NAME_LABEL], node);
    assert.equal(
      updated.spec.features.attributes['local.label']!.elements['accel.example.com/fpga'],
      'true',
    );

    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0, worker.stderr());
  });

  it('points the NodeFeature at the worker pod', async () => {
    const node = uniqueName('nfd-node');
    const pod = await client.request<{ metadata: { name: string; uid: string } }>(
      `/api/v1/namespaces/${ns}/pods`,
      {
        method: 'POST',
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: uniqueName('nfd-worker') },
          spec: {
            containers: [{ name: 'worker', image: 'registry.example.com/nfd:v1' }],
            nodeName: node,
          },
        },
      },
    );
    const r = await runHwe(
      [
        'nfd',
        'worker',
        ...workerArgs({ hostRoot: hostFixture('amd-debian'), kubeconfig }, '-oneshot'),
      ],
      {
        env: {
          ...NO_POD,
          NODE_NAME: node,
          POD_NAME: pod.metadata.name,
          POD_UID: pod.metadata.uid,
          POD_NAMESPACE: ns,
        },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const nf = await client.request<NodeFeatureObject>(nfPath(ns, node));
    assert.deepEqual(nf.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
    ]);
    assert.equal(
      nf.metadata.annotations?.['nfd.node.kubernetes.io/worker.pod.uid'],
      pod.metadata.uid,
    );
  });

  it('says what is missing when it cannot create the object', async () => {
    const r = await runHwe(
      [
        'nfd',
        'worker',
        ...workerArgs(
          {
            hostRoot: hostFixture('amd-debian'),
            node: uniqueName('nfd-node'),
            namespace: uniqueName('no-such-ns'),
            kubeconfig,
          },
          '-oneshot',
        ),
      ],
      { env: NO_POD },
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cannot create NodeFeature no-such-ns-\w+\/nfd-node-\w+: .*is the NodeFeature CRD .* installed and does namespace no-such-ns-\w+ exist\?/,
    );
  });
});
