/**
 * KMM-Hub's install layout: `config/overlays/hub` and the chart with `hub.enabled` grant the
 * hub's ServiceAccount exactly the "KMM-Hub" table of docs/permissions.md, and `hwe kmm hub`,
 * run as its Deployment runs it with a token of that ServiceAccount, does its job: a
 * ManagedClusterModule becomes a ManifestWork and a status.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ManagedClusterModules,
  ManagedClusters,
  ManifestWorks,
  installCrds,
  type ManagedClusterModule,
} from '../../../src/api/index.js';
import { freePort } from '../../../src/cluster/processes.js';
import type { ManagedCluster } from '../../../src/kmm/hub/index.js';
import { ResourceClient } from '../../../src/runtime/index.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { HWE_ENTRY } from '../../support/cli.js';
import {
  eventually,
  onCleanup,
  testCluster,
  uniqueName,
  serviceAccountKubeconfig,
} from '../../support/cluster.js';
import { installOcmCrds } from '../../support/ocm.js';
import { installTool } from './tools.js';
import {
  CONFIG_DIR,
  documentedRights,
  forbiddenRules,
  grantedRights,
  missing,
  parseManifests,
  run,
  type Manifest,
} from './manifests.js';

const SA = 'openshift-kmm-hub/kmm-operator-hub-controller';
const cluster = await testCluster();
const client = cluster.client;
const kubectl = cluster.bin('kubectl');
const work = mkdtempSync(join(tmpdir(), 'hwe-hub-install-'));
onCleanup(async () => rmSync(work, { recursive: true, force: true }));

const overlay = parseManifests(run(kubectl, ['kustomize', join(CONFIG_DIR, 'overlays', 'hub')]));
/** The "KMM-Hub" table of docs/permissions.md. */
const documented = documentedRights(
  readFileSync(join(PACKAGE_ROOT, 'docs', 'permissions.md'), 'utf8').split('## KMM-Hub')[1],
);

function assertRights(ms: Manifest[], sa = SA, table = documented.get(SA)) {
  assert.deepEqual(forbiddenRules(ms), []);
  const granted = grantedRights(ms);
  assert.deepEqual([...granted.keys()], [sa]);
  assert.deepEqual(missing(granted.get(sa), table), [], 'granted, not in the table');
  assert.deepEqual(missing(table, granted.get(sa)), [], 'in the table, not granted');
}

describe('the hub manifests', () => {
  it('config/overlays/hub: one Deployment, every hwe CRD, exactly the documented rights', () => {
    const deployments = overlay.filter((m) => m.kind === 'Deployment');
    assert.deepEqual(
      deployments.map((d) => `${d.metadata.namespace}/${d.metadata.name}`),
      ['openshift-kmm-hub/kmm-operator-hub-controller-manager'],
    );
    assert.ok(
      overlay.some(
        (m) =>
          m.kind === 'CustomResourceDefinition' &&
          m.metadata.name === 'managedclustermodules.hub.kmm.sigs.x-k8s.io',
      ),
    );
    assertRights(overlay);
  });

  it('the chart renders the same with hub.enabled, in the namespace it is given', async () => {
    const helm = await installTool('helm');
    const chart = join(PACKAGE_ROOT, 'charts', 'hwe');
    const off = parseManifests(run(helm, ['template', 'hwe', chart]));
    assert.ok(!off.some((m) => m.metadata.name.startsWith('kmm-operator-hub')));
    const on = parseManifests(
      run(helm, [
        'template',
        'hwe',
        chart,
        '--set',
        'hub.enabled=true,hub.namespace=hw-hub,kmm.namespace=hw-kmm,nfd.enabled=false',
      ]),
    );
    const hubOnly = on.filter((m) => JSON.stringify(m).includes('kmm-operator-hub'));
    const hubSa = 'hw-hub/kmm-operator-hub-controller';
    const table = new Set([...documented.get(SA)!].map((r) => r.replace(SA, hubSa)));
    assertRights(hubOnly, hubSa, table);
    const d = on.find((m) => m.kind === 'Deployment' && m.metadata.name.includes('hub'))!;
    assert.equal(d.metadata.namespace, 'hw-hub');
  });
});

describe('hwe kmm hub as its ServiceAccount', () => {
  it('turns a ManagedClusterModule into a ManifestWork and a status', async () => {
    await installCrds(client);
    await installOcmCrds(client, /^(managedclusters|manifestworks)\./);
    // The namespace and RBAC of the overlay (not the Deployment: kwok would "run" it).
    const rbac = overlay.filter((m) =>
      [
        'Namespace',
        'ServiceAccount',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
      ].includes(m.kind),
    );
    run(kubectl, ['apply', '-f', '-'], {
      input: rbac.map((m) => JSON.stringify(m)).join('\n'),
      env: { KUBECONFIG: cluster.kubeconfig },
    });
    onCleanup(async () =>
      run(kubectl, ['delete', '--ignore-not-found', '--wait=false', '-f', '-'], {
        input: rbac.map((m) => JSON.stringify(m)).join('\n'),
        env: { KUBECONFIG: cluster.kubeconfig },
      }),
    );
    const [ns, name] = SA.split('/') as [string, string];
    const kubeconfig = await serviceAccountKubeconfig(
      client,
      ns,
      name,
      join(work, 'hub.kubeconfig'),
    );

    // A managed cluster running one kernel, and an MCM selecting it (images pulled Never:
    // they count as present, so no registry is involved).
    const mc = uniqueName('managed');
    await client.request('/api/v1/namespaces', {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: mc } },
    });
    onCleanup(() => client.request(`/api/v1/namespaces/${mc}`, { method: 'DELETE' }));
    const clusters = new ResourceClient<ManagedCluster>(client, ManagedClusters, 'test');
    await clusters.create({
      metadata: { name: mc, labels: { [mc]: 'yes' } },
      spec: { hubAcceptsClient: true },
    } as ManagedCluster);
    onCleanup(() => clusters.deleteIfExists(mc));
    await clusters.patchStatus(mc, {
      status: {
        clusterClaims: [
          { name: 'kernel-versions.kmm.node.kubernetes.io', value: '6.1.0-18-amd64' },
        ],
      },
    });
    const mcms = new ResourceClient<ManagedClusterModule>(client, ManagedClusterModules, 'test');
    await mcms.create({
      metadata: { name: mc },
      spec: {
        moduleSpec: {
          selector: { 'kubernetes.io/os': 'linux' },
          moduleLoader: {
            container: {
              modprobe: { moduleName: 'kmod' },
              imagePullPolicy: 'Never',
              kernelMappings: [
                { regexp: '^.+$', containerImage: 'registry.example/kmod:${KERNEL_FULL_VERSION}' },
              ],
            },
          },
        },
        spokeNamespace: 'drivers',
        selector: { [mc]: 'yes' },
      },
    });
    onCleanup(() => mcms.deleteIfExists(mc));

    const d = overlay.find((m) => m.kind === 'Deployment')! as Manifest & {
      spec: { template: { spec: { containers: { command: string[]; args: string[] }[] } } };
    };
    const c = d.spec.template.spec.containers[0]!;
    assert.deepEqual(c.command, ['hwe']);
    const child = spawn(
      process.execPath,
      [
        HWE_ENTRY,
        ...c.args,
        '--health-probe-bind-address',
        `127.0.0.1:${await freePort()}`,
        '--metrics-bind-address',
        `127.0.0.1:${await freePort()}`,
      ],
      {
        env: { ...process.env, OPERATOR_NAMESPACE: ns, KUBECONFIG: kubeconfig },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    onCleanup(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    );

    const works = new ResourceClient(client, ManifestWorks, 'test');
    await eventually(
      'the ManifestWork',
      async () => {
        if (child.exitCode !== null) throw new Error(`hwe kmm hub exited: ${log}`);
        return works.find(mc, mc);
      },
      120_000,
    );
    await eventually(
      'the MCM status',
      async () => (await mcms.get(mc)).status?.numberDesired === 1,
      60_000,
    );
    assert.doesNotMatch(log, /forbidden/i);
  });
});
