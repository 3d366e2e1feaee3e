/**
 * A manager in its own process, for leader-election tests that kill or signal the leader:
 *   node leader-child.js KUBECONFIG NAMESPACE LEASE SET IDENTITY
 * Prints one JSON line per happening ({"event":"leading"}, {"event":"reconcile","name":…},
 * {"event":"stopped"}) on stdout.
 */
import { KubeClient, loadKubeconfig, Manager, silentLogger } from '../../../src/runtime/index.js';
import { mirrorController } from './sample.js';

const [kubeconfig, namespace, lease, set, identity] = process.argv.slice(2);
if (!kubeconfig || !namespace || !lease || !set || !identity) {
  process.stderr.write('usage: leader-child KUBECONFIG NAMESPACE LEASE SET IDENTITY\n');
  process.exit(2);
}
const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');
const client = new KubeClient(loadKubeconfig([kubeconfig]));
const mgr = new Manager({
  client,
  name: 'leader-child',
  log: silentLogger,
  leaderElection: { namespace, name: lease, identity },
}).stopOnSignals();
mirrorController(mgr, set, { started: (req) => say({ event: 'reconcile', name: req.name }) });
mgr.add({
  name: 'announce',
  needLeaderElection: true,
  start: async () => {
    say({ event: 'leading' });
  },
});
await mgr.start();
say({ event: 'started' });
await mgr.wait();
say({ event: 'stopped' });
client.close();
