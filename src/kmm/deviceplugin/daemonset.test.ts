import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Module } from '../../api/index.js';
import {
  devicePluginDaemonSet,
  devicePluginName,
  devicePluginServiceAccount,
  planDevicePlugins,
  type DaemonSetObject,
} from './daemonset.js';
import { devicePluginVersionLabel, readyLabel, versionReadyLabel } from '../common/index.js';

interface PodSpec {
  nodeSelector: Record<string, string>;
  serviceAccountName: string;
  tolerations?: unknown;
  containers: { volumeMounts: { mountPath: string }[] }[];
}
const podSpec = (ds: { spec: unknown }) =>
  (ds.spec as { template: { spec: PodSpec } }).template.spec;

const owner = {
  apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
  kind: 'Module',
  name: 'm',
  uid: 'u',
  controller: true,
};
const base = (): Module => ({
  metadata: { name: 'm', namespace: 'ns' },
  spec: {
    selector: { gpu: 'yes' },
    moduleLoader: {
      container: {
        modprobe: { moduleName: 'm' },
        kernelMappings: [{ regexp: '.', containerImage: 'i:1' }],
      },
    },
    devicePlugin: { container: { image: 'plugin:1' } },
  },
});

const selector = (m: Module) => podSpec(devicePluginDaemonSet(m, owner, 'sa')!).nodeSelector;

test('the device plugin runs where the module is ready', () => {
  assert.deepEqual(selector(base()), { gpu: 'yes', [readyLabel('ns', 'm')]: '' });
});

test('with a version, only where that version is ready (ordered upgrade)', () => {
  const m = base();
  m.spec.moduleLoader!.container.version = 'v2';
  assert.deepEqual(selector(m), { gpu: 'yes', [versionReadyLabel('ns', 'm')]: 'v2' });
});

test('without moduleLoader (in-tree driver), on every selected node', () => {
  const m = base();
  delete m.spec.moduleLoader;
  assert.deepEqual(selector(m), { gpu: 'yes' });
});

test('no devicePlugin, no DaemonSet; kubelet plugin directory mounted; owner set', () => {
  const m = base();
  const ds = devicePluginDaemonSet(m, owner, 'sa')!;
  const spec = podSpec(ds);
  assert.equal(ds.metadata.name, 'm-device-plugin');
  assert.deepEqual(ds.metadata.ownerReferences, [owner]);
  assert.equal(spec.serviceAccountName, 'sa');
  assert.equal(spec.containers[0]!.volumeMounts[0]!.mountPath, '/var/lib/kubelet/device-plugins');
  assert.equal(spec.tolerations, undefined);
  delete m.spec.devicePlugin;
  assert.equal(devicePluginDaemonSet(m, owner, 'sa'), undefined);
});

test('service account: the Module’s, else the trusted one in the operator namespace, else default', () => {
  const sec = {
    operatorNamespace: 'openshift-kmm',
    workerServiceAccount: 'w',
    devicePluginServiceAccount: 'dp',
  };
  assert.equal(devicePluginServiceAccount(base(), sec), 'default');
  const trusted = base();
  trusted.metadata.namespace = 'openshift-kmm';
  assert.equal(devicePluginServiceAccount(trusted, sec), 'dp');
  const own = base();
  own.spec.devicePlugin!.serviceAccountName = 'mine';
  assert.equal(devicePluginServiceAccount(own, sec), 'mine');
});

const versioned = (v: string): Module => {
  const m = base();
  m.spec.moduleLoader!.container.version = v;
  return m;
};
const ds = (m: Module) => devicePluginDaemonSet(m, owner, 'sa')!;
const names = (l: readonly DaemonSetObject[]) => l.map((d) => d.metadata.name).sort();

test('one DaemonSet per version: named, labelled and selecting its pods by version', () => {
  const d = ds(versioned('v2'));
  const vl = devicePluginVersionLabel('ns', 'm');
  assert.equal(d.metadata.name, 'm-device-plugin-v2');
  assert.equal(d.metadata.labels?.[vl], 'v2');
  assert.deepEqual((d.spec.selector as { matchLabels: Record<string, string> }).matchLabels, {
    'kmm.node.kubernetes.io/device-plugin': 'm',
    [vl]: 'v2',
  });
  assert.equal(ds(base()).metadata.name, 'm-device-plugin', 'no version, no suffix');
  // Versions that are not name parts get a hash, so that they never collide.
  const a = devicePluginName(versioned('1.0_RC'));
  const b = devicePluginName(versioned('1.0-rc'));
  assert.match(a, /^m-device-plugin-1-0-rc-[0-9a-f]{10}$/);
  assert.notEqual(a, b);
});

test('an older version keeps its DaemonSet while a node runs it, then it goes', () => {
  const v1 = ds(versioned('v1'));
  const v2 = ds(versioned('v2'));
  const m = versioned('v2');
  const mid = planDevicePlugins(m, [v1], new Set(['v1', 'v2']), owner, 'sa');
  assert.equal(mid.want?.metadata.name, 'm-device-plugin-v2');
  assert.equal(mid.have, undefined, 'the v2 DaemonSet is created beside');
  assert.deepEqual(names(mid.keep), ['m-device-plugin-v1']);
  assert.deepEqual(mid.remove, []);
  const both = planDevicePlugins(m, [v1, v2], new Set(['v1']), owner, 'sa');
  assert.equal(both.have, v2, 'the current one is updated in place');
  assert.deepEqual(names(both.keep), ['m-device-plugin-v1'], 'untouched: its nodes keep v1');
  const done = planDevicePlugins(m, [v1, v2], new Set(['v2']), owner, 'sa');
  assert.deepEqual(names(done.remove), ['m-device-plugin-v1']);
  assert.deepEqual(done.keep, []);
});

test('a DaemonSet made before the version label is replaced; no devicePlugin removes all', () => {
  const legacy = ds(base());
  (legacy.spec.template as { spec: PodSpec }).spec.nodeSelector = {
    gpu: 'yes',
    [versionReadyLabel('ns', 'm')]: 'v1',
  };
  const p = planDevicePlugins(versioned('v1'), [legacy], new Set(['v1']), owner, 'sa');
  assert.equal(p.have, undefined);
  assert.deepEqual(names(p.remove), ['m-device-plugin']);
  const older = planDevicePlugins(versioned('v2'), [legacy], new Set(['v1']), owner, 'sa');
  assert.deepEqual(names(older.keep), ['m-device-plugin'], 'read as the v1 DaemonSet');
  const gone = versioned('v2');
  delete gone.spec.devicePlugin;
  const none = planDevicePlugins(gone, [ds(versioned('v1'))], new Set(['v1']), owner, 'sa');
  assert.equal(none.want, undefined);
  assert.deepEqual(names(none.remove), ['m-device-plugin-v1']);
});

test('without moduleLoader the single DaemonSet is kept and updated', () => {
  const m = base();
  delete m.spec.moduleLoader;
  const p = planDevicePlugins(m, [ds(m)], new Set(), owner, 'sa');
  assert.equal(p.have?.metadata.name, 'm-device-plugin');
  assert.deepEqual(p.remove, []);
});
