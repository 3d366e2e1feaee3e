import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOciError } from './errors.js';
import { normalizePlatform, parsePlatform, selectPlatform } from './platform.js';
import type { Descriptor, Platform } from './types.js';

function d(name: string, platform?: Platform): Descriptor {
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${name.padEnd(64, '0')}`,
    size: 1,
    ...(platform ? { platform } : {}),
  };
}

const index = [
  d('a1', { os: 'linux', architecture: 'amd64' }),
  d('a2', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
  d('a3', { os: 'linux', architecture: 'arm', variant: 'v6' }),
  d('a4', { os: 'linux', architecture: 'arm', variant: 'v7' }),
  d('a5', { os: 'windows', architecture: 'amd64', 'os.version': '10.0' }),
  d('a6', { os: 'unknown', architecture: 'unknown' }),
  d('a7'),
  d('a8', { os: 'linux', architecture: 'ppc64le' }),
];

describe('selectPlatform', () => {
  const cases: [string, string | undefined, Descriptor[]?][] = [
    ['linux/amd64', 'a1'],
    ['linux/x86_64', 'a1'],
    ['linux/arm64', 'a2'],
    ['linux/aarch64', 'a2'],
    ['linux/arm64/v8', 'a2'],
    ['linux/arm/v7', 'a4'],
    ['linux/arm', 'a4'],
    ['linux/arm/v6', 'a3'],
    ['linux/arm/v5', undefined],
    ['windows/amd64', 'a5'],
    ['linux/s390x', undefined],
    ['linux/ppc64le', 'a8'],
    // arm64 images listed without a variant still match a v8 request.
    ['linux/arm64/v8', 'b1', [d('b1', { os: 'linux', architecture: 'arm64' })]],
    // v7 hardware runs v6 images when no v7 image exists.
    ['linux/arm/v7', 'c1', [d('c1', { os: 'linux', architecture: 'arm', variant: 'v6' })]],
    // The first of equal candidates wins.
    [
      'linux/amd64',
      'e1',
      [
        d('e1', { os: 'linux', architecture: 'amd64' }),
        d('e2', { os: 'linux', architecture: 'amd64' }),
      ],
    ],
    // Without a requested variant, a plain amd64 beats amd64/v3.
    [
      'linux/amd64',
      'f2',
      [
        d('f1', { os: 'linux', architecture: 'amd64', variant: 'v3' }),
        d('f2', { os: 'linux', architecture: 'amd64' }),
      ],
    ],
    ['linux/amd64/v3', 'f1', [d('f1', { os: 'linux', architecture: 'amd64', variant: 'v3' })]],
    ['linux/amd64/v3', undefined, [d('f2', { os: 'linux', architecture: 'amd64' })]],
  ];
  for (const [want, expect, list] of cases) {
    it(`${want} → ${expect ?? 'none'}${list ? ' (own index)' : ''}`, () => {
      const got = selectPlatform(list ?? index, parsePlatform(want));
      assert.equal(got?.digest.slice(7, 9), expect);
    });
  }
});

describe('parsePlatform', () => {
  it('normalises aliases and default variants', () => {
    assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(normalizePlatform({ os: 'Linux', architecture: 'armhf' }), {
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    });
  });
  for (const bad of ['linux', 'linux/', '/amd64', 'a/b/c/d']) {
    it(`rejects "${bad}"`, () => {
      assert.throws(
        () => parsePlatform(bad),
        (e) => isOciError(e) && /os\/architecture/.test(e.message),
      );
    });
  }
});
