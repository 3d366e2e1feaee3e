import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Module } from '../../api/index.js';
import { readyLabel, versionReadyLabel } from '../module/labels.js';
import { devicePluginDaemonSet, devicePluginServiceAccount } from './daemonset.js';

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
const base = (): Module =>
  ({
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
  }) as Module;

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
