import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldError } from './errors.js';
import { compileExpression, parseGoInt } from './expression.js';
import { compareVersions, parseVersion } from './version.js';

/**
 * [op, value, type, input, expected]. input undefined = key missing; expected 'error' = the
 * evaluation fails for this input (a node's value is not a number or version).
 */
type Case = [string, string[], string, string | undefined, boolean | 'error'];

const cases: Case[] = [
  ['In', ['1'], '', undefined, false],
  ['In', ['1'], '', '2', false],
  ['In', ['1', '2', '3'], '', '2', true],
  ['In', ['1', '2', '3'], '', undefined, false],
  ['NotIn', ['2'], '', undefined, false],
  ['NotIn', ['1'], '', '2', true],
  ['NotIn', ['1', '2', '3'], '', '2', false],
  ['InRegexp', ['val-[0-9]$'], '', undefined, false],
  ['InRegexp', ['val-[0-9]$'], '', 'val-1', true],
  ['InRegexp', ['val-[0-9]$'], '', 'val-12', false],
  ['InRegexp', ['val-[0-9]$', 'al-[1-9]'], '', 'val-12', true],
  ['InRegexp', ['^a'], '', 'ba', false],
  ['Exists', [], '', undefined, false],
  ['Exists', [], '', '', true],
  ['DoesNotExist', [], '', undefined, true],
  ['DoesNotExist', [], '', 'x', false],
  ['Gt', ['2'], '', undefined, false],
  ['Gt', ['2'], '', '2', false],
  ['Gt', ['2'], '', '3', true],
  ['Gt', ['-10'], '', '-3', true],
  ['Gt', ['2'], '', '3a', 'error'],
  ['Gt', ['2'], '', 'str', 'error'],
  ['Gt', ['2'], '', '1.0', 'error'],
  ['Gt', ['2'], '', '+3', true],
  ['Gt', ['2'], '', '007', true],
  ['Ge', ['2'], '', '2', true],
  ['Ge', ['2'], '', '1', false],
  ['Ge', ['2'], '', undefined, false],
  ['Lt', ['2'], '', '1', true],
  ['Lt', ['2'], '', '2', false],
  ['Lt', ['-10'], '', '-3', false],
  ['Le', ['2'], '', '2', true],
  ['Le', ['2'], '', '3', false],
  ['Le', ['2'], '', '1.0', 'error'],
  ['GtLt', ['1', '10'], '', undefined, false],
  ['GtLt', ['1', '10'], '', '1', false],
  ['GtLt', ['1', '10'], '', '10', false],
  ['GtLt', ['1', '10'], '', '2', true],
  ['GtLt', ['-10', '10'], '', '-11', false],
  ['GtLt', ['-10', '10'], '', '5.0', 'error'],
  ['GeLe', ['-10', '10'], '', '10', true],
  ['GeLe', ['-10', '10'], '', '-10', true],
  ['GeLe', ['-10', '10'], '', '-11', false],
  ['GeLe', ['-10', '10'], '', '1.0', 'error'],
  ['IsTrue', [], '', undefined, false],
  ['IsTrue', [], '', '1', false],
  ['IsTrue', [], '', 'true', true],
  ['IsFalse', [], '', 'true', false],
  ['IsFalse', [], '', 'false', true],
  ['IsFalse', [], '', undefined, false],
  // type: version
  ['Gt', ['2'], 'version', undefined, false],
  ['Gt', ['2'], 'version', '2', false],
  ['Gt', ['2'], 'version', '3', true],
  ['Gt', ['2.0'], 'version', '2.0', false],
  ['Gt', ['2.0'], 'version', '2.1', true],
  ['Gt', ['2.0.1'], 'version', '2.0.2', true],
  ['Gt', ['2.0.1'], 'version', 'str', 'error'],
  ['Gt', ['5.9'], 'version', '5.14.0-284.30.1.el9_2.x86_64', true],
  ['Gt', ['5.9'], 'version', '5.14.0-284', true],
  ['Lt', ['5.14'], 'version', '5.9', true],
  ['Gt', ['5.14.0'], 'version', '5.14.0-284', false],
  ['Ge', ['5.14.0'], 'version', '5.14.0-284', true],
  ['Ge', ['2.0.1'], 'version', '2.0.0', false],
  ['Ge', ['2.0'], 'version', '2', true],
  ['Le', ['2.0'], 'version', '2.1', false],
  ['Le', ['2.0.1'], 'version', '2.0.1', true],
  ['Lt', ['2.0.1'], 'version', '2.0.0', true],
  ['GtLt', ['1.0', '10.0'], 'version', '1.1', true],
  ['GtLt', ['1.0', '10.0'], 'version', '10.1', false],
  ['GtLt', ['1.0.1', '10.0.1'], 'version', '1.0.1', false],
  ['GeLe', ['1', '10'], 'version', '10', true],
  ['GeLe', ['1', '10'], 'version', '-11', 'error'],
  ['GeLe', ['1.0.1', '10.0.1'], 'version', '10.0.2', false],
  ['Gt', ['1.02'], 'version', '1.10', true],
];

describe('match expressions', () => {
  for (const [op, value, type, input, want] of cases) {
    const name = `${op} ${JSON.stringify(value)}${type ? ' (version)' : ''} on ${input === undefined ? 'missing key' : JSON.stringify(input)} → ${want}`;
    it(name, () => {
      const e = compileExpression({ op, value, type: type || undefined }, 'm');
      if (want === 'error') {
        assert.throws(
          () => e.test(true, input),
          (err: unknown) => err instanceof FieldError && err.kind === 'EvaluationFailed',
        );
      } else {
        assert.equal(e.test(input !== undefined, input), want);
      }
    });
  }

  it('only Exists and DoesNotExist apply to flags (inputs without a value)', () => {
    const present = { Exists: true, DoesNotExist: false } as Record<string, boolean>;
    const ops: [string, string[]][] = [
      ['In', ['foo']],
      ['NotIn', ['foo']],
      ['InRegexp', ['foo']],
      ['Gt', ['1']],
      ['Lt', ['1']],
      ['GtLt', ['1', '10']],
      ['IsTrue', []],
      ['IsFalse', []],
      ['Exists', []],
      ['DoesNotExist', []],
    ];
    for (const [op, value] of ops) {
      const e = compileExpression({ op, value }, 'm');
      assert.equal(e.test(true, undefined), present[op] ?? false, op);
    }
  });

  /**
   * Mistakes upstream reports only when evaluation reaches the expression:
   * [what, expression, field named, reported for a missing key or a flag too].
   */
  const deferred: [string, unknown, string, boolean][] = [
    ['no values for In', { op: 'In' }, 'm.value', false],
    ['no values for NotIn', { op: 'NotIn', value: [] }, 'm.value', false],
    ['no values for InRegexp', { op: 'InRegexp' }, 'm.value', false],
    ['a bad regex', { op: 'InRegexp', value: ['ok', '('] }, 'm.value[1]', false],
    ['a backreference (not RE2)', { op: 'InRegexp', value: ['(a)\\1'] }, 'm.value[0]', false],
    ['values for Exists', { op: 'Exists', value: ['1'] }, 'm.value', true],
    ['values for DoesNotExist', { op: 'DoesNotExist', value: ['1'] }, 'm.value', true],
    ['values for the empty op (any)', { op: '', value: ['1'] }, 'm.value', true],
    ['values for IsTrue', { op: 'IsTrue', value: ['1'] }, 'm.value', false],
    ['values for IsFalse', { op: 'IsFalse', value: ['1', '2'] }, 'm.value', false],
    ['no value for Gt', { op: 'Gt' }, 'm.value', false],
    ['two values for Gt', { op: 'Gt', value: ['1', '2'] }, 'm.value', false],
    ['an empty value for Gt', { op: 'Gt', value: [''] }, 'm.value[0]', false],
    ['a non-integer for Gt', { op: 'Gt', value: ['2.0'] }, 'm.value[0]', false],
    ['a non-integer for Lt', { op: 'Lt', value: ['a'] }, 'm.value[0]', false],
    ['three values for Lt', { op: 'Lt', value: ['1', '2', '3'] }, 'm.value', false],
    ['one value for GtLt', { op: 'GtLt', value: ['1'] }, 'm.value', false],
    ['reversed GtLt bounds', { op: 'GtLt', value: ['2', '1'] }, 'm.value', false],
    ['equal GeLe bounds', { op: 'GeLe', value: ['42', '42'] }, 'm.value', false],
    ['a non-integer GtLt bound', { op: 'GtLt', value: ['a', '2'] }, 'm.value[0]', false],
    [
      'a non-version with type version',
      { op: 'Ge', value: ['x.y'], type: 'version' },
      'm.value[0]',
      false,
    ],
    ['an unknown type', { op: 'Gt', value: ['1'], type: 'semver' }, 'm.type', false],
    ['an unknown operator', { op: 'non-existent-op', value: ['1'] }, 'm.op', true],
  ];
  for (const [what, raw, field, always] of deferred) {
    it(`${what}: reported as ${field} when evaluation reaches it${always ? ', whatever the input' : ' with a value'}`, () => {
      const e = compileExpression(raw, 'm');
      assert.equal(e.problem?.field, field);
      const fails = (err: unknown) => err instanceof FieldError && err.field === field;
      assert.throws(() => e.test(true, 'x'), fails, 'a value to test');
      if (always) {
        assert.throws(() => e.test(false, undefined), fails, 'missing key');
        assert.throws(() => e.test(true, undefined), fails, 'flag');
      } else {
        assert.equal(e.test(false, undefined), false, 'missing key: no error, no match');
        assert.equal(e.test(true, undefined), false, 'flag: no error, no match');
      }
    });
  }

  it('an empty or missing op is upstream\'s "any": always true', () => {
    for (const raw of [{ op: '' }, {}]) {
      const e = compileExpression(raw, 'm');
      assert.equal(e.problem, undefined);
      assert.equal(e.test(false, undefined), true);
      assert.equal(e.test(true, 'x'), true);
    }
  });

  it('an operator that is not a string is refused naming the operators', () => {
    assert.throws(
      () => compileExpression({ op: ['In'] }, 'm'),
      (err: unknown) =>
        err instanceof FieldError &&
        err.field === 'm.op' &&
        err.detail.startsWith('must be a string; use one of In, NotIn, InRegexp'),
    );
  });

  it('a type is ignored by operators that do not compare, as upstream', () => {
    const e = compileExpression({ op: 'In', value: ['1'], type: 'semver' }, 'm');
    assert.equal(e.problem, undefined);
    assert.equal(e.test(true, '1'), true);
  });

  const invalid: [string, unknown, string][] = [
    ['a number where YAML needs a string', { op: 'In', value: [8086] }, 'm.value[0]'],
    ['a scalar value', { op: 'In', value: '8086' }, 'm.value'],
    ['an operator that is not a string', { op: 3 }, 'm.op'],
    ['not an object', 'In', 'm'],
  ];
  for (const [what, raw, field] of invalid) {
    it(`rejects ${what} (the API would), naming ${field}`, () => {
      assert.throws(
        () => compileExpression(raw, 'm'),
        (err: unknown) =>
          err instanceof FieldError && err.kind === 'InvalidRule' && err.field === field,
      );
    });
  }

  it('reversed bounds are accepted with type version, as upstream', () => {
    const e = compileExpression({ op: 'GtLt', value: ['10', '1'], type: 'version' }, 'm');
    assert.equal(e.test(true, '5'), false);
  });
});

describe('integers and versions', () => {
  it('parses integers as Atoi does', () => {
    assert.equal(parseGoInt('42'), 42);
    assert.equal(parseGoInt('-7'), -7);
    assert.equal(parseGoInt('+7'), 7);
    assert.equal(parseGoInt('007'), 7);
    assert.equal(parseGoInt(' 1'), undefined);
    assert.equal(parseGoInt('1e3'), undefined);
    assert.equal(parseGoInt('0x10'), undefined);
    assert.equal(parseGoInt('9223372036854775807'), Number('9223372036854775807'));
    assert.equal(parseGoInt('9223372036854775808'), undefined);
  });

  const versions: [string, string, number][] = [
    ['5.14.0-284', '5.9', 1],
    ['5.9', '5.14.0-284', -1],
    ['5.14.0-284.30.1.el9_2.x86_64', '5.14', 0],
    ['1', '1.0.0', 0],
    ['v1.2.3', '1.2.3', 0],
    ['1.2.3+build.7', '1.2.4', -1],
    ['010.1', '10.01', 0],
  ];
  for (const [a, b, want] of versions) {
    it(`compares ${a} with ${b}`, () => {
      assert.equal(compareVersions(parseVersion(a)!, parseVersion(b)!), want);
    });
  }
  it('rejects what is not a version', () => {
    for (const s of ['', 'str', '-1', '1.2.3.4', '1..2', 'x1'])
      assert.equal(parseVersion(s), undefined, s);
  });
});
