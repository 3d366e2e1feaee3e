import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createCertificateAuthority, issueCertificate } from './certificate.js';
import { parseCertificate } from './x509.js';

const dir = mkdtempSync(join(tmpdir(), 'hwe-pki-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function opensslVerify(purpose: string, caPem: string, certPem: string): string {
  writeFileSync(join(dir, 'ca.crt'), caPem);
  writeFileSync(join(dir, 'leaf.crt'), certPem);
  return execFileSync(
    'openssl',
    ['verify', '-purpose', purpose, '-CAfile', join(dir, 'ca.crt'), join(dir, 'leaf.crt')],
    { encoding: 'utf8' },
  );
}

describe('createCertificateAuthority', () => {
  it('is a self-signed CA whose key matches, valid from an hour ago for the days asked', () => {
    const now = new Date('2030-01-02T03:04:05Z');
    const ca = createCertificateAuthority('hwe-test-ca', { now, validityDays: 2 });
    const x = new X509Certificate(ca.certPem);
    assert.equal(x.ca, true);
    assert.equal(x.subject, 'CN=hwe-test-ca');
    assert.equal(x.issuer, 'CN=hwe-test-ca');
    assert.ok(x.verify(x.publicKey));
    assert.ok(x.checkPrivateKey(createPrivateKey(ca.keyPem)));
    assert.equal(Date.parse(x.validFrom), now.getTime() - 3_600_000);
    assert.equal(Date.parse(x.validTo), now.getTime() + 2 * 86_400_000);
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  });
});

describe('issueCertificate', () => {
  const ca = createCertificateAuthority('hwe-test-ca');

  it('issues a serving certificate openssl verifies for server use, names in subjectAltName', () => {
    const leaf = issueCertificate(ca, {
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '::1'],
    });
    assert.match(opensslVerify('sslserver', ca.certPem, leaf.certPem), /OK/);
    const x = new X509Certificate(leaf.certPem);
    assert.equal(x.ca, false);
    assert.equal(x.checkHost('kubernetes.default.svc'), 'kubernetes.default.svc');
    assert.equal(x.checkIP('::1'), '::1');
    assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
    assert.ok(x.checkPrivateKey(createPrivateKey(leaf.keyPem)));
    // The issuer is the CA's subject byte for byte, as verifiers compare it.
    assert.deepEqual(parseCertificate(leaf.certPem).issuer, parseCertificate(ca.certPem).subject);
  });

  it('issues a client certificate without names, not good for servers', () => {
    const leaf = issueCertificate(ca, { commonName: 'admin', usages: ['client'] });
    assert.match(opensslVerify('sslclient', ca.certPem, leaf.certPem), /OK/);
    assert.throws(() => opensslVerify('sslserver', ca.certPem, leaf.certPem));
    assert.equal(new X509Certificate(leaf.certPem).subjectAltName, undefined);
  });

  it('tells apart CAs of the same name by key identifier, as OpenSSL picks the issuer', () => {
    const twin = createCertificateAuthority('hwe-test-ca');
    const both = ca.certPem + twin.certPem;
    for (const issuer of [ca, twin]) {
      const leaf = issueCertificate(issuer, { commonName: 'w', dnsNames: ['localhost'] });
      assert.match(opensslVerify('sslserver', both, leaf.certPem), /OK/);
    }
    const text = (pem: string) => {
      writeFileSync(join(dir, 'x.crt'), pem);
      return execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'x.crt')], {
        encoding: 'utf8',
      });
    };
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(text(ca.certPem))?.[1];
    const leaf = issueCertificate(ca, { commonName: 'w', dnsNames: ['localhost'] });
    const aki = /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(
      text(leaf.certPem),
    )?.[1];
    assert.ok(ski && ski.length === 59, `a 20-byte key identifier, got ${ski}`);
    assert.equal(aki, ski);
  });

  it('refuses a serving certificate with no name', () => {
    assert.throws(
      () => issueCertificate(ca, { commonName: 'nobody' }),
      /needs at least one DNS name or IP address/,
    );
  });

  it('a certificate signed by another CA does not verify', () => {
    const other = createCertificateAuthority('other-ca');
    const leaf = issueCertificate(other, { commonName: 'x', dnsNames: ['x'] });
    assert.equal(
      new X509Certificate(leaf.certPem).verify(new X509Certificate(ca.certPem).publicKey),
      false,
    );
  });
});
