import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway CA and a serving certificate for 127.0.0.1 signed by it, made with openssl. */
export function servingCertificate(dir = mkdtempSync(join(tmpdir(), 'hwe-webhook-'))): {
  ca: string;
  cert: string;
  key: string;
} {
  const p = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=hwe-test-ca',
  ]);
  openssl(['req', ...ec, '-keyout', p('tls.key'), '-out', p('tls.csr'), '-subj', '/CN=webhook']);
  writeFileSync(
    p('ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    p('tls.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('tls.crt'),
    '-days',
    '2',
    '-extfile',
    p('ext'),
  ]);
  return {
    ca: readFileSync(p('ca.crt'), 'utf8'),
    cert: readFileSync(p('tls.crt'), 'utf8'),
    key: readFileSync(p('tls.key'), 'utf8'),
  };
}
