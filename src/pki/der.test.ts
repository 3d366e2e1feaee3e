import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DerError,
  TAG,
  children,
  decodeOid,
  derNull,
  explicit,
  integer,
  octetString,
  oid,
  readTlv,
  readWhole,
  sequence,
  setOf,
  tlv,
} from './der.js';

const hex = (b: Buffer) => b.toString('hex');

describe('DER encoder', () => {
  const cases: [string, Buffer, string][] = [
    ['NULL', derNull(), '0500'],
    ['INTEGER 0', integer(0), '020100'],
    ['INTEGER 1', integer(1), '020101'],
    ['INTEGER 127', integer(127), '02017f'],
    ['INTEGER 128 gets a leading zero', integer(128), '02020080'],
    ['INTEGER 256', integer(256), '02020100'],
    ['INTEGER 2^64', integer(2n ** 64n), '0209010000000000000000'],
    ['OID sha256', oid('2.16.840.1.101.3.4.2.1'), '0609608648016503040201'],
    ['OID signedData', oid('1.2.840.113549.1.7.2'), '06092a864886f70d010702'],
    ['OID commonName', oid('2.5.4.3'), '0603550403'],
    ['OID ecdsa-with-SHA384', oid('1.2.840.10045.4.3.3'), '06082a8648ce3d040303'],
    ['OCTET STRING', octetString(Buffer.from('ab')), '04026162'],
    ['empty SEQUENCE', sequence(), '3000'],
    ['SEQUENCE of two', sequence(integer(1), derNull()), '30050201010500'],
    ['[0] EXPLICIT', explicit(0, integer(1)), 'a003020101'],
    ['SET OF sorts its elements', setOf(integer(2), integer(1)), '3106020101020102'],
    ['length 127 short form', tlv(TAG.OCTET_STRING, Buffer.alloc(127)), '047f' + '00'.repeat(127)],
    ['length 128 long form', tlv(TAG.OCTET_STRING, Buffer.alloc(128)), '048180' + '00'.repeat(128)],
    [
      'length 256 two bytes',
      tlv(TAG.OCTET_STRING, Buffer.alloc(256)),
      '04820100' + '00'.repeat(256),
    ],
  ];
  for (const [name, got, want] of cases) {
    it(name, () => assert.equal(hex(got), want));
  }

  it('encodes 3-byte lengths', () => {
    const big = tlv(TAG.OCTET_STRING, Buffer.alloc(70000));
    assert.equal(hex(big.subarray(0, 5)), '0483011170');
    assert.equal(big.length, 70005);
  });

  it('refuses malformed OIDs and negative integers', () => {
    for (const bad of ['1', '3.1', '1.40', '1.2.x', '']) assert.throws(() => oid(bad), DerError);
    assert.throws(() => integer(-1), DerError);
  });
});

describe('DER reader', () => {
  it('round-trips OIDs', () => {
    for (const o of ['2.16.840.1.101.3.4.2.3', '1.2.840.113549.1.1.1', '2.999.3', '0.39']) {
      assert.equal(decodeOid(readTlv(oid(o)).value), o);
    }
  });

  it('walks nested elements and keeps raw encodings', () => {
    const inner = sequence(integer(5), octetString(Buffer.from('x')));
    const outer = sequence(oid('2.5.4.3'), explicit(0, inner));
    const top = readWhole(outer, TAG.SEQUENCE, 'test');
    const [o, wrapped] = children(top);
    assert.equal(decodeOid(o!.value), '2.5.4.3');
    const [seq] = children(wrapped!);
    assert.deepEqual(seq!.raw, inner);
    assert.deepEqual(
      children(seq!).map((t) => t.tag),
      [TAG.INTEGER, TAG.OCTET_STRING],
    );
  });

  const bad: [string, string][] = [
    ['empty input', ''],
    ['length past the end', '0405616263'],
    ['indefinite length', '3080'],
    ['non-minimal long form', '048105' + '00'.repeat(5)],
    ['leading zero length byte', '04820005' + '00'.repeat(5)],
    ['high tag number', '1f2200'],
    ['truncated long length', '0482'],
  ];
  for (const [name, input] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => readTlv(Buffer.from(input, 'hex')), DerError));
  }

  it('refuses trailing bytes and wrong tags in readWhole', () => {
    assert.throws(() => readWhole(Buffer.from('050000', 'hex'), TAG.NULL, 'x'), /1 bytes after/);
    assert.throws(() => readWhole(derNull(), TAG.SEQUENCE, 'x'), /expected tag 0x30/);
  });

  it('refuses OIDs that end inside an arc', () => {
    assert.throws(() => decodeOid(Buffer.from('2a86', 'hex')), DerError);
  });
});
