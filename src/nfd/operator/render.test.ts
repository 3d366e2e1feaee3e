import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { NodeFeatureDiscovery } from '../../api/index.js';
import { PACKAGE_ROOT } from '../../version.js';
import { OWNER_ANNOTATION } from './constants.js';
import { loadOperandRbac } from './rbac.js';
import { renderOperands, RenderError, workerConfigText, type Operand } from './render.js';
import { validateWorkerConfig } from './worker-config.js';

const rbac = loadOperandRbac();
const settings = { rbac, image: 'quay.io/hwe/hwe:env' };

function cr(spec: NodeFeatureDiscovery['spec'] = {}, ns = 'openshift-nfd'): NodeFeatureDiscovery {
  return { metadata: { name: 'nfd-instance', namespace: ns, uid: 'uid-1' }, spec };
}

const seed = parse(
  readFileSync(join(PACKAGE_ROOT, 'examples/nfd/nodefeaturediscovery.yaml'), 'utf8'),
) as NodeFeatureDiscovery;
seed.metadata.uid = 'uid-seed';

interface Pod {
  serviceAccountName: string;
  containers: {
    name: string;
    image: string;
    imagePullPolicy: string;
    command: string[];
    args: string[];
    env: { name: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  }[];
  volumes?: { name: string; hostPath?: { path: string }; configMap?: { name: string } }[];
  tolerations: { key?: string }[];
  nodeSelector?: Record<string, string>;
}

const find = (objs: Operand[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} rendered`);
  return o;
};
const pod = (o: Operand) => (o.spec as { template: { spec: Pod } }).template.spec;
const ids = (objs: Operand[]) =>
  objs.map(
    (o) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`,
  );

test('the seed CR renders every operand, in apply order', () => {
  const r = renderOperands(seed, settings);
  assert.deepEqual(ids(r.objects), [
    'ServiceAccount/openshift-nfd/nfd-master',
    'ClusterRole/openshift-nfd:nfd-master',
    'ClusterRoleBinding/openshift-nfd:nfd-master',
    'Role/openshift-nfd/nfd-master',
    'RoleBinding/openshift-nfd/nfd-master',
    'ServiceAccount/openshift-nfd/nfd-worker',
    'Role/openshift-nfd/nfd-worker',
    'RoleBinding/openshift-nfd/nfd-worker',
    'ServiceAccount/openshift-nfd/nfd-gc',
    'ClusterRole/openshift-nfd:nfd-gc',
    'ClusterRoleBinding/openshift-nfd:nfd-gc',
    'ConfigMap/openshift-nfd/nfd-worker-conf',
    'Service/openshift-nfd/nfd-master',
    'Service/openshift-nfd/nfd-gc',
    'Deployment/openshift-nfd/nfd-master',
    'DaemonSet/openshift-nfd/nfd-worker',
    'Deployment/openshift-nfd/nfd-gc',
  ]);
  // The topology updater is off.
  assert.ok(!ids(r.objects).some((x) => x.includes('topology')));
  assert.deepEqual(r.warnings, []);
});

test('namespaced operands are controlled by the CR; cluster-scoped ones name it', () => {
  for (const o of renderOperands(seed, settings).objects) {
    if (o.metadata.namespace) {
      assert.deepEqual(o.metadata.ownerReferences, [
        {
          apiVersion: 'nfd.openshift.io/v1',
          kind: 'NodeFeatureDiscovery',
          name: 'nfd-instance',
          uid: 'uid-seed',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    } else {
      assert.equal(o.metadata.ownerReferences, undefined, o.metadata.name);
      assert.equal(o.metadata.annotations?.[OWNER_ANNOTATION], 'openshift-nfd/nfd-instance');
    }
    assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'nfd-operator');
    // Label values allow no ":": cluster-scoped objects carry the component's name.
    assert.match(o.metadata.labels?.app ?? '', /^nfd-[a-z-]+$/);
  }
});

test('the worker DaemonSet: host paths read-only, downward API, config as a directory', () => {
  const p = pod(find(renderOperands(seed, settings).objects, 'DaemonSet', 'nfd-worker'));
  const c = p.containers[0]!;
  assert.equal(c.image, 'registry.redhat.io/openshift4/ose-node-feature-discovery:v4.12');
  assert.equal(c.imagePullPolicy, 'Always');
  assert.deepEqual(c.command, ['nfd-worker']);
  assert.deepEqual(c.args, ['-config=/etc/kubernetes/node-feature-discovery/nfd-worker.conf']);
  assert.equal(p.serviceAccountName, 'nfd-worker');
  assert.deepEqual(
    c.env.find((e) => e.name === 'NODE_NAME'),
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
  );
  const mounts = new Map(c.volumeMounts!.map((m) => [m.mountPath, m]));
  for (const path of [
    '/host-boot',
    '/host-etc/os-release',
    '/host-sys',
    '/host-proc',
    '/host-lib',
    '/host-usr/lib',
  ]) {
    assert.equal(mounts.get(path)?.readOnly, true, path);
  }
  assert.ok(
    c.volumeMounts!.every((m) => m.readOnly === true),
    'every mount is read-only',
  );
  // A subPath mount never sees ConfigMap updates: the whole directory is mounted.
  const conf = mounts.get('/etc/kubernetes/node-feature-discovery')!;
  assert.equal((conf as { subPath?: string }).subPath, undefined);
  const vol = p.volumes!.find((v) => v.name === conf.name)!;
  assert.equal(vol.configMap?.name, 'nfd-worker-conf');
  const host = p.volumes!.find((v) => v.name === mounts.get('/host-sys')!.name)!;
  assert.equal(host.hostPath?.path, '/sys');
});

test('image and pull policy: CR first, then the operator setting; none is an error', () => {
  const table: {
    spec: NodeFeatureDiscovery['spec'];
    image?: string;
    want: string | RegExp;
    pull?: string;
  }[] = [
    {
      spec: { operand: { image: 'mirror:5000/nfd@sha256:ab' } },
      image: 'x',
      want: 'mirror:5000/nfd@sha256:ab',
    },
    { spec: {}, image: 'quay.io/hwe/hwe:1', want: 'quay.io/hwe/hwe:1', pull: 'Always' },
    {
      spec: { operand: { imagePullPolicy: 'IfNotPresent' } },
      image: 'i',
      want: 'i',
      pull: 'IfNotPresent',
    },
    {
      spec: { operand: { image: '' } },
      image: undefined,
      want: /spec\.operand\.image: is empty.*RELATED_IMAGE_NFD/,
    },
  ];
  for (const t of table) {
    const run = () => renderOperands(cr(t.spec), { rbac, image: t.image });
    if (t.want instanceof RegExp) {
      assert.throws(
        run,
        (e: Error) =>
          e instanceof RenderError && t.want instanceof RegExp && t.want.test(e.message),
      );
      continue;
    }
    for (const o of run().objects.filter(
      (x) => x.kind === 'DaemonSet' || x.kind === 'Deployment',
    )) {
      assert.equal(pod(o).containers[0]!.image, t.want);
      if (t.pull) assert.equal(pod(o).containers[0]!.imagePullPolicy, t.pull);
    }
  }
});

test('master flags come from the CR; leader election only with more than one replica', () => {
  const table: { spec: NodeFeatureDiscovery['spec']; args: string[]; replicas: number }[] = [
    { spec: {}, args: ['-port=8080'], replicas: 1 },
    {
      spec: {
        instance: 'blue',
        extraLabelNs: ['vendor.example.com', 'other.io'],
        labelWhiteList: '^cpu-',
        enableTaints: true,
      },
      args: [
        '-port=8080',
        '-instance=blue',
        '-extra-label-ns=vendor.example.com,other.io',
        '-label-whitelist=^cpu-',
        '-enable-taints',
      ],
      replicas: 1,
    },
    {
      spec: { operand: { masterReplicas: 3 } },
      args: ['-port=8080', '-enable-leader-election'],
      replicas: 3,
    },
  ];
  for (const t of table) {
    const objs = renderOperands(cr(t.spec), settings).objects;
    const name = t.spec?.instance ? `nfd-master-${t.spec.instance}` : 'nfd-master';
    const d = find(objs, 'Deployment', name);
    assert.deepEqual(pod(d).containers[0]!.args, t.args);
    assert.equal((d.spec as { replicas: number }).replicas, t.replicas);
  }
});

test('tolerations and node selectors: CR values added to the control-plane tolerations', () => {
  const tol = { key: 'gpu', operator: 'Exists', effect: 'NoSchedule' } as const;
  const objs = renderOperands(
    cr({
      operand: {
        workerTolerations: [tol],
        workerNodeSelector: { 'feature.node.kubernetes.io/pci-10de.present': 'true' },
        masterTolerations: [{ key: 'infra', operator: 'Exists' }],
        masterNodeSelector: { 'node-role.kubernetes.io/infra': '' },
      },
    }),
    settings,
  ).objects;
  const w = pod(find(objs, 'DaemonSet', 'nfd-worker'));
  assert.deepEqual(
    w.tolerations.map((t) => t.key),
    ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master', 'gpu'],
  );
  assert.deepEqual(w.nodeSelector, { 'feature.node.kubernetes.io/pci-10de.present': 'true' });
  const m = pod(find(objs, 'Deployment', 'nfd-master'));
  assert.equal(m.tolerations.at(-1)!.key, 'infra');
  assert.deepEqual(m.nodeSelector, { 'node-role.kubernetes.io/infra': '' });
  const plain = pod(find(renderOperands(cr(), settings).objects, 'DaemonSet', 'nfd-worker'));
  assert.equal(plain.nodeSelector, undefined);
});

test('the topology updater: upstream flags and host paths, only when asked for', () => {
  for (const spec of [{ topologyupdater: true }, { topologyUpdater: true }]) {
    const r = renderOperands(cr(spec), { ...settings, topologyUpdaterImage: 'reg/topo:1' });
    const p = pod(find(r.objects, 'DaemonSet', 'nfd-topology-updater'));
    const c = p.containers[0]!;
    assert.deepEqual(c.command, ['nfd-topology-updater']);
    assert.equal(c.image, 'reg/topo:1');
    assert.deepEqual(c.args, [
      '-kubelet-config-file=/host-var/lib/kubelet/config.yaml',
      '-podresources-socket=/host-var/lib/kubelet/pod-resources/kubelet.sock',
      '-sleep-interval=60s',
      '-watch-namespace=*',
    ]);
    // The kubelet's directory is mounted whole (read-only): a mount of the socket file itself
    // would go stale when the kubelet makes a new socket, and the state files are watched.
    assert.deepEqual(c.volumeMounts!.map((m) => m.mountPath).sort(), [
      '/host-sys',
      '/host-var/lib/kubelet',
    ]);
    assert.ok(c.volumeMounts!.every((m) => m.readOnly));
    for (const flag of c.args.filter((a) => a.includes('=/'))) {
      const path = flag.slice(flag.indexOf('=') + 1);
      assert.ok(
        c.volumeMounts!.some((m) => path.startsWith(`${m.mountPath}/`)),
        `${flag} lies under a mount`,
      );
    }
    find(r.objects, 'ClusterRoleBinding', 'openshift-nfd:nfd-topology-updater');
  }
});

test('instances get their own names; two namespaces never share a cluster-scoped name', () => {
  const a = ids(renderOperands(cr({ instance: 'blue' }), settings).objects);
  const b = ids(renderOperands(cr({ instance: 'green' }), settings).objects);
  const c = ids(renderOperands(cr({ instance: 'blue' }, 'other'), settings).objects);
  assert.ok(a.includes('DaemonSet/openshift-nfd/nfd-worker-blue'));
  assert.ok(a.includes('ConfigMap/openshift-nfd/nfd-worker-conf-blue'));
  assert.ok(a.includes('ClusterRole/openshift-nfd:nfd-master-blue'));
  assert.equal(a.filter((x) => b.includes(x)).length, 0);
  assert.equal(a.filter((x) => c.includes(x)).length, 0);
});

test('RBAC comes from config/nfd/operands, bound to the operand ServiceAccount', () => {
  const objs = renderOperands(seed, settings).objects;
  const role = find(objs, 'ClusterRole', 'openshift-nfd:nfd-master');
  assert.deepEqual(role.rules, rbac['nfd-master'].cluster);
  const binding = find(objs, 'ClusterRoleBinding', 'openshift-nfd:nfd-master');
  assert.deepEqual(binding.subjects, [
    { kind: 'ServiceAccount', name: 'nfd-master', namespace: 'openshift-nfd' },
  ]);
  assert.deepEqual(binding.roleRef, {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'ClusterRole',
    name: 'openshift-nfd:nfd-master',
  });
  assert.deepEqual(find(objs, 'Role', 'nfd-worker').rules, [
    {
      apiGroups: ['nfd.k8s-sigs.io'],
      resources: ['nodefeatures'],
      verbs: ['get', 'create', 'update'],
    },
  ]);
});

test('metrics Services: the master on operand.servicePort', () => {
  const objs = renderOperands(cr({ operand: { servicePort: 12000 } }), settings).objects;
  const s = find(objs, 'Service', 'nfd-master').spec as {
    ports: { port: number; targetPort: string }[];
  };
  assert.deepEqual(
    s.ports.map((p) => [p.port, p.targetPort]),
    [[12000, 'metrics']],
  );
});

test('worker config: workerConfig as written, customConfig rules added to sources.custom', () => {
  const table: { spec: NodeFeatureDiscovery['spec']; want: unknown; verbatim?: boolean }[] = [
    { spec: {}, want: null },
    {
      spec: { workerConfig: { configData: 'core:\n  sleepInterval: 10s # fast\n' } },
      want: { core: { sleepInterval: '10s' } },
      verbatim: true,
    },
    {
      spec: {
        workerConfig: { configData: 'core:\n  sleepInterval: 10s\n' },
        customConfig: { configData: '- name: a\n  matchOn:\n    - loadedKMod: [x]\n' },
      },
      want: {
        core: { sleepInterval: '10s' },
        sources: { custom: [{ name: 'a', matchOn: [{ loadedKMod: ['x'] }] }] },
      },
    },
    {
      spec: {
        workerConfig: { configData: 'sources:\n  custom:\n    - name: first\n' },
        customConfig: { configData: '- name: second\n' },
      },
      want: { sources: { custom: [{ name: 'first' }, { name: 'second' }] } },
    },
  ];
  for (const t of table) {
    const text = workerConfigText(cr(t.spec));
    assert.deepEqual(parse(text) ?? null, t.want);
    if (t.verbatim) assert.equal(text, t.spec?.workerConfig?.configData);
  }
  const seedText = workerConfigText(seed);
  assert.match(seedText, /# NOTE: whitelist has priority over blacklist/, 'comments kept');
  assert.deepEqual((parse(seedText) as { sources: { custom: unknown } }).sources.custom, [
    { name: 'more.kernel.features', matchOn: [{ loadedKMod: ['example_kmod3'] }] },
  ]);
});

test('invalid specs name the field and the fix', async () => {
  const table: { spec: NodeFeatureDiscovery['spec']; field: string }[] = [
    { spec: { instance: 'Blue_1' }, field: 'spec.instance' },
    { spec: { instance: 'x'.repeat(41) }, field: 'spec.instance' },
    { spec: { labelWhiteList: '([a-z' }, field: 'spec.labelWhiteList' },
    { spec: { extraLabelNs: ['ok.io', 'not ok'] }, field: 'spec.extraLabelNs[1]' },
    { spec: { workerConfig: { configData: 'core: [1' } }, field: 'spec.workerConfig.configData' },
    { spec: { workerConfig: { configData: '- a\n- b\n' } }, field: 'spec.workerConfig.configData' },
    { spec: { customConfig: { configData: 'name: x\n' } }, field: 'spec.customConfig.configData' },
    {
      spec: {
        workerConfig: { configData: 'sources:\n  custom: {a: 1}\n' },
        customConfig: { configData: '- name: x\n' },
      },
      field: 'spec.workerConfig.configData',
    },
  ];
  for (const t of table) {
    assert.throws(
      () => renderOperands(cr(t.spec), settings),
      (e: Error) =>
        e instanceof RenderError && e.field === t.field && e.message.startsWith(`${t.field}: `),
      JSON.stringify(t.spec),
    );
  }
  // Options the worker itself refuses are found before the roll-out.
  const bad = renderOperands(
    cr({ workerConfig: { configData: 'core:\n  sleepIntervall: 1s\n' } }),
    settings,
  );
  await assert.rejects(
    validateWorkerConfig(bad.objects),
    (e: Error) =>
      e instanceof RenderError &&
      /spec\.workerConfig\.configData: .*sleepIntervall/.test(e.message),
  );
  await validateWorkerConfig(renderOperands(seed, settings).objects);
});

test('resourceLabels is accepted with a warning that says what to use instead', () => {
  const r = renderOperands(cr({ resourceLabels: ['a'] }), settings);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /^spec\.resourceLabels: .*extendedResources/);
});

test('rendering is deterministic', () => {
  assert.deepEqual(renderOperands(seed, settings), renderOperands(seed, settings));
});
