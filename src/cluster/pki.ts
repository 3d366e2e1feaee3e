import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createCertificateAuthority,
  issueCertificate,
  type CertificateAndKey,
  type CertificateRequest,
} from '../pki/index.js';

export interface LocalPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
  /** Bearer token of the cluster admin (group system:masters). */
  adminToken: string;
  tokenFile: string;
}

/** Paths of a certificate and its key. */
export interface CertFiles {
  cert: string;
  key: string;
}

function write(dir: string, name: string, pair: CertificateAndKey): CertFiles {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  writeFileSync(files.cert, pair.certPem);
  writeFileSync(files.key, pair.keyPem, { mode: 0o600 });
  return files;
}

/** A self-signed CA written to `${name}.crt` and `${name}.key` in `dir`. */
export function createCa(dir: string, name: string, cn: string, days = 3650): CertFiles {
  return write(dir, name, createCertificateAuthority(cn, { validityDays: days }));
}

/** A serving certificate signed by `ca`, written to `${name}.crt` and `${name}.key` in `dir`. */
export function issueServingCert(
  dir: string,
  ca: CertFiles,
  name: string,
  req: Omit<CertificateRequest, 'usages'>,
): CertFiles {
  const issuer = { certPem: readFileSync(ca.cert, 'utf8'), keyPem: readFileSync(ca.key, 'utf8') };
  return write(dir, name, issueCertificate(issuer, { validityDays: 3650, ...req }));
}

/**
 * Creates, in `dir`, everything the control plane needs to authenticate: a CA, a serving
 * certificate for 127.0.0.1/localhost signed by it, the service-account signing key pair, and a
 * static token file with the admin identity.
 */
export function createPki(dir: string): LocalPki {
  const p = (f: string) => join(dir, f);
  const ca = createCa(dir, 'ca', 'hwe-local-ca');
  const server = issueServingCert(dir, ca, 'apiserver', {
    commonName: 'kube-apiserver',
    ipAddresses: ['127.0.0.1', '10.0.0.1'],
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
  });
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(p('sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(p('sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = randomBytes(24).toString('hex');
  writeFileSync(p('tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n`, {
    mode: 0o600,
  });
  return {
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.cert,
    serverKey: server.key,
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
    adminToken,
    tokenFile: p('tokens.csv'),
  };
}
