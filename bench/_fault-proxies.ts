/**
 * Fault proxies (src/cluster/fault-proxy.ts) in a process of their own, so that the bench's own
 * work never holds up the controllers' traffic: `node _fault-proxies.js TARGET_PORT COUNT`
 * answers {type: 'ready', ports} and then {op: 'drop' | 'stall' | 'resume', index} messages
 * with {type: 'done', index, n}.
 */
import { startFaultProxy } from '../src/cluster/fault-proxy.js';

const [port, count] = process.argv.slice(2).map(Number);
const proxies = await Promise.all(
  Array.from({ length: count! }, () => startFaultProxy({ port: port! })),
);
process.on('message', (m: { op: 'drop' | 'stall' | 'resume'; index: number }) => {
  const p = proxies[m.index]!;
  const n = m.op === 'drop' ? p.drop() : (p[m.op](), 0);
  process.send!({ type: 'done', index: m.index, n });
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', ports: proxies.map((p) => p.port) });
