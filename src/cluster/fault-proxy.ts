/**
 * A TCP proxy on 127.0.0.1 between a program and the apiserver, to inject network faults: drop
 * every open connection (as a load balancer or a NAT table losing its state would), or stall
 * them (bytes stop flowing both ways, connections stay open; new ones are accepted but stalled
 * too) until resumed. TLS passes through untouched: the apiserver's certificate names
 * 127.0.0.1, whatever the port.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FaultProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Closes every open connection at once (RST to both ends). */
  drop(): number;
  /** Stops forwarding bytes until resume(); open connections stay open. */
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: {
  host?: string;
  port: number;
}): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket]>();
  /** Bytes held back while stalled, per destination socket, in order. */
  const held = new Map<Socket, Buffer[]>();
  let stalled = false;
  const forward = (from: Socket, to: Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (stalled) {
        const q = held.get(to) ?? [];
        q.push(chunk);
        held.set(to, q);
      } else {
        to.write(chunk);
      }
    });
  let accepted = 0;
  const server: Server = createServer((down) => {
    accepted++;
    const up = connect(target.port, target.host ?? '127.0.0.1');
    const pair: [Socket, Socket] = [down, up];
    pairs.add(pair);
    forward(down, up);
    forward(up, down);
    const end = () => {
      pairs.delete(pair);
      held.delete(down);
      held.delete(up);
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('fault proxy: no port');
  const drop = () => {
    const n = pairs.size;
    for (const [a, b] of pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    pairs.clear();
    held.clear();
    return n;
  };
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    drop,
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const [to, q] of held) for (const chunk of q) to.write(chunk);
      held.clear();
    },
    close() {
      drop();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
