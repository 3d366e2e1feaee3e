import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateUsable, generateServingCertificate } from '../../pki/index.js';
import { ensureSelfManagedCertificate, RENEW_BEFORE_MS } from './provision.js';

const names = {
  dnsNames: ['kmm-webhook.openshift-kmm.svc', 'localhost'],
  ipAddresses: ['127.0.0.1', '::1'],
};

test('a generated certificate verifies with openssl against its CA, for server use', () => {
  const c = generateServingCertificate(names);
  const dir = mkdtempSync(join(tmpdir(), 'hwe-cert-'));
  writeFileSync(join(dir, 'ca.crt'), c.caPem);
  writeFileSync(join(dir, 'tls.crt'), c.certPem);
  const out = execFileSync(
    'openssl',
    ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.crt'), join(dir, 'tls.crt')],
    { encoding: 'utf8' },
  );
  assert.match(out, /OK/);
  const x = new X509Certificate(c.certPem);
  assert.equal(x.checkHost('kmm-webhook.openshift-kmm.svc'), 'kmm-webhook.openshift-kmm.svc');
  assert.equal(x.checkIP('::1'), '::1');
  assert.equal(x.ca, false);
  assert.equal(new X509Certificate(c.caPem).ca, true);
});

test('certificateUsable: names, key, signer and remaining lifetime', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const c = generateServingCertificate({ ...names, validityDays: 365, now });
  assert.ok(certificateUsable(c, names, RENEW_BEFORE_MS, now));
  assert.ok(!certificateUsable(c, { dnsNames: ['other.svc'] }, RENEW_BEFORE_MS, now));
  assert.ok(
    !certificateUsable(c, { dnsNames: [], ipAddresses: ['10.0.0.1'] }, RENEW_BEFORE_MS, now),
  );
  const later = new Date(now.getTime() + 340 * 86_400_000);
  assert.ok(!certificateUsable(c, names, RENEW_BEFORE_MS, later), 'renewed 30 days before expiry');
  const other = generateServingCertificate({ ...names, now });
  assert.ok(!certificateUsable({ ...c, keyPem: other.keyPem }, names, 0, now), 'key mismatch');
  assert.ok(!certificateUsable({ ...c, caPem: other.caPem }, names, 0, now), 'foreign CA');
  assert.ok(!certificateUsable({ caPem: 'x', certPem: 'y', keyPem: 'z' }, names, 0, now));
});

test('a certificate directory is reused while usable and reissued when not', async () => {
  const certDir = mkdtempSync(join(tmpdir(), 'hwe-certdir-'));
  const first = await ensureSelfManagedCertificate({ certDir, ...names });
  const again = await ensureSelfManagedCertificate({ certDir, ...names });
  assert.equal(again.caPem, first.caPem);
  const renamed = await ensureSelfManagedCertificate({ certDir, dnsNames: ['new.svc'] });
  assert.notEqual(renamed.caPem, first.caPem);
  const late = await ensureSelfManagedCertificate(
    { certDir, dnsNames: ['new.svc'] },
    new Date(Date.now() + 350 * 86_400_000),
  );
  assert.notEqual(late.caPem, renamed.caPem);
});
