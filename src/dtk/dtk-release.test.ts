import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dtkMatchesKernel, parseDtkRelease } from './dtk-release.js';

describe('parseDtkRelease', () => {
  it('reads the keys the DTK writes', () => {
    const r = parseDtkRelease(
      '{ "KERNEL_VERSION": "5.14.0-284.52.1.el9_2.x86_64", "RT_KERNEL_VERSION": "5.14.0-284.52.1.rt14.337.el9_2.x86_64", "RHEL_VERSION": "9.2" }',
    );
    assert.ok(!('problem' in r));
    assert.equal(r.KERNEL_VERSION, '5.14.0-284.52.1.el9_2.x86_64');
    assert.equal(r.RHEL_VERSION, '9.2');
  });
  const bad: [string, RegExp][] = [
    ['{', /is not JSON/],
    ['[]', /must be a JSON object/],
    ['{}', /KERNEL_VERSION must be a non-empty string/],
    ['{"KERNEL_VERSION": "x", "RHEL_VERSION": 9}', /RHEL_VERSION must be a string/],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${text}`, () => {
      const r = parseDtkRelease(text);
      assert.ok('problem' in r);
      assert.match(String(r.problem), why);
    });
  }
});

describe('dtkMatchesKernel', () => {
  const rel = {
    KERNEL_VERSION: '4.18.0-305.19.1.el8_4.x86_64',
    RT_KERNEL_VERSION: '4.18.0-305.19.1.rt7.91.el8_4.x86_64',
  };
  const cases: [string, boolean][] = [
    ['4.18.0-305.19.1.el8_4.x86_64', true],
    ['4.18.0-305.19.1.rt7.91.el8_4.x86_64', true],
    ['4.18.0-305.19.1.el8_4.aarch64', false],
    ['4.18.0-305.19.1', false],
  ];
  for (const [kernel, want] of cases) {
    it(`${kernel} → ${want}`, () => assert.equal(dtkMatchesKernel(rel, kernel), want));
  }
  it('an RT-less DTK matches only its kernel', () => {
    assert.equal(dtkMatchesKernel({ KERNEL_VERSION: 'a' }, 'a'), true);
    assert.equal(dtkMatchesKernel({ KERNEL_VERSION: 'a' }, 'b'), false);
  });
});
