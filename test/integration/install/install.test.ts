/**
 * Installs hwe with `kubectl apply -k` on the real control plane and proves the permissions:
 * every role equals docs/permissions.md, the apiserver grants each ServiceAccount exactly its
 * rows, and the KMM webhook and operator do their jobs as their own ServiceAccounts.
 *
 * A program runs "as in its pod": the Deployment's command, arguments and environment, and a
 * token the apiserver issued for the pod's ServiceAccount (TokenRequest). hwe reads an in-cluster
 * token only from the fixed path /var/run/secrets/kubernetes.io/serviceaccount, which a test
 * cannot provide per program, so the token and the cluster CA reach it through a kubeconfig
 * (KUBECONFIG) holding exactly that token. Ports are moved to free ones on 127.0.0.1, and the
 * webhook configuration points at the test's webhook process instead of the Service (the
 * apiserver cannot reach kwok's pods) and only at objects labelled for this test.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/version.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNodes,
  uniqueName,
  serviceAccountKubeconfig,
} from '../../support/cluster.js';
import { HWE_ENTRY } from '../../support/cli.js';
import { getInsecure } from '../../support/https.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';
import { startWorkerDriver } from '../../../src/cluster/kmm-workers.js';
import { freePort } from '../../../src/cluster/processes.js';
import {
  ConfigMaps,
  DaemonSets,
  Deployments,
  KubeClient,
  isKubeError,
  ResourceClient,
  ServiceAccounts,
  Services,
  loadKubeconfig,
  type ResourceType,
} from '../../../src/runtime/index.js';
import { NodeFeatureDiscoveries, type NodeFeatureDiscovery } from '../../../src/api/index.js';
import { FINALIZER, loadOperandRbac, renderOperands } from '../../../src/nfd/operator/index.js';
import {
  ClusterRoleBindings,
  ClusterRoles,
  RoleBindings,
  Roles,
} from '../../../src/nfd/operator/resources.js';
import { RegistryClient } from '../../../src/oci/index.js';
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
import { readyLabel } from '../../../src/kmm/common/index.js';

const cluster = await testCluster();
const client = cluster.client;
const kubectl = cluster.bin('kubectl');
const admin = { KUBECONFIG: cluster.kubeconfig };
const work = mkdtempSync(join(tmpdir(), 'hwe-install-'));
onCleanup(async () => rmSync(work, { recursive: true, force: true }));

const reg = await testRegistry({
  auth: 'htpasswd',
  users: [{ username: 'kmm', password: 'pw-kmm' }],
});
const id = uniqueName('install');
/** Objects the test's webhook looks at carry this label (see the overlay below). */
const TEST_LABEL = { 'hwe.io/install-test': id };

const rendered = parseManifests(run(kubectl, ['kustomize', join(CONFIG_DIR, 'default')]));
const find = (kind: string, name: string) => {
  const m = rendered.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(m, `config/default renders no ${kind} ${name}`);
  return m;
};

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}
const containerOf = (name: string, container: string): Container => {
  const d = find('Deployment', name) as Manifest & {
    spec: { template: { spec: { containers: Container[] } } };
  };
  const c = d.spec.template.spec.containers.find((x) => x.name === container);
  assert.ok(c, `Deployment ${name} has no container ${container}`);
  return c;
};

/** The container's environment as the kubelet would give it (fieldRefs to the namespace). */
function podEnv(c: Container, namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
  }
  return env;
}

/** Creates the namespace and ServiceAccount unless they exist. */
async function ensureServiceAccount(namespace: string, name: string): Promise<void> {
  const create = (path: string, body: object) =>
    client.request(path, { method: 'POST', body }).catch((e: unknown) => {
      if (!isKubeError(e) || e.kind !== 'AlreadyExists') throw e;
    });
  await create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
  await create(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name },
  });
}

/** A kubeconfig holding a fresh token of the ServiceAccount, from the TokenRequest API. */
function kubeconfigOf(namespace: string, name: string): Promise<string> {
  return serviceAccountKubeconfig(
    client,
    namespace,
    name,
    join(work, `${namespace}.${name}.kubeconfig`),
  );
}

/** Starts an hwe program as its Deployment runs it; resolves once `ready` shows in its log. */
function startProgram(
  c: Container,
  opts: { kubeconfig: string; namespace: string; extraArgs: string[]; ready: RegExp },
) {
  assert.deepEqual(c.command, ['hwe'], 'the image runs the hwe entry point');
  const child = spawn(process.execPath, [HWE_ENTRY, ...(c.args ?? []), ...opts.extraArgs], {
    env: { ...process.env, ...podEnv(c, opts.namespace), KUBECONFIG: opts.kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  onCleanup(stop);
  return eventually(
    `${c.args?.join(' ')} to start`,
    async () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${log}`);
      return opts.ready.test(log) ? { log: () => log, stop } : undefined;
    },
    120_000,
  );
}

describe('the manifests', () => {
  it('set every image in one place, operand images included', () => {
    const images = rendered.flatMap(
      (m) => JSON.stringify(m).match(/"(image|value)":"[^"]*hwe[^"]*"/g) ?? [],
    );
    assert.ok(images.length >= 6, images.join('\n'));
    for (const i of images) assert.match(i, /quay\.io\/hwe\/hwe:0\.1\.0/, i);
    const env = podEnv(containerOf('kmm-operator-controller-manager', 'manager'), 'x');
    assert.equal(env.RELATED_IMAGE_WORKER, 'quay.io/hwe/hwe:0.1.0');
  });

  it('install NFD or KMM alone through their overlays', () => {
    const deployments = (overlay: string) =>
      parseManifests(run(kubectl, ['kustomize', join(CONFIG_DIR, 'overlays', overlay)]))
        .filter((m) => m.kind === 'Deployment')
        .map((m) => `${m.metadata.namespace}/${m.metadata.name}`)
        .sort();
    assert.deepEqual(deployments('nfd'), ['openshift-nfd/nfd-controller-manager']);
    assert.deepEqual(deployments('kmm'), [
      'openshift-kmm/kmm-operator-controller-manager',
      'openshift-kmm/kmm-operator-webhook-server',
    ]);
  });

  it('grant each ServiceAccount exactly the rows of docs/permissions.md, and no wildcard', () => {
    assert.deepEqual(forbiddenRules(rendered), []);
    const granted = grantedRights(rendered);
    const documented = documentedRights();
    assert.deepEqual([...granted.keys()].sort(), [...documented.keys()].sort());
    for (const sa of documented.keys()) {
      assert.deepEqual(
        missing(granted.get(sa), documented.get(sa)),
        [],
        `${sa}: granted, not in the table`,
      );
      assert.deepEqual(
        missing(documented.get(sa), granted.get(sa)),
        [],
        `${sa}: in the table, not granted`,
      );
    }
  });
});

describe('kubectl apply -k', () => {
  let webhookPort = 0;
  const sel = uniqueName('install-sel');
  const KERNEL = '6.1.0-install.x86_64';
  const nodes = [`${sel}-a`, `${sel}-b`];

  before(async () => {
    webhookPort = await freePort();
    // An overlay of config/default, as a user writes one: the webhook configuration points at
    // the test's webhook process and at this test's objects only.
    const vwc = find(
      'ValidatingWebhookConfiguration',
      'kmm-operator-validating-webhook-configuration',
    ) as Manifest & {
      webhooks: { clientConfig: { service: { path: string } } }[];
    };
    const ops = vwc.webhooks.flatMap((w, i) => [
      {
        op: 'replace',
        path: `/webhooks/${i}/clientConfig`,
        value: { url: `https://127.0.0.1:${webhookPort}${w.clientConfig.service.path}` },
      },
      { op: 'add', path: `/webhooks/${i}/objectSelector`, value: { matchLabels: TEST_LABEL } },
    ]);
    const overlay = join(work, 'overlay');
    mkdirSync(overlay);
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      JSON.stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: [relative(overlay, join(CONFIG_DIR, 'default'))],
        patches: [
          {
            target: { kind: 'ValidatingWebhookConfiguration', name: vwc.metadata.name },
            patch: JSON.stringify(ops),
          },
        ],
      }),
    );
    onCleanup(async () => {
      run(
        kubectl,
        ['delete', 'validatingwebhookconfiguration', vwc.metadata.name, '--ignore-not-found'],
        { env: admin },
      );
      for (const m of rendered) {
        if (['ClusterRole', 'ClusterRoleBinding'].includes(m.kind))
          run(kubectl, ['delete', m.kind, m.metadata.name, '--ignore-not-found'], { env: admin });
      }
      run(
        kubectl,
        [
          'delete',
          'namespace',
          'openshift-kmm',
          'openshift-nfd',
          '--ignore-not-found',
          '--wait=false',
        ],
        { env: admin },
      );
    });
    const out = run(kubectl, ['apply', '-k', overlay], { env: admin });
    assert.match(
      out,
      /deployment\.apps\/kmm-operator-controller-manager created|configured|unchanged/,
    );
    // Somewhere for kwok to run the Deployments' pods, and the nodes the Module goes to.
    await testNodes(
      client,
      nodes.map((name) => ({ name, labels: { [sel]: 'yes' }, kernelVersion: KERNEL })),
    );
  });

  it('makes the operators available, as the install docs check it', async () => {
    await eventually(
      'kmm-operator-controller-manager 1/1 available',
      async () => {
        const out = run(
          kubectl,
          ['get', '-n', 'openshift-kmm', 'deployments.apps', 'kmm-operator-controller-manager'],
          { env: admin },
        );
        return /kmm-operator-controller-manager\s+1\/1\s+1\s+1\s/.test(out);
      },
      180_000,
      1000,
    );
    await eventually(
      'nfd-controller-manager Running',
      async () => {
        const out = run(kubectl, ['get', 'pods', '-n', 'openshift-nfd'], { env: admin });
        return /nfd-controller-manager-\S+\s+1\/1\s+Running/.test(out);
      },
      180_000,
      1000,
    );
    await eventually(
      'the webhook Deployment 2/2 available',
      async () =>
        /kmm-operator-webhook-server\s+2\/2/.test(
          run(kubectl, ['get', '-n', 'openshift-kmm', 'deployments.apps'], { env: admin }),
        ),
      180_000,
      1000,
    );
  });

  it('gives each ServiceAccount its documented rights, in its namespace only where so listed', async () => {
    for (const [sa, rights] of documentedRights()) {
      const [ns, name] = sa.split('/') as [string, string];
      // The cluster's Prometheus is not installed by hwe: stand in for its ServiceAccount.
      if (ns === 'openshift-monitoring') await ensureServiceAccount(ns, name);
      const asSa = new KubeClient(loadKubeconfig([await kubeconfigOf(ns, name)]));
      onCleanup(async () => asSa.close());
      /** The apiserver's answer for this identity (RBAC, whether or not the API is served). */
      const allowed = async (
        verb: string,
        group: string,
        resource: string,
        resName: string,
        namespace: string,
      ) => {
        const [res, sub] = resource.split('/');
        const review = await asSa.request<{ status: { allowed: boolean } }>(
          '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          {
            method: 'POST',
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: resource.startsWith('/')
                ? { nonResourceAttributes: { path: resource, verb } }
                : {
                    resourceAttributes: {
                      verb,
                      group,
                      resource: res,
                      ...(sub ? { subresource: sub } : {}),
                      ...(resName ? { name: resName } : {}),
                      ...(namespace ? { namespace } : {}),
                    },
                  },
            },
          },
        );
        return review.status.allowed;
      };
      const wrong: string[] = [];
      const clusterWide = new Set(
        [...rights]
          .filter((r) => r.split('|')[1] === 'cluster')
          .map((r) => r.split('|').slice(2).join('|')),
      );
      for (const r of rights) {
        const [, scope, group, resource, resName, verb] = r.split('|') as [
          string,
          string,
          string,
          string,
          string,
          string,
        ];
        if (!(await allowed(verb, group, resource, resName, scope === 'ns' ? ns : '')))
          wrong.push(`denied: ${r}`);
        // A namespaced right stops at the namespace's edge.
        if (
          scope === 'ns' &&
          !clusterWide.has([group, resource, resName, verb].join('|')) &&
          (await allowed(verb, group, resource, resName, 'default'))
        )
          wrong.push(`granted in namespace default too: ${r}`);
      }
      for (const [verb, group, resource] of [
        ['list', '', 'secrets'],
        ['watch', '', 'secrets'],
        ['create', 'rbac.authorization.k8s.io', 'clusterrolebindings'],
        ['delete', '', 'nodes'],
        ['impersonate', '', 'serviceaccounts'],
      ] as const) {
        if (clusterWide.has([group, resource, '', verb].join('|'))) continue; // its job
        if (await allowed(verb, group, resource, '', '')) wrong.push(`may ${verb} ${resource}`);
      }
      assert.deepEqual(wrong, [], sa);
    }
  });

  it('the webhook, as kmm-operator-webhook, provisions its certificate, admits and refuses', async () => {
    const c = containerOf('kmm-operator-webhook-server', 'webhook-server');
    const args = (c.args ?? []).filter(
      (a) => !a.startsWith('--port=') && !a.startsWith('--cert-dir='),
    );
    const hook = await startProgram(
      { ...c, args },
      {
        kubeconfig: await kubeconfigOf('openshift-kmm', 'kmm-operator-webhook'),
        namespace: 'openshift-kmm',
        extraArgs: [
          '--host=127.0.0.1',
          `--port=${webhookPort}`,
          '--ip=127.0.0.1',
          `--cert-dir=${join(work, 'certs')}`,
        ],
        ready: /serving on port/,
      },
    );
    await eventually(
      'the CA in the webhook configuration',
      async () => {
        const v = await client.request<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(
          '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/kmm-operator-validating-webhook-configuration',
        );
        return v.webhooks.every((w) => w.clientConfig.caBundle);
      },
      60_000,
    );
    const ns = uniqueName('install-ns');
    await client.request('/api/v1/namespaces', {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: TEST_LABEL } },
    });
    onCleanup(() =>
      client.request(`/api/v1/namespaces/${ns}`, { method: 'DELETE' }).catch(() => undefined),
    );
    const bad = moduleObject('bad', ns, '^6\\.1\\.(?=lookahead)');
    // Until the apiserver reaches the webhook, writes fail with another message: retried.
    const refusal = await eventually(
      'a refusal from the webhook',
      async () => {
        try {
          await client.request(`/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${ns}/modules`, {
            method: 'POST',
            body: bad,
          });
          return 'admitted';
        } catch (e) {
          return /denied the request/.test(String(e)) ? String(e) : undefined;
        }
      },
      60_000,
      500,
    );
    assert.match(
      refusal,
      /kernelMappings\[0\]\.regexp: does not compile as an RE2 regular expression/,
    );
    await client.request(`/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${ns}/modules`, {
      method: 'POST',
      body: moduleObject('good', ns, '^6\\.1\\.'),
    });
    // The namespace guard lists Modules (its ClusterRole): a namespace holding one stays.
    await assert.rejects(client.request(`/api/v1/namespaces/${ns}`, { method: 'DELETE' }), /good/);
    await client.request(`/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${ns}/modules/good`, {
      method: 'DELETE',
    });
    await client.request(`/api/v1/namespaces/${ns}`, { method: 'DELETE' });
    assert.doesNotMatch(hook.log(), /forbidden/i);
  });

  it('the KMM operator, as kmm-operator-controller, loads a Module on kwok nodes', async () => {
    const repo = `kmm/${id}`;
    const push = new RegistryClient({ registry: reg.host, tls: reg.tls, auth: reg.users[0]! });
    onCleanup(async () => push.close());
    await pushTestImage(push, repo, KERNEL, {
      layers: [[{ path: 'opt/lib/modules/x.ko', data: Buffer.from('ko') }]],
    });

    const ns = uniqueName('install-kmm');
    await client.request('/api/v1/namespaces', {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: TEST_LABEL } },
    });
    onCleanup(() =>
      client.request(`/api/v1/namespaces/${ns}`, { method: 'DELETE' }).catch(() => undefined),
    );
    const auth = Buffer.from(`${reg.users[0]!.username}:${reg.users[0]!.password}`).toString(
      'base64',
    );
    await client.request(`/api/v1/namespaces/${ns}/secrets`, {
      method: 'POST',
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'pull' },
        type: 'kubernetes.io/dockerconfigjson',
        data: {
          '.dockerconfigjson': Buffer.from(
            JSON.stringify({ auths: { [reg.host]: { auth } } }),
          ).toString('base64'),
        },
      },
    });
    const driver = await startWorkerDriver(
      client,
      (pod) => (nodes.includes(pod.spec.nodeName) ? 'succeed' : 'hold'),
      { namespace: ns },
    );
    onCleanup(() => driver.stop());

    const c = containerOf('kmm-operator-controller-manager', 'manager');
    const op = await startProgram(c, {
      kubeconfig: await kubeconfigOf('openshift-kmm', 'kmm-operator-controller'),
      namespace: 'openshift-kmm',
      extraArgs: ['--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=127.0.0.1:0'],
      ready: /"msg":"caches synced"/,
    });
    const m = moduleObject('install-ci', ns, undefined);
    m.spec.imageRepoSecret = { name: 'pull' };
    m.spec.selector = { [sel]: 'yes' };
    m.spec.moduleLoader.container.kernelMappings = [
      {
        literal: KERNEL,
        containerImage: `${reg.host}/${repo}:\${KERNEL_FULL_VERSION}`,
        registryTLS: { insecure: true },
      },
    ];
    m.spec.devicePlugin = { container: { image: 'registry.example/plugin:1' } };
    await client.request(`/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${ns}/modules`, {
      method: 'POST',
      body: m,
    });

    // A refused request ends the wait at once, naming what the role lacks.
    const outcome = await eventually(
      'the module ready on both nodes',
      async () => {
        const refused = /.*forbidden.*/i.exec(op.log());
        if (refused) return refused[0];
        for (const n of nodes) {
          const node = await client.request<{ metadata: { labels?: Record<string, string> } }>(
            `/api/v1/nodes/${n}`,
          );
          if (!(readyLabel(ns, 'install-ci') in (node.metadata.labels ?? {}))) return false;
        }
        return 'loaded';
      },
      180_000,
      500,
    );
    assert.equal(outcome, 'loaded');
    assert.ok(
      driver.seen.some((s) => s.startsWith('load ')),
      driver.seen.join(),
    );
    await eventually('the device-plugin DaemonSet', () =>
      client.request(`/apis/apps/v1/namespaces/${ns}/daemonsets/install-ci-device-plugin`),
    );
    await eventually('a ModuleLoaded event', async () => {
      const ev = await client.request<{ items: { reason: string }[] }>(
        `/api/v1/events?fieldSelector=reason=ModuleLoaded`,
      );
      return ev.items.length > 0;
    });
    const lease = await client.request<{ spec: { holderIdentity?: string } }>(
      '/apis/coordination.k8s.io/v1/namespaces/openshift-kmm/leases/kmm.sigs.x-k8s.io',
    );
    assert.ok(lease.spec.holderIdentity, 'the operator leads through its Lease');
    assert.doesNotMatch(op.log(), /forbidden/i, 'no request of the operator was refused');
  });
  it('the NFD operator, as nfd-manager, deploys the example NodeFeatureDiscovery and removes it', async () => {
    const c = containerOf('nfd-controller-manager', 'manager');
    const args = (c.args ?? []).filter(
      (a) =>
        !a.startsWith('--health-probe-bind-address=') && !a.startsWith('--metrics-bind-address='),
    );
    assert.ok(args.includes('--leader-elect'), args.join(' '));
    const env = podEnv(c, 'openshift-nfd');
    assert.equal(env.WATCH_NAMESPACE, 'openshift-nfd');
    assert.equal(env.RELATED_IMAGE_NFD, 'quay.io/hwe/hwe:0.1.0');
    const op = await startProgram(
      { ...c, args },
      {
        kubeconfig: await kubeconfigOf('openshift-nfd', 'nfd-manager'),
        namespace: 'openshift-nfd',
        extraArgs: [
          '--health-probe-bind-address=127.0.0.1:0',
          '--metrics-bind-address=127.0.0.1:0',
          '--metrics-secure', // as on :8443, which a loopback address is not by default
        ],
        ready: /"msg":"caches synced"/,
      },
    );
    // Its secure metrics, reviewed with the rights of the manifests: Prometheus' ServiceAccount
    // reads them, the operator's own does not, and nobody without a token.
    const port = Number(/"addr":"127\.0\.0\.1:(\d+)","scheme":"https"/.exec(op.log())?.[1]);
    await ensureServiceAccount('openshift-monitoring', 'prometheus-k8s');
    const token = async (namespace: string, name: string) =>
      loadKubeconfig([await kubeconfigOf(namespace, name)]).token!;
    assert.equal((await getInsecure(port, '/metrics')).status, 401);
    assert.equal(
      (await getInsecure(port, '/metrics', await token('openshift-nfd', 'nfd-manager'))).status,
      403,
    );
    const scrape = await getInsecure(
      port,
      '/metrics',
      await token('openshift-monitoring', 'prometheus-k8s'),
    );
    assert.equal(scrape.status, 200, scrape.body);
    assert.match(scrape.body, /controller_runtime_reconcile_total/);
    const example = join(PACKAGE_ROOT, 'examples', 'nfd', 'nodefeaturediscovery.yaml');
    run(kubectl, ['apply', '-f', example], { env: admin });
    const crApi = new ResourceClient<NodeFeatureDiscovery>(client, NodeFeatureDiscoveries, 'test');
    onCleanup(() => crApi.delete('nfd-instance', { namespace: 'openshift-nfd' }).catch(() => {}));

    // A refused request ends the wait at once, naming what the role lacks.
    const outcome = await eventually(
      'NodeFeatureDiscovery nfd-instance Available',
      async () => {
        const refused = /.*forbidden.*/i.exec(op.log());
        if (refused) return refused[0];
        const cr = await crApi.find('nfd-instance', 'openshift-nfd');
        const a = cr?.status?.conditions?.find((x) => x.type === 'Available');
        return a?.status === 'True' && a.observedGeneration === cr!.metadata.generation && cr;
      },
      240_000,
      500,
    );
    assert.notEqual(typeof outcome, 'string', typeof outcome === 'string' ? outcome : '');
    const cr = outcome as NodeFeatureDiscovery;
    assert.ok(cr.metadata.finalizers?.includes(FINALIZER));

    // Every operand the operator renders for this CR exists, of every kind.
    const types: Record<string, ResourceType> = {
      ServiceAccount: ServiceAccounts,
      Role: Roles,
      RoleBinding: RoleBindings,
      ClusterRole: ClusterRoles,
      ClusterRoleBinding: ClusterRoleBindings,
      ConfigMap: ConfigMaps,
      Service: Services,
      DaemonSet: DaemonSets,
      Deployment: Deployments,
    };
    const operands = renderOperands(cr, {
      image: env.RELATED_IMAGE_NFD,
      topologyUpdaterImage: env.RELATED_IMAGE_NFD_TOPOLOGY_UPDATER,
      rbac: loadOperandRbac(),
    }).objects;
    const find = (o: (typeof operands)[number]) => {
      const t = types[o.kind];
      assert.ok(t, `an operand of kind ${o.kind}`);
      return new ResourceClient(client, t, 'test').find(o.metadata.name!, o.metadata.namespace);
    };
    const names = operands.map((o) => `${o.kind} ${o.metadata.name}`).sort();
    for (const want of [
      'ConfigMap nfd-worker-conf',
      'DaemonSet nfd-worker',
      'Deployment nfd-master',
      'Deployment nfd-gc',
      'ServiceAccount nfd-master',
      'ServiceAccount nfd-worker',
      'ServiceAccount nfd-gc',
      'Role nfd-master',
      'Role nfd-worker',
      'RoleBinding nfd-master',
      'RoleBinding nfd-worker',
      'ClusterRole openshift-nfd:nfd-master',
      'ClusterRole openshift-nfd:nfd-gc',
      'ClusterRoleBinding openshift-nfd:nfd-master',
      'ClusterRoleBinding openshift-nfd:nfd-gc',
    ])
      assert.ok(names.includes(want), `${want} among ${names.join(', ')}`);
    for (const o of operands) assert.ok(await find(o), `${o.kind} ${o.metadata.name} exists`);

    // Deleting the CR: the finalizer removes every operand, then the CR goes.
    run(kubectl, ['delete', '-f', example, '--wait=false'], { env: admin });
    await eventually(
      'the NodeFeatureDiscovery and its operands gone',
      async () => {
        const refused = /.*forbidden.*/i.exec(op.log());
        if (refused) throw new Error(refused[0]);
        if (await crApi.find('nfd-instance', 'openshift-nfd')) return false;
        for (const o of operands) {
          const left = await find(o);
          if (left && !left.metadata.deletionTimestamp) return false;
        }
        return true;
      },
      180_000,
      500,
    );
    const lease = await client.request<{ spec: { holderIdentity?: string } }>(
      '/apis/coordination.k8s.io/v1/namespaces/openshift-nfd/leases/nfd-operator.nfd.openshift.io',
    );
    assert.ok(lease.spec.holderIdentity, 'the operator leads through its Lease');
    assert.doesNotMatch(op.log(), /forbidden/i, 'no request of the operator was refused');
  });
});

interface ModuleDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    selector: Record<string, string>;
    imageRepoSecret?: { name: string };
    devicePlugin?: unknown;
    moduleLoader: { container: { modprobe: { moduleName: string }; kernelMappings: unknown[] } };
  };
}

function moduleObject(name: string, namespace: string, regexp: string | undefined): ModuleDoc {
  return {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name, namespace, labels: TEST_LABEL },
    spec: {
      selector: { 'hwe.io/none': 'x' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'install_ci' },
          kernelMappings: regexp ? [{ regexp, containerImage: 'registry.example/m:1' }] : [],
        },
      },
    },
  };
}
