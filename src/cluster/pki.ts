import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChecked } from './processes.js';

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

/**
 * Creates, in `dir`, everything the control plane needs to authenticate: a CA, a serving
 * certificate for 127.0.0.1/localhost signed by it, the service-account signing key pair, and a
 * static token file with the admin identity. Certificates come from openssl; keys for service
 * accounts from node:crypto.
 */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Paths of a certificate and its key. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** A self-signed CA (ECDSA P-256) written to `${name}.crt` and `${name}.key` in `dir`. */
export function createCa(dir: string, name: string, cn: string, days = 3650): CertFiles {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  runChecked('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    String(days),
    '-subj',
    `/CN=${cn}`,
  ]);
  return { cert, key };
}

/**
 * A serving certificate signed by `ca`, for the given subject alternative names
 * (e.g. `IP:127.0.0.1`, `DNS:localhost`), written to `${name}.crt` and `${name}.key` in `dir`.
 */
export function issueServingCert(
  dir: string,
  ca: CertFiles,
  name: string,
  cn: string,
  sans: string[],
  days = 3650,
): CertFiles {
  const p = (ext: string) => join(dir, `${name}.${ext}`);
  runChecked('openssl', [
    'req',
    ...EC_KEY,
    '-keyout',
    p('key'),
    '-out',
    p('csr'),
    '-subj',
    `/CN=${cn}`,
  ]);
  writeFileSync(
    p('ext'),
    `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
  );
  runChecked('openssl', [
    'x509',
    '-req',
    '-in',
    p('csr'),
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    p('crt'),
    '-days',
    String(days),
    '-extfile',
    p('ext'),
  ]);
  return { cert: p('crt'), key: p('key') };
}

export function createPki(dir: string): LocalPki {
  const p = (f: string) => join(dir, f);
  const ca = createCa(dir, 'ca', 'hwe-local-ca');
  const server = issueServingCert(dir, ca, 'apiserver', 'kube-apiserver', [
    'IP:127.0.0.1',
    'IP:10.0.0.1',
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ]);
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
