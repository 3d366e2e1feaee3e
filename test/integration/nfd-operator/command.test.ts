/**
 * `hwe nfd operator` as a user runs it from a workstation: --kubeconfig, --namespace, the operand
 * image from RELATED_IMAGE_NFD when the CR names none; SIGTERM stops it cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, onCleanup, testCluster, testNamespace } from '../../support/cluster.js';
import { runHwe, startHwe } from '../../support/cli.js';
import {
  installCrds,
  NodeFeatureDiscoveries,
  type NodeFeatureDiscovery,
} from '../../../src/api/index.js';
import { DaemonSets, ResourceClient, type KubeObject } from '../../../src/runtime/index.js';

const cluster = await testCluster();
await installCrds(cluster.client);

test('hwe nfd operator deploys a CR of its namespace with the image of RELATED_IMAGE_NFD', async () => {
  const ns = await testNamespace(cluster.client, 'nfd-op-cmd');
  const { child, log, exited } = startHwe(
    [
      'nfd',
      'operator',
      '--kubeconfig',
      cluster.kubeconfig,
      '--namespace',
      ns,
      '--health-probe-bind-address',
      '127.0.0.1:0',
      '--metrics-bind-address',
      '127.0.0.1:0',
    ],
    { env: { RELATED_IMAGE_NFD: 'registry.example/hwe@sha256:0123' } },
  );
  onCleanup(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  const crs = new ResourceClient<NodeFeatureDiscovery>(
    cluster.client,
    NodeFeatureDiscoveries,
    'test',
  );
  await crs.create({
    apiVersion: 'nfd.openshift.io/v1',
    kind: 'NodeFeatureDiscovery',
    metadata: { name: 'nfd-instance', namespace: ns },
    spec: {},
  });
  type Ds = KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } };
  const ds = await eventually(
    'the worker DaemonSet',
    () => new ResourceClient<Ds>(cluster.client, DaemonSets, 'test').find('nfd-worker', ns),
    60_000,
  );
  assert.equal(ds.spec.template.spec.containers[0]!.image, 'registry.example/hwe@sha256:0123');
  assert.match(log(), /"msg":"nfd operator"/);

  child.kill('SIGTERM');
  assert.equal(await exited, 0, log().slice(-2000));
  await crs.patch('nfd-instance', { metadata: { finalizers: null } }, { namespace: ns });
});

test('hwe nfd operator refuses a kubeconfig it cannot read, naming it', async () => {
  const r = await runHwe(['nfd', 'operator', '--kubeconfig', '/nonexistent/kubeconfig']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--kubeconfig \/nonexistent\/kubeconfig: no such file/);
});
