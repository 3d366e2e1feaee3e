import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeKeyPair, makeV1Certificate, tool } from '../../test/fixtures/signing/fixtures.js';
import { TAG, oid, readTlv, sequence, setOf, tlv } from './der.js';
import { colonHex, commonName, parseCertificate, serialKeyId } from './x509.js';

describe('parseCertificate', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hwe-x509-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads issuer and serial the same from PEM and DER', async () => {
    const kp = await makeKeyPair(dir, 'pemder', { cn: 'Build signer' });
    const pem = parseCertificate(await readFile(kp.certPem));
    const der = parseCertificate(await readFile(kp.certDer));
    assert.deepEqual(pem.issuer, der.issuer);
    assert.deepEqual(pem.serial, der.serial);
    assert.deepEqual(pem.der, await readFile(kp.certDer));
    assert.equal(pem.signer, 'Build signer');
    const x = new X509Certificate(await readFile(kp.certDer));
    assert.equal(pem.sigKey.replace(/:/g, ''), x.serialNumber.replace(/^(?:00)+(?=..)/, ''));
    // The issuer element is a verbatim slice of the certificate.
    assert.ok(pem.der.includes(pem.issuer));
    assert.match(pem.issuer.toString('latin1'), /hwe tests/);
  });

  it('keeps a serial with a leading zero byte and reads v1 certificates', async () => {
    // No extensions and an explicit serial whose top bit is set: DER needs a leading 00.
    const { cert: crt } = await makeV1Certificate(dir, 'v1', { cn: 'v1 cert', serial: '0x8123' });
    assert.match(await tool('openssl', ['x509', '-in', crt, '-noout', '-text']), /Version: 1 /);
    const info = parseCertificate(await readFile(crt));
    assert.equal(info.serial.toString('hex'), '0203008123');
    // modinfo prints the number, not DER's sign byte (checked against modinfo in sign.test.ts).
    assert.equal(info.sigKey, '81:23');
    assert.equal(info.signer, 'v1 cert');
  });

  it('refuses what is not a certificate', async () => {
    const kp = await makeKeyPair(dir, 'notcert');
    assert.throws(() => parseCertificate(Buffer.from('hello')));
    assert.throws(() => parseCertificate(Buffer.from(kp.key)));
  });

  it('takes the last commonName of a Name and formats serials as modinfo', () => {
    const atv = (type: string, value: string) =>
      setOf(sequence(oid(type), tlv(TAG.PRINTABLE_STRING, Buffer.from(value))));
    const name = sequence(
      atv('2.5.4.3', 'first'),
      atv('2.5.4.10', 'org'),
      atv('2.5.4.3', 'second'),
    );
    assert.equal(commonName(readTlv(name)), 'second');
    assert.equal(colonHex(Buffer.from([0x0a, 0xff])), '0A:FF');
    assert.equal(serialKeyId(Buffer.from([0x00, 0xf5, 0xaa])), 'F5:AA');
    assert.equal(serialKeyId(Buffer.from([0x01, 0x00])), '01:00');
    assert.equal(serialKeyId(Buffer.from([0xff, 0x7f])), '81'); // -129
    assert.equal(serialKeyId(Buffer.from([0x80])), '80'); // -128
    assert.equal(serialKeyId(Buffer.from([0x00])), '');
  });
});
