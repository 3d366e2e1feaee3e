import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, deflateRawSync, gzipSync } from 'node:zlib';
import { existsSync, readFileSync } from 'node:fs';
import { crc32, gunzip, GunzipError } from './gunzip.js';

/** Text with repeats at every distance, random bytes, and runs: every kind of block appears. */
function samples(): Record<string, Buffer> {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 8) & 0xff;
  const random = Buffer.alloc(70_000);
  for (let i = 0; i < random.length; i++) random[i] = rnd();
  const lines: string[] = [];
  for (let i = 0; i < 4000; i++) lines.push(`CONFIG_OPTION_${i % 977}=${i % 3 ? 'y' : 'm'}`);
  const skewed = Buffer.alloc(50_000);
  for (let i = 0; i < skewed.length; i++) skewed[i] = rnd() < 200 ? 97 : rnd();
  return {
    empty: Buffer.alloc(0),
    one: Buffer.from('x'),
    text: Buffer.from(lines.join('\n')),
    random,
    run: Buffer.alloc(300_000, 0x61),
    skewed,
  };
}

test('gunzip decodes what zlib encodes, at every level and strategy', () => {
  for (const [name, data] of Object.entries(samples())) {
    for (const level of [0, 1, 6, 9]) {
      for (const strategy of [
        constants.Z_DEFAULT_STRATEGY,
        constants.Z_FIXED,
        constants.Z_HUFFMAN_ONLY,
        constants.Z_RLE,
      ]) {
        const gz = gzipSync(data, { level, strategy });
        assert.ok(gunzip(gz).equals(data), `${name} level ${level} strategy ${strategy}`);
      }
    }
  }
});

test('gunzip decodes concatenated members and the optional header fields', () => {
  const a = gzipSync(Buffer.from('first\n'));
  const b = gzipSync(Buffer.from('second\n'));
  assert.equal(gunzip(Buffer.concat([a, b])).toString(), 'first\nsecond\n');
  // FEXTRA, FNAME, FCOMMENT and FHCRC, written by hand around a raw deflate stream.
  const body = Buffer.from('named member');
  const header = Buffer.from([0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3]);
  const extra = Buffer.from([3, 0, 1, 2, 3]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(body), 0);
  trailer.writeUInt32LE(body.length, 4);
  const gz = Buffer.concat([
    header,
    extra,
    Buffer.from('config\0'),
    Buffer.from('a comment\0'),
    Buffer.from([0, 0]),
    deflateRawSync(body),
    trailer,
  ]);
  assert.equal(gunzip(gz).toString(), 'named member');
});

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

test('gunzip names what is wrong with malformed data and never loops', () => {
  const good = gzipSync(Buffer.from('CONFIG_X=y\n'.repeat(200)));
  const cases: [string, Buffer, RegExp][] = [
    ['not gzip', Buffer.from('CONFIG_X=y\n'.repeat(3)), /not gzip data/],
    ['method', Buffer.from([...good.subarray(0, 2), 7, ...good.subarray(3)]), /method 7/],
    ['truncated header', good.subarray(0, 12), /unexpected end/],
    ['truncated body', good.subarray(0, good.length - 20), /unexpected end|invalid|mismatch/],
    ['no trailer', good.subarray(0, good.length - 8), /no trailer|unexpected end/],
  ];
  const crc = Buffer.from(good);
  crc[crc.length - 8]! ^= 1;
  cases.push(['crc', crc, /CRC-32 mismatch/]);
  const size = Buffer.from(good);
  size[size.length - 1]! ^= 1;
  cases.push(['size', size, /length mismatch/]);
  const type3 = Buffer.from(good);
  type3[10] = 0b111;
  cases.push(['block type', type3, /block type 3/]);
  for (const [name, data, want] of cases) {
    assert.throws(
      () => gunzip(data),
      (e: unknown) => e instanceof GunzipError && want.test(e.message),
      name,
    );
  }
  // Every single-byte corruption of the body ends in a result or a GunzipError.
  for (let i = 10; i < good.length - 8; i++) {
    for (const flip of [1, 0x80, 0xff]) {
      const bad = Buffer.from(good);
      bad[i]! ^= flip;
      try {
        gunzip(bad);
      } catch (e) {
        assert.ok(e instanceof GunzipError, `byte ${i}: ${String(e)}`);
      }
    }
  }
});

test(
  'gunzip reads this host’s compressed kernel config as zlib does',
  { skip: !existsSync('/proc/config.gz') },
  async () => {
    const { gunzipSync } = await import('node:zlib');
    const raw = readFileSync('/proc/config.gz');
    assert.ok(gunzip(raw).equals(gunzipSync(raw)));
  },
);
