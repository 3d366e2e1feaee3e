/**
 * Pod Security: every pod hwe installs or creates is sent to the apiserver (server-side dry
 * run) in namespaces labelled pod-security.kubernetes.io/enforce=<level>, and the PodSecurity
 * admission plugin (on by default in kube-apiserver) decides. The operators, the webhook,
 * nfd-master, nfd-gc and sign pods are admitted at `restricted`; kaniko builds at `baseline`;
 * nfd-worker, nfd-topology-updater, KMM worker pods and device plugins at `privileged` only,
 * for the host paths and capabilities written next to their pod specs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { isKubeError } from '../../../src/runtime/index.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { renderOperands } from '../../../src/nfd/operator/render.js';
import { loadOperandRbac } from '../../../src/nfd/operator/rbac.js';
import type { Module, NodeFeatureDiscovery } from '../../../src/api/index.js';
import { workerPod } from '../../../src/kmm/nmc/pod.js';
import { devicePluginDaemonSet } from '../../../src/kmm/deviceplugin/daemonset.js';
import { renderSignPod } from '../../../src/kmm/signjob/pod.js';
import { renderKanikoPod } from '../../../src/kmm/build/kaniko.js';
import { testCluster, uniqueName, onCleanup } from '../../support/cluster.js';
import { CONFIG_DIR, parseManifests, run, type Manifest } from './manifests.js';

const cluster = await testCluster();
const { client } = cluster;
const kubectl = cluster.bin('kubectl');

type Level = 'restricted' | 'baseline' | 'privileged';
const LEVELS: Level[] = ['restricted', 'baseline', 'privileged'];
const namespaces = {} as Record<Level, string>;
for (const level of LEVELS) {
  const name = uniqueName(`pss-${level}`);
  await client.request('/api/v1/namespaces', {
    method: 'POST',
    body: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: {
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    },
  });
  onCleanup(() => client.request(`/api/v1/namespaces/${name}`, { method: 'DELETE' }));
  namespaces[level] = name;
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: { serviceAccountName?: string } & Record<string, unknown>;
}

const accounts = new Set<string>();
/** The pod's service account must exist for the ServiceAccount admission plugin. */
async function ensureAccount(ns: string, name: string | undefined): Promise<void> {
  if (!name || accounts.has(`${ns}/${name}`)) return;
  accounts.add(`${ns}/${name}`);
  await client
    .request(`/api/v1/namespaces/${ns}/serviceaccounts`, {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
    })
    .catch((e: unknown) => {
      if (!isKubeError(e) || e.kind !== 'AlreadyExists') throw e;
    });
}

/** Undefined when the namespace's level admits the pod, else the apiserver's refusal. */
async function refusal(level: Level, what: string, pod: PodTemplate): Promise<string | undefined> {
  const ns = namespaces[level];
  await ensureAccount(ns, pod.spec.serviceAccountName);
  try {
    await client.request(`/api/v1/namespaces/${ns}/pods`, {
      method: 'POST',
      query: { dryRun: 'All' },
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: uniqueName('pss'), labels: pod.metadata?.labels },
        spec: { ...pod.spec, nodeName: undefined },
      },
    });
    return undefined;
  } catch (e) {
    if (isKubeError(e) && e.status === 403 && /violates PodSecurity/.test(e.message)) {
      return `${what}: ${e.message}`;
    }
    throw e;
  }
}

/** The pod admitted at `level` and, below `privileged`, refused one level lower. */
async function lowestLevel(what: string, pod: PodTemplate, level: Level): Promise<void> {
  const refused = await refusal(level, what, pod);
  assert.equal(refused, undefined, `${what} at ${level}`);
  const below = LEVELS[LEVELS.indexOf(level) - 1];
  if (below) {
    const r = await refusal(below, what, pod);
    assert.ok(r, `${what} would also pass ${below}: tighten the comment or the level`);
    process.stdout.write(
      `# ${what}: ${level}; ${below} refuses it (${r.replace(/^.*violates PodSecurity "[^"]+": /, '')})\n`,
    );
  } else {
    process.stdout.write(`# ${what}: restricted\n`);
  }
}

const template = (m: Manifest): PodTemplate => (m.spec as { template: PodTemplate }).template;

describe('Pod Security', () => {
  it('admits the operators and the webhook of config/default at restricted', async () => {
    const rendered = parseManifests(run(kubectl, ['kustomize', join(CONFIG_DIR, 'default')]));
    const workloads = rendered.filter((m) => m.kind === 'Deployment' || m.kind === 'DaemonSet');
    assert.deepEqual(workloads.map((m) => m.metadata.name).sort(), [
      'kmm-operator-controller-manager',
      'kmm-operator-webhook-server',
      'nfd-controller-manager',
    ]);
    for (const w of workloads) await lowestLevel(w.metadata.name, template(w), 'restricted');
    // Their own namespaces hold the worker pods, device plugins and nfd-worker.
    for (const ns of ['openshift-kmm', 'openshift-nfd']) {
      const n = rendered.find((m) => m.kind === 'Namespace' && m.metadata.name === ns)!;
      assert.equal(n.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged', ns);
    }
  });

  it('admits nfd-master and nfd-gc at restricted, nfd-worker and the topology updater at privileged', async () => {
    const cr = parse(
      readFileSync(join(PACKAGE_ROOT, 'examples', 'nfd', 'nodefeaturediscovery.yaml'), 'utf8'),
    ) as NodeFeatureDiscovery;
    cr.metadata.uid = 'u';
    cr.spec!.topologyupdater = true;
    const operands = renderOperands(cr, { image: 'quay.io/hwe/hwe:0.1.0', rbac: loadOperandRbac() })
      .objects as unknown as Manifest[];
    const want: Record<string, Level> = {
      'nfd-master': 'restricted',
      'nfd-gc': 'restricted',
      'nfd-worker': 'privileged',
      'nfd-topology-updater': 'privileged',
    };
    const seen: string[] = [];
    for (const o of operands.filter((m) => m.kind === 'Deployment' || m.kind === 'DaemonSet')) {
      seen.push(o.metadata.name);
      await lowestLevel(o.metadata.name, template(o), want[o.metadata.name]!);
    }
    assert.deepEqual(seen.sort(), Object.keys(want).sort());
  });

  it('admits KMM sign pods at restricted, builds at baseline, workers and device plugins at privileged', async () => {
    const ownerRef = {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
      kind: 'Module',
      name: 'm',
      uid: 'u',
    };
    const owner = { ownerReference: ownerRef, namespace: 'ns', moduleName: 'm' };
    const sign = renderSignPod(
      {
        owner,
        unsignedImage: 'registry.example/kmod:unsigned',
        image: 'registry.example/kmod:signed',
        kernelVersion: '6.1.0-18-amd64',
        sign: {
          keySecret: { name: 'key' },
          certSecret: { name: 'cert' },
          filesToSign: ['/opt/lib/modules/6.1.0-18-amd64/m.ko'],
        },
        imageRepoSecret: 'pull',
        push: true,
      },
      'quay.io/hwe/hwe:0.1.0',
    );
    await lowestLevel('sign pod', sign, 'restricted');
    const build = renderKanikoPod(
      {
        owner,
        image: 'registry.example/kmod:6.1.0-18-amd64',
        kernelVersion: '6.1.0-18-amd64',
        build: { dockerfileConfigMap: { name: 'dockerfile' } },
        dockerfile: 'FROM debian\n',
        push: true,
      },
      'gcr.io/kaniko-project/executor:v1.23.2',
    );
    await lowestLevel('kaniko build pod', build, 'baseline');
    const opts = {
      workerImage: 'quay.io/hwe/hwe:0.1.0',
      firmwareHostPath: '/var/lib/firmware',
      runAsUser: 0,
      seLinuxType: 'spc_t',
    };
    const entry = { name: 'm', namespace: 'ns', serviceAccountName: 'kmm-operator-module-loader' };
    const config = {
      kernelVersion: '6.1.0-18-amd64',
      containerImage: 'registry.example/kmod:6.1.0-18-amd64',
      insecurePull: false,
      modprobe: { moduleName: 'm', dirName: '/opt' },
    };
    const nmc = {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
      kind: 'NodeModulesConfig',
      name: 'n',
      uid: 'u',
    };
    for (const [what, cfg] of [
      ['worker pod', config],
      [
        'worker pod with firmware',
        { ...config, modprobe: { ...config.modprobe, firmwarePath: '/firmware' } },
      ],
    ] as const) {
      const pod = workerPod('n', entry, cfg, 'load', nmc, opts);
      await lowestLevel(what, pod, 'privileged');
    }
    const module = {
      metadata: { name: 'm', namespace: 'ns' },
      spec: {
        selector: { gpu: 'yes' },
        devicePlugin: { container: { image: 'registry.example/plugin:1' } },
      },
    } as unknown as Module;
    const ds = devicePluginDaemonSet(
      module,
      { ...ownerRef, controller: true },
      'kmm-operator-device-plugin',
    )!;
    await lowestLevel('device plugin', template(ds as unknown as Manifest), 'privileged');
  });
});
