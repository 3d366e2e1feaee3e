import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError, decode, decodeAll, describeValue, type DecodeOptions } from './decode.js';
import { ModprobeSpec } from './kmm.js';
import { NodeFeatureSpec } from './nfd.js';
import { arr, bool, int32, map, obj, opt, preserved, quantity, str } from './schema.js';

const S = obj({
  name: str(),
  on: opt(bool()),
  count: opt(int32()),
  tags: opt(arr(str())),
  env: opt(map(str())),
  nested: opt(obj({ inner: opt(str()) })),
  size: opt(quantity()),
  raw: opt(preserved()),
});

describe('decode', () => {
  const bad: [string, unknown, DecodeOptions, string, string][] = [
    ['not a map', [1], {}, '', 'must be a map, not a list'],
    ['null document', null, {}, '', 'must be a map, not null'],
    ['a required field missing', {}, {}, 'name', 'required'],
    ['a required field null', { name: null }, {}, 'name', 'required'],
    [
      'a number for a string',
      { name: 6.1 },
      {},
      'name',
      'must be a string, not number 6.1; quote it',
    ],
    [
      'a string for a boolean',
      { name: 'a', on: 'yes' },
      {},
      'on',
      'must be true or false (a boolean), not string "yes"',
    ],
    [
      'a fraction for an integer',
      { name: 'a', count: 1.5 },
      {},
      'count',
      'must be an integer, not number 1.5',
    ],
    ['a map for a list', { name: 'a', tags: {} }, {}, 'tags', 'must be a list, not a map'],
    [
      'a list item',
      { name: 'a', tags: ['x', 3] },
      {},
      'tags[1]',
      'must be a string, not number 3; quote it',
    ],
    [
      'a map value',
      { name: 'a', env: { A: true } },
      {},
      'env.A',
      'must be a string, not boolean true; quote it',
    ],
    [
      'a nested field',
      { name: 'a', nested: { inner: [] } },
      {},
      'nested.inner',
      'must be a string, not a list; quote it',
    ],
    [
      'int-or-string',
      { name: 'a', size: true },
      {},
      'size',
      'must be a number or a string, not boolean true',
    ],
    [
      'a prefix',
      { name: 1 },
      { at: 'spec' },
      'spec.name',
      'must be a string, not number 1; quote it',
    ],
    [
      'strict: an unknown field',
      { name: 'a', nmae: 'b' },
      { strict: true },
      'nmae',
      'unknown field; known fields: name, on, count, tags, env, nested, size, raw',
    ],
    [
      'strict: nested unknown field',
      { name: 'a', nested: { iner: 'x' } },
      { strict: true, at: 'x' },
      'x.nested.iner',
      'unknown field; known fields: inner',
    ],
  ];
  for (const [what, doc, options, path, detail] of bad) {
    it(`rejects ${what}, naming ${path || 'the document'}`, () => {
      assert.throws(
        () => decode(S, doc, options),
        (e: unknown) => e instanceof DecodeError && e.path === path && e.detail === detail,
      );
    });
  }

  const good: [string, unknown, DecodeOptions][] = [
    ['the least', { name: 'a' }, {}],
    [
      'everything',
      {
        name: 'a',
        on: false,
        count: 3,
        tags: ['x'],
        env: { A: 'b' },
        nested: { inner: 'i' },
        size: '2Gi',
        raw: { any: [1] },
      },
      {},
    ],
    ['null as absent', { name: 'a', on: null, env: { A: null } }, {}],
    ['unknown fields kept', { name: 'a', other: 1 }, {}],
    ['required not enforced when asked', {}, { required: false }],
    ['a number as int-or-string', { name: 'a', size: 2 }, {}],
  ];
  for (const [what, doc, options] of good) {
    it(`accepts ${what}, leaving out null fields`, () => {
      const want = JSON.parse(JSON.stringify(doc, (_k, v: unknown) => v ?? undefined)) as unknown;
      assert.deepEqual(decode(S, doc, options), want);
    });
  }

  it('reads the API schemas: a NodeFeature spec and a modprobe section', () => {
    assert.throws(
      () =>
        decode(NodeFeatureSpec, {
          features: { attributes: { 'k.v': { elements: { major: 5 } } } },
        }),
      (e: unknown) =>
        e instanceof DecodeError && e.path === 'features.attributes.k.v.elements.major',
    );
    assert.throws(
      () =>
        decode(
          ModprobeSpec,
          { moduleName: 'a', args: { lod: ['x'] } },
          { strict: true, at: 'modprobe' },
        ),
      (e: unknown) =>
        e instanceof DecodeError && e.message.startsWith('modprobe.args.lod: unknown field'),
    );
  });

  it('decodeAll reports every misfit and keeps what fits', () => {
    const r = decodeAll(
      S,
      { on: 'yes', count: 2, tags: ['x', 3, {}], env: { A: 'a', B: 1 }, nested: 'n' },
      { at: 'spec' },
    );
    assert.deepEqual(
      r.errors.map((e) => e.message),
      [
        'spec.name: required',
        'spec.on: must be true or false (a boolean), not string "yes"',
        'spec.tags[1]: must be a string, not number 3; quote it',
        'spec.tags[2]: must be a string, not a map; quote it',
        'spec.env.B: must be a string, not number 1; quote it',
        'spec.nested: must be a map, not string "n"',
      ],
    );
    // The list with misfits is left out whole, so no later index is off by one.
    assert.deepEqual(r.value, { count: 2, env: { A: 'a' } });
    const notMap = decodeAll(S, 'x');
    assert.equal(notMap.value, undefined);
    assert.deepEqual(
      notMap.errors.map((e) => [e.path, e.detail, e.problem?.kind]),
      [['', 'must be a map, not string "x"', 'type']],
    );
    assert.deepEqual(decodeAll(S, {}, { required: false }), { value: {}, errors: [] });
    const strict = decodeAll(S, { name: 'a', nmae: 'b' }, { strict: true });
    assert.deepEqual(strict.value, { name: 'a' });
    assert.deepEqual(
      strict.errors.map((e) => e.path),
      ['nmae'],
    );
  });

  it('says what did not fit, for callers that word it themselves', () => {
    const problem = (doc: unknown, options: DecodeOptions = {}) => {
      try {
        decode(S, doc, options);
      } catch (e) {
        if (e instanceof DecodeError) return e.problem;
      }
      return undefined;
    };
    const typed = problem({ name: 'a', tags: 'x' });
    assert.equal(typed?.kind, 'type');
    assert.deepEqual(typed?.kind === 'type' && [typed.schema['type'], typed.value], ['array', 'x']);
    assert.deepEqual(problem({ name: 'a', nmae: 'b' }, { strict: true }), {
      kind: 'unknown',
      known: ['name', 'on', 'count', 'tags', 'env', 'nested', 'size', 'raw'],
    });
    assert.deepEqual(problem({}), { kind: 'required' });
  });

  it('reads failsafe YAML text: booleans and numbers from strings, an empty scalar as absent', () => {
    assert.deepEqual(
      decode(
        S,
        { name: 'a', on: 'false', count: '3', tags: ['0200', ''], env: { A: '' }, raw: '' },
        { text: true },
      ),
      { name: 'a', on: false, count: 3, tags: ['0200', ''], env: {} },
    );
    for (const [doc, path] of [
      [{ name: 'a', on: 'yes' }, 'on'],
      [{ name: 'a', count: '1.5' }, 'count'],
      [{ name: 'a', count: ' ' }, 'count'],
      [{ name: '' }, 'name'],
    ] as const)
      assert.throws(
        () => decode(S, doc, { text: true }),
        (e: unknown) => e instanceof DecodeError && e.path === path,
      );
  });

  it('keeps a __proto__ key a plain field and knows only declared fields', () => {
    const doc = JSON.parse('{"name":"a","__proto__":{"polluted":true},"toString":"x"}') as unknown;
    const kept = decode(S, doc) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(kept), Object.prototype);
    assert.deepEqual(Object.keys(kept), ['name', '__proto__', 'toString']);
    assert.throws(
      () => decode(S, doc, { strict: true }),
      (e: unknown) => e instanceof DecodeError && e.path === '__proto__',
    );
    assert.deepEqual(
      decodeAll(S, doc, { strict: true }).errors.map((e) => e.path),
      ['__proto__', 'toString'],
    );
  });

  it('describes values', () => {
    assert.deepEqual([null, [], {}, 6.1, 'x', true].map(describeValue), [
      'null',
      'a list',
      'a map',
      'number 6.1',
      'string "x"',
      'boolean true',
    ]);
  });
});
