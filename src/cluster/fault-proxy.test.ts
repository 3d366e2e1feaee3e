import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { startFaultProxy } from './fault-proxy.js';

/** An echo server on 127.0.0.1. */
async function echo(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => srv.close(() => r()));
    },
  };
}

function client(port: number): Promise<Socket & { got: () => string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const s = connect(port, '127.0.0.1', () => resolve(Object.assign(s, { got: () => data })));
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.on('error', reject);
  });
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

test('the proxy forwards both ways, holds bytes while stalled and delivers them on resume', async () => {
  const e = await echo();
  const p = await startFaultProxy({ port: e.port });
  const c = await client(p.port);
  c.write('one');
  await until(() => c.got() === 'one');
  assert.equal(c.got(), 'one');
  p.stall();
  c.write('two');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(c.got(), 'one', 'nothing flows while stalled');
  p.resume();
  await until(() => c.got() === 'onetwo');
  assert.equal(c.got(), 'onetwo');
  assert.equal(p.accepted, 1);
  c.destroy();
  await p.close();
  await e.close();
});

test('drop resets every open connection; new ones are accepted afterwards', async () => {
  const e = await echo();
  const p = await startFaultProxy({ port: e.port });
  const a = await client(p.port);
  const b = await client(p.port);
  const closed = Promise.all(
    [a, b].map((s) => new Promise<void>((r) => s.on('close', () => r()).on('error', () => r()))),
  );
  await until(() => p.accepted === 2);
  assert.equal(p.drop(), 2);
  await closed;
  const c = await client(p.port);
  c.write('again');
  await until(() => c.got() === 'again');
  assert.equal(c.got(), 'again');
  c.destroy();
  await p.close();
  await e.close();
});
