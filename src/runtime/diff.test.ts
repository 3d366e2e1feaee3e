import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deepEqual, jsonPatch, mergePatch, overlay } from './diff.js';

/** Applies an RFC 6902 patch (add/remove/replace on objects) to check jsonPatch round-trips. */
function applyJsonPatch(doc: unknown, ops: ReturnType<typeof jsonPatch>): unknown {
  let root = structuredClone(doc);
  for (const op of ops) {
    if (op.path === '') {
      root = structuredClone(op.value);
      continue;
    }
    const parts = op.path
      .slice(1)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let cur = root as Record<string, unknown>;
    for (const p of parts) cur = cur[p] as Record<string, unknown>;
    if (op.op === 'remove') delete cur[last];
    else cur[last] = structuredClone(op.value);
  }
  return root;
}

const cases: { name: string; from: unknown; to: unknown; merge: unknown }[] = [
  { name: 'equal', from: { a: 1, b: [1, 2] }, to: { a: 1, b: [1, 2] }, merge: undefined },
  { name: 'changed scalar', from: { a: 1 }, to: { a: 2 }, merge: { a: 2 } },
  { name: 'added key', from: { a: 1 }, to: { a: 1, b: 'x' }, merge: { b: 'x' } },
  { name: 'removed key', from: { a: 1, b: 2 }, to: { a: 1 }, merge: { b: null } },
  {
    name: 'nested label with slash',
    from: { metadata: { labels: { 'a/b': '1', c: '2' } } },
    to: { metadata: { labels: { 'a/b': '3', c: '2' } } },
    merge: { metadata: { labels: { 'a/b': '3' } } },
  },
  { name: 'array replaced whole', from: { l: [1, 2, 3] }, to: { l: [1, 3] }, merge: { l: [1, 3] } },
  { name: 'object to scalar', from: { a: { b: 1 } }, to: { a: 'x' }, merge: { a: 'x' } },
  { name: 'undefined is absent', from: { a: 1, b: undefined }, to: { a: 1 }, merge: undefined },
  { name: 'key with tilde', from: { 'x~y': 1 }, to: { 'x~y': 2 }, merge: { 'x~y': 2 } },
];

for (const c of cases) {
  test(`mergePatch: ${c.name}`, () => {
    assert.deepEqual(mergePatch(c.from, c.to), c.merge);
  });
  test(`jsonPatch round-trips: ${c.name}`, () => {
    const ops = jsonPatch(c.from, c.to);
    assert.ok(deepEqual(applyJsonPatch(c.from, ops), c.to), JSON.stringify(ops));
    if (c.merge === undefined) assert.deepEqual(ops, []);
  });
}

test('jsonPatch escapes / and ~ in keys', () => {
  assert.deepEqual(jsonPatch({ m: { 'a/b': 1 } }, { m: { 'a/b': 2, 'c~d': 3 } }), [
    { op: 'replace', path: '/m/a~1b', value: 2 },
    { op: 'add', path: '/m/c~0d', value: 3 },
  ]);
});

test('deepEqual ignores key order and undefined members', () => {
  assert.ok(deepEqual({ a: 1, b: { c: [1, { d: 2 }] } }, { b: { c: [1, { d: 2 }] }, a: 1 }));
  assert.ok(deepEqual({ a: 1, z: undefined }, { a: 1 }));
  assert.ok(!deepEqual([1, 2], [2, 1]));
  assert.ok(!deepEqual({ a: null }, { a: undefined }));
});

test('overlay: rendered values win, server-added values stay, lists of another length are replaced', () => {
  const table: { name: string; current: unknown; desired: unknown; want: unknown }[] = [
    { name: 'scalar', current: 1, desired: 2, want: 2 },
    { name: 'missing', current: undefined, desired: { a: 1 }, want: { a: 1 } },
    { name: 'defaults kept', current: { a: 1, d: 'x' }, desired: { a: 1 }, want: { a: 1, d: 'x' } },
    { name: 'edit undone', current: { a: 9, d: 'x' }, desired: { a: 1 }, want: { a: 1, d: 'x' } },
    {
      name: 'same-length list merged per element',
      current: [{ name: 'c', image: 'hand', terminationMessagePath: '/dev/t' }],
      desired: [{ name: 'c', image: 'img' }],
      want: [{ name: 'c', image: 'img', terminationMessagePath: '/dev/t' }],
    },
    { name: 'longer list replaced', current: [1, 2, 3], desired: [1, 2], want: [1, 2] },
    { name: 'type change', current: 'x', desired: { a: 1 }, want: { a: 1 } },
  ];
  for (const t of table) assert.deepEqual(overlay(t.current, t.desired), t.want, t.name);
});
