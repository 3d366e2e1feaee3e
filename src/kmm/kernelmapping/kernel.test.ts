import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kernelVariables, normalizeKernelVersion, parseKernelVersion } from './kernel.js';

describe('parseKernelVersion', () => {
  const good: Array<
    [string, { xyz: string; major: number; minor: number; patch: number; local: string }]
  > = [
    [
      '5.14.0-284.30.1.el9_2.x86_64',
      { xyz: '5.14.0', major: 5, minor: 14, patch: 0, local: '284.30.1.el9_2.x86_64' },
    ],
    [
      '6.0.15-300.fc37.x86_64',
      { xyz: '6.0.15', major: 6, minor: 0, patch: 15, local: '300.fc37.x86_64' },
    ],
    [
      '5.8.18-100.fc31.x86_64',
      { xyz: '5.8.18', major: 5, minor: 8, patch: 18, local: '100.fc31.x86_64' },
    ],
    [
      '4.18.0-372.9.1.rt7.166.el8.x86_64',
      { xyz: '4.18.0', major: 4, minor: 18, patch: 0, local: '372.9.1.rt7.166.el8.x86_64' },
    ],
    ['6.1.0-13-amd64', { xyz: '6.1.0', major: 6, minor: 1, patch: 0, local: '13-amd64' }],
    ['5.15.0-1034-aws', { xyz: '5.15.0', major: 5, minor: 15, patch: 0, local: '1034-aws' }],
    ['6.1.21-v8+', { xyz: '6.1.21', major: 6, minor: 1, patch: 21, local: 'v8_' }],
    ['1.2.3', { xyz: '1.2.3', major: 1, minor: 2, patch: 3, local: '' }],
    ['6.18.44-fc-v657', { xyz: '6.18.44', major: 6, minor: 18, patch: 44, local: 'fc-v657' }],
  ];
  for (const [raw, want] of good) {
    it(`parses ${raw}`, () => {
      const r = parseKernelVersion(raw);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.equal(r.value.raw, raw);
      assert.equal(r.value.xyz, want.xyz);
      assert.equal(r.value.major, want.major);
      assert.equal(r.value.minor, want.minor);
      assert.equal(r.value.patch, want.patch);
      assert.equal(r.value.localVersion, want.local);
    });
  }

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['tesdt', /at least three fields/],
    ['5.14', /at least three fields/],
    ['a.b.c', /field X \(major\) is "a"/],
    ['5.14.x-1', /field Z \(patch\) is "x"/],
    ['5.x.0', /field Y \(minor\) is "x"/],
    [' 5.14.0', /white space/],
    ['5.14.0 extra', /white space/],
  ];
  for (const [raw, message] of bad) {
    it(`rejects ${JSON.stringify(raw)}`, () => {
      const r = parseKernelVersion(raw, '--kernel');
      assert.ok(!r.ok);
      assert.equal(r.error.kind, 'InvalidKernelVersion');
      assert.equal(r.error.field, '--kernel');
      assert.match(r.error.message, message);
    });
  }
});

describe('normalizeKernelVersion', () => {
  const cases: Array<[string, string]> = [
    ['5.14.0-284.30.1.el9_2.x86_64', '5.14.0-284.30.1.el9_2.x86_64'],
    ['5.4.0+', '5.4.0_'],
    ['5.4.0~rc1/x y', '5.4.0_rc1_x_y'],
    ['6.1.0-13-amd64', '6.1.0-13-amd64'],
  ];
  for (const [raw, want] of cases) {
    it(`${raw} → ${want}`, () => assert.equal(normalizeKernelVersion(raw), want));
  }
});

describe('kernelVariables', () => {
  it('has the values upstream computes for 6.0.15-300.fc37.x86_64', () => {
    const k = parseKernelVersion('6.0.15-300.fc37.x86_64');
    assert.ok(k.ok);
    assert.deepEqual(kernelVariables(k.value, { name: 'my-kmod', namespace: 'openshift-kmm' }), {
      KERNEL_FULL_VERSION: '6.0.15-300.fc37.x86_64',
      KERNEL_VERSION: '6.0.15-300.fc37.x86_64',
      KERNEL_XYZ: '6.0.15',
      KERNEL_X: '6',
      KERNEL_Y: '0',
      KERNEL_Z: '15',
      MOD_NAME: 'my-kmod',
      MOD_NAMESPACE: 'openshift-kmm',
    });
  });

  it('uses the normalised kernel for the full version', () => {
    const k = parseKernelVersion('5.4.0-1~ubuntu');
    assert.ok(k.ok);
    assert.equal(kernelVariables(k.value, {}).KERNEL_FULL_VERSION, '5.4.0-1_ubuntu');
    assert.equal(kernelVariables(k.value, {}).MOD_NAME, '');
  });
});
