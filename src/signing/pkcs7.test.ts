import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TAG, integer, oid, readTlv, sequence, setOf, tlv } from '../pki/index.js';
import { HASH_ALGORITHMS, decodeSignedData, encodeSignedData } from './pkcs7.js';

const issuer = sequence(setOf(sequence(oid('2.5.4.3'), tlv(TAG.UTF8_STRING, Buffer.from('k')))));
const serial = integer(0x8001);
const signature = Buffer.alloc(64, 0xab);

describe('encodeSignedData', () => {
  it('lays out ContentInfo(SignedData) as OpenSSL does for sign-file', () => {
    const der = encodeSignedData({ issuer, serial }, 'sha256', 'rsa', signature);
    const expected = Buffer.concat([
      Buffer.from('3081aa', 'hex'), // ContentInfo
      Buffer.from('06092a864886f70d010702', 'hex'), // signedData
      Buffer.from('a0819c', 'hex'), // [0]
      Buffer.from('308199', 'hex'), // SignedData
      Buffer.from('020101', 'hex'), // version 1
      Buffer.from('310d300b0609608648016503040201', 'hex'), // {sha256}, no NULL
      Buffer.from('300b06092a864886f70d010701', 'hex'), // data, no content
      Buffer.from('31783076', 'hex'), // signerInfos, SignerInfo
      Buffer.from('020101', 'hex'), // version 1
      Buffer.from('3013', 'hex'), // issuerAndSerialNumber
      issuer,
      serial,
      Buffer.from('300b0609608648016503040201', 'hex'), // sha256
      Buffer.from('300d06092a864886f70d0101010500', 'hex'), // rsaEncryption, NULL
      Buffer.from('0440', 'hex'),
      signature,
    ]);
    assert.equal(der.toString('hex'), expected.toString('hex'));
  });

  for (const hash of HASH_ALGORITHMS) {
    for (const keyType of ['rsa', 'ec'] as const) {
      it(`round-trips ${keyType} with ${hash}`, () => {
        const der = encodeSignedData({ issuer, serial }, hash, keyType, signature);
        assert.deepEqual(decodeSignedData(der), {
          issuer,
          serial,
          hash,
          keyType,
          signature,
          signedAttributes: false,
        });
      });
    }
  }

  it('writes ecdsa-with-SHA384 without parameters', () => {
    const der = encodeSignedData({ issuer, serial }, 'sha384', 'ec', signature);
    assert.ok(der.includes(Buffer.from('300a06082a8648ce3d040303', 'hex')));
  });
});

describe('decodeSignedData', () => {
  it('notices signed attributes', () => {
    const signerInfo = sequence(
      integer(1),
      sequence(issuer, serial),
      sequence(oid('2.16.840.1.101.3.4.2.1')),
      tlv(0xa0, sequence(oid('1.2.840.113549.1.9.3'))),
      sequence(oid('1.2.840.113549.1.1.1')),
      tlv(TAG.OCTET_STRING, signature),
    );
    const der = sequence(
      oid('1.2.840.113549.1.7.2'),
      tlv(
        0xa0,
        sequence(integer(1), setOf(), sequence(oid('1.2.840.113549.1.7.1')), setOf(signerInfo)),
      ),
    );
    const info = decodeSignedData(der);
    assert.equal(info.signedAttributes, true);
    assert.equal(info.keyType, 'rsa');
    assert.deepEqual(info.signature, signature);
  });

  const bad: [string, Buffer][] = [
    ['garbage', Buffer.from('hello')],
    ['another content type', sequence(oid('1.2.840.113549.1.7.1'), tlv(0xa0, sequence()))],
    [
      'a truncated message',
      encodeSignedData({ issuer, serial }, 'sha256', 'rsa', signature).subarray(0, 50),
    ],
    [
      'no signer infos',
      sequence(oid('1.2.840.113549.1.7.2'), tlv(0xa0, sequence(integer(1), setOf()))),
    ],
  ];
  for (const [name, der] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => decodeSignedData(der)));
  }

  it('reads issuer and serial as complete elements', () => {
    const info = decodeSignedData(encodeSignedData({ issuer, serial }, 'sha512', 'rsa', signature));
    assert.equal(readTlv(info.serial).value.toString('hex'), '008001');
  });
});
