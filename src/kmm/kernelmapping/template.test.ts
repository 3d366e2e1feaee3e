import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandTemplate } from './template.js';

const VARS = { BAR: 'bar', FOO: 'foo', EMPTY: '', KERNEL_XYZ: '5.8.18' };

describe('expandTemplate', () => {
  // [template, expected, unknown names]
  const cases: Array<[string, string, string[]]> = [
    ['', '', []],
    ['no template here', 'no template here', []],
    ['$BAR', 'bar', []],
    ['$BAR baz', 'bar baz', []],
    ['$BAR$FOO', 'barfoo', []],
    ['$BAR - $FOO', 'bar - foo', []],
    ['${BAR}baz', 'barbaz', []],
    ['some image:${KERNEL_XYZ}', 'some image:5.8.18', []],
    ['$_ bar', '$_ bar', []],
    ['${_} bar', '${_} bar', []],
    ['${NOTSET}', '', ['NOTSET']],
    ['x$NOTSET.y', 'x.y', ['NOTSET']],
    ['${NOTSET-$BAR}', 'bar', ['NOTSET']],
    ['${NOTSET=$BAR}', 'bar', ['NOTSET']],
    ['${EMPTY-$BAR}', '', []],
    ['${EMPTY:-$BAR}', 'bar', []],
    ['${EMPTY:=$BAR}', 'bar', []],
    ['${FOO:-$BAR}', 'foo', []],
    ['${EMPTY+hello}', 'hello', []],
    ['${EMPTY:+hello}', 'hello', []],
    ['${NOTSET+hello}', '', ['NOTSET']],
    ['${NOTSET:+hello}', '', ['NOTSET']],
    ['prop=${HOME_URL-http://localhost:8080}', 'prop=http://localhost:8080', ['HOME_URL']],
    ['${NOTSET:-${ALSO:-deep}}', 'deep', ['NOTSET', 'ALSO']],
    ['FOO $$BAR BAZ', 'FOO $BAR BAZ', []],
    ['FOO $${BAR} BAZ', 'FOO ${BAR} BAZ', []],
    ['$$$BAR', '$bar', []],
    ['price: 5$', 'price: 5$', []],
    ['a $ b', 'a $ b', []],
  ];
  for (const [template, want, unknown] of cases) {
    it(`${JSON.stringify(template)} → ${JSON.stringify(want)}`, () => {
      const r = expandTemplate(template, VARS);
      assert.ok(r.ok, r.ok ? '' : r.message);
      assert.equal(r.value, want);
      assert.deepEqual(r.unknown, unknown);
    });
  }

  const errors: Array<[string, RegExp]> = [
    ['some image:${KERNEL_XYZ', /closing brace expected/],
    ['hello ${', /not followed by a variable name/],
    ['${}', /not followed by a variable name/],
    ['${BAR:-x\n}', /closing brace expected/],
    ['${KERNEL.XYZ}', /unexpected "\." in "\$\{KERNEL/],
  ];
  for (const [template, message] of errors) {
    it(`rejects ${JSON.stringify(template)}`, () => {
      const r = expandTemplate(template, VARS);
      assert.ok(!r.ok);
      assert.match(r.message, message);
    });
  }
});
