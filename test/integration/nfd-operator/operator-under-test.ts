/**
 * The NFD operator's controllers in the test process, against the test cluster, watching a
 * namespace of their own, with what the operator test files share to act on its objects.
 */
import {
  installCrds,
  NodeFeatureDiscoveries,
  type NodeFeatureDiscovery,
} from '../../../src/api/index.js';
import {
  createLogger,
  Manager,
  ResourceClient,
  silentLogger,
  type KubeObject,
  type ResourceType,
} from '../../../src/runtime/index.js';
import {
  loadOperandRbac,
  setupNfdOperator,
  type NfdOperatorOptions,
} from '../../../src/nfd/operator/index.js';
import { eventually, testCluster, testNamespace } from '../../support/cluster.js';

/** Sets the operator up (the caller starts and stops `mgr`). */
export async function operatorUnderTest(
  prefix: string,
  image: string,
  timing: Pick<NfdOperatorOptions, 'pruneWaitMs' | 'recheckMs'> = {},
) {
  const cluster = await testCluster();
  const { client } = cluster;
  await installCrds(client);
  const ns = await testNamespace(client, prefix);
  const settings = { rbac: loadOperandRbac(), image };
  const mgr = new Manager({
    client,
    name: 'nfd-operator-test',
    log: process.env.HWE_LOG_LEVEL ? createLogger({ name: 'nfd-operator-test' }) : silentLogger,
  });
  const { stats } = setupNfdOperator(mgr, { settings, namespace: ns, ...timing });
  const api = <T extends KubeObject>(t: ResourceType<T>) =>
    new ResourceClient<T>(client, t, 'test');
  const crApi = api<NodeFeatureDiscovery>(NodeFeatureDiscoveries);
  /** Deletes the CR and waits until it is gone (its finalizer done). */
  const deleteCr = async (name: string) => {
    await crApi.delete(name, { namespace: ns });
    await eventually(`${name} to be gone`, async () => !(await crApi.find(name, ns)), 120_000);
  };
  return { cluster, client, ns, settings, mgr, stats, api, crApi, deleteCr };
}
