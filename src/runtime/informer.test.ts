import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceClient, WatchEvent, WatchOptions } from './api.js';
import { KubeError } from './client.js';
import { Informer } from './informer.js';
import type { KubeObject } from './objects.js';
import { ConfigMaps } from './resources.js';

const cm = (name: string, rv: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  metadata: {
    name,
    namespace: 'ns',
    resourceVersion: rv,
    managedFields: [{ manager: 'x' }],
    ...extra,
  },
});

type Script = (o: WatchOptions) => AsyncGenerator<WatchEvent<KubeObject>>;

/** A scripted apiserver: each list and each watch plays the next script. */
function fakeApi(lists: { items: KubeObject[]; rv: string }[], watches: Script[]) {
  const watchedFrom: string[] = [];
  let listCalls = 0;
  const api = {
    type: ConfigMaps,
    async listAll(o: { onPage?: (items: KubeObject[]) => void }) {
      listCalls++;
      const r = lists.shift();
      if (!r) throw new KubeError('Unavailable', 0, 'no more lists scripted');
      o.onPage!(structuredClone(r.items));
      return { items: [], resourceVersion: r.rv };
    },
    watch(o: WatchOptions) {
      watchedFrom.push(o.resourceVersion ?? '');
      const s = watches.shift();
      if (s) return s(o);
      // Nothing more scripted: an idle watch that ends when the informer stops.
      // A watch stream that yields nothing until it is stopped.
      // eslint-disable-next-line require-yield
      return (async function* () {
        await new Promise((r) => o.signal!.addEventListener('abort', r, { once: true }));
        throw new Error('aborted');
      })();
    },
  };
  return { api: api as unknown as ResourceClient<KubeObject>, watchedFrom, lists: () => listCalls };
}

test('resume from the last resourceVersion; bookmarks advance it; 410 relists and diffs the cache', async () => {
  const { api, watchedFrom } = fakeApi(
    [
      { items: [cm('a', '1'), cm('b', '2')], rv: '10' },
      { items: [cm('a', '13'), cm('c', '14')], rv: '20' },
    ],
    [
      async function* () {
        yield { type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } };
        yield { type: 'MODIFIED', object: cm('a', '13') };
      },
      async function* () {
        yield {
          type: 'ERROR',
          object: {
            kind: 'Status',
            code: 410,
            reason: 'Expired',
            message: 'too old',
          } as unknown as KubeObject,
        };
      },
    ],
  );
  const events: string[] = [];
  const inf = new Informer(api, { backoff: { baseMs: 1, capMs: 5 } });
  inf.addEventHandler({
    onAdd: (o, initial) => events.push(`add ${o.metadata.name} ${initial}`),
    onUpdate: (o, n) =>
      events.push(
        `update ${n.metadata.name} ${o.metadata.resourceVersion}→${n.metadata.resourceVersion}`,
      ),
    onDelete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  inf.start();
  assert.equal(await inf.waitForSync(), true);
  while (watchedFrom.length < 3) await new Promise((r) => setTimeout(r, 5));
  await inf.stop();
  assert.deepEqual(watchedFrom, ['10', '13', '20']);
  assert.deepEqual(events, [
    'add a true',
    'add b true',
    'update a 1→13',
    'delete b',
    'add c false',
  ]);
  assert.equal(inf.stats.relistsAfterGone, 1);
  assert.equal(inf.getByName('a', 'ns')?.metadata.managedFields, undefined);
  assert.deepEqual(inf.keys().sort(), ['ns/a', 'ns/c']);
});

test('failed lists are retried with backoff until one succeeds', async () => {
  let calls = 0;
  const { api } = fakeApi([], []);
  (api as unknown as { listAll: typeof api.listAll }).listAll = async (o) => {
    calls++;
    if (calls < 3) throw new KubeError('Unavailable', 0, 'connection refused');
    (o as { onPage: (i: KubeObject[]) => void }).onPage([cm('x', '5')]);
    return { items: [], resourceVersion: '5' };
  };
  const inf = new Informer(api, { backoff: { baseMs: 1, capMs: 5 } });
  inf.start();
  assert.equal(await inf.waitForSync(), true);
  await inf.stop();
  assert.equal(calls, 3);
  assert.equal(inf.stats.errors, 2);
  assert.equal(inf.size, 1);
});

test('a watch that ends at once every time does not spin', async () => {
  const at: number[] = [];
  const { api } = fakeApi([{ items: [], rv: '1' }], []);
  // Watches that end at once, delivering nothing.
  // eslint-disable-next-line require-yield
  (api as unknown as { watch: Script }).watch = async function* () {
    at.push(performance.now());
  };
  const inf = new Informer(api, { backoff: { baseMs: 20, capMs: 20 } });
  inf.start();
  await inf.waitForSync();
  while (at.length < 4) await new Promise((r) => setTimeout(r, 5));
  await inf.stop();
  // Without a pause between them these would be microseconds apart.
  for (let i = 1; i < 4; i++) assert.ok(at[i]! - at[i - 1]! >= 18, `gap ${at[i]! - at[i - 1]!} ms`);
});

test('stop before the first sync resolves waiters with false', async () => {
  const { api } = fakeApi([], []);
  const inf = new Informer(api, { backoff: { baseMs: 1000, capMs: 1000 } });
  inf.start();
  const waiting = inf.waitForSync();
  await inf.stop();
  assert.equal(await waiting, false);
});
