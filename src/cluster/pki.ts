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
export function createPki(dir: string): LocalPki {
  const p = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  runChecked('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '3650',
    '-subj',
    '/CN=hwe-local-ca',
  ]);
  runChecked('openssl', [
    'req',
    ...ec,
    '-keyout',
    p('apiserver.key'),
    '-out',
    p('apiserver.csr'),
    '-subj',
    '/CN=kube-apiserver',
  ]);
  writeFileSync(
    p('apiserver.ext'),
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
      'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' +
      'extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  runChecked('openssl', [
    'x509',
    '-req',
    '-in',
    p('apiserver.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('apiserver.crt'),
    '-days',
    '3650',
    '-extfile',
    p('apiserver.ext'),
  ]);
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(p('sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(p('sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = randomBytes(24).toString('hex');
  writeFileSync(p('tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n`, {
    mode: 0o600,
  });
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
    adminToken,
    tokenFile: p('tokens.csv'),
  };
}
