import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MODULE_SIG_MAGIC,
  MODULE_SIG_TRAILER_SIZE,
  SignatureFormatError,
  bufferSource,
  encodeTrailer,
  readSignatureBlock,
} from './module-signature.js';

describe('module signature trailer', () => {
  it('lays out struct module_signature as sign-file does', () => {
    const t = encodeTrailer(0x19c);
    assert.equal(t.length, 40);
    assert.equal(t.subarray(0, 12).toString('hex'), '000002000000000000' + '00019c');
    assert.deepEqual(t.subarray(12), MODULE_SIG_MAGIC);
    assert.equal(MODULE_SIG_MAGIC.toString('latin1'), '~Module signature appended~\n');
  });

  it('finds the module length and signature of a signed module', () => {
    const module = Buffer.from('module bytes');
    const sig = Buffer.from('signature');
    const block = readSignatureBlock(
      bufferSource(Buffer.concat([module, sig, encodeTrailer(sig.length)])),
    );
    assert.deepEqual(block, { moduleLength: module.length, idType: 2, signature: sig });
  });

  it('strips the signer and key id of the pre-PKCS#7 format too', () => {
    const info = Buffer.alloc(12);
    info[2] = 1;
    info[3] = 4; // signer_len
    info[4] = 3; // key_id_len
    info.writeUInt32BE(5, 8);
    const data = Buffer.concat([
      Buffer.from('MOD'),
      Buffer.from('nameKIDsigna'),
      info,
      MODULE_SIG_MAGIC,
    ]);
    const block = readSignatureBlock(bufferSource(data));
    assert.equal(block?.moduleLength, 3);
    assert.equal(block?.idType, 1);
  });

  const unsigned: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['shorter than a trailer', MODULE_SIG_MAGIC],
    ['no magic', Buffer.alloc(100)],
    [
      'magic not at the very end',
      Buffer.concat([Buffer.alloc(20), MODULE_SIG_MAGIC, Buffer.from('\n')]),
    ],
  ];
  for (const [name, data] of unsigned) {
    it(`reports no signature: ${name}`, () =>
      assert.equal(readSignatureBlock(bufferSource(data)), undefined));
  }

  const damaged: [string, Buffer][] = [
    ['signature longer than the file', Buffer.concat([Buffer.alloc(10), encodeTrailer(11)])],
    ['zero-length signature', Buffer.concat([Buffer.alloc(10), encodeTrailer(0)])],
    [
      'PKCS#7 with a signer length',
      (() => {
        const t = encodeTrailer(4);
        t[3] = 1;
        return Buffer.concat([Buffer.alloc(10), t]);
      })(),
    ],
  ];
  for (const [name, data] of damaged) {
    it(`refuses a damaged trailer: ${name}`, () =>
      assert.throws(() => readSignatureBlock(bufferSource(data)), SignatureFormatError));
  }

  it('has a 40-byte trailer', () => assert.equal(MODULE_SIG_TRAILER_SIZE, 40));
});
