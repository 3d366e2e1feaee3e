import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueServingCert } from '../../../src/cluster/pki.js';

/** A throwaway CA and a serving certificate for 127.0.0.1 signed by it. */
export function servingCertificate(dir = mkdtempSync(join(tmpdir(), 'hwe-webhook-'))): {
  ca: string;
  cert: string;
  key: string;
} {
  const ca = createCa(dir, 'ca', 'hwe-test-ca', 2);
  const tls = issueServingCert(dir, ca, 'tls', {
    commonName: 'webhook',
    ipAddresses: ['127.0.0.1'],
    dnsNames: ['localhost'],
    validityDays: 2,
  });
  return {
    ca: readFileSync(ca.cert, 'utf8'),
    cert: readFileSync(tls.cert, 'utf8'),
    key: readFileSync(tls.key, 'utf8'),
  };
}
