/**
 * X.509 certificates for TLS, ECDSA P-256, built with node:crypto (which signs but cannot write
 * X.509) and our DER encoder: a private CA, and certificates it signs for servers or clients.
 * Go's verifier (kube-apiserver, kubelet) needs a server's names in subjectAltName, never only in
 * the common name, so every issued certificate carries them there.
 */
import {
  X509Certificate,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import {
  TAG,
  children,
  explicit,
  integer,
  octetString,
  oid,
  readWhole,
  sequence,
  setOf,
  tlv,
} from './der.js';
import { parseCertificate } from './x509.js';

const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const DAY_MS = 86_400_000;
const TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** A certificate and its key, both PEM (the key PKCS#8). */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export interface Validity {
  /** Lifetime in days (default 365). */
  validityDays?: number;
  /** The issue time (default now); certificates start an hour earlier for lagging clocks. */
  now?: Date;
}

export interface CertificateRequest extends Validity {
  commonName: string;
  /** DNS names the server answers to, e.g. `kmm-webhook.openshift-kmm.svc`. */
  dnsNames?: string[];
  /** IP addresses, e.g. 127.0.0.1 for a server reached on the local machine. */
  ipAddresses?: string[];
  /** Extended key usages (default server only). */
  usages?: ('server' | 'client')[];
}

function name(cn: string): Buffer {
  return sequence(setOf(sequence(oid('2.5.4.3'), tlv(TAG.UTF8_STRING, Buffer.from(cn)))));
}

/** RFC 5280: UTCTime through 2049, GeneralizedTime after. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(iso.slice(2)))
    : tlv(0x18, Buffer.from(iso));
}

function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [TRUE] : []), octetString(value));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  if (isIP(ip) === 6) {
    const [head, tail] = ip.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
  }
  throw new Error(`"${ip}" is not an IP address`);
}

/**
 * RFC 5280's key identifier (method 1): the SHA-1 of the subjectPublicKey bits. Verifiers use
 * it to tell apart CAs with the same name (as OpenSSL does when several are trusted).
 */
function keyId(publicKey: KeyObject): Buffer {
  const spki = readWhole(publicKey.export({ type: 'spki', format: 'der' }), TAG.SEQUENCE, 'SPKI');
  const bits = children(spki)[1]!.value.subarray(1); // after the unused-bits byte
  return createHash('sha1').update(bits).digest();
}

const subjectKeyId = (key: KeyObject) => extension('2.5.29.14', false, octetString(keyId(key)));
const authorityKeyId = (key: KeyObject) =>
  extension('2.5.29.35', false, sequence(tlv(0x80, keyId(key))));

function validity(v: Validity): [Date, Date] {
  const now = v.now ?? new Date();
  return [
    new Date(now.getTime() - 3_600_000),
    new Date(now.getTime() + (v.validityDays ?? 365) * DAY_MS),
  ];
}

function certificate(opts: {
  subject: string;
  /** The issuer's Name as its certificate encodes it (the subject's own for a self-signed one). */
  issuer?: Buffer;
  publicKey: KeyObject;
  signingKey: KeyObject;
  validity: [Date, Date];
  extensions: Buffer[];
}): string {
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive
  const tbs = sequence(
    explicit(0, integer(2)), // v3
    integer(BigInt(`0x${serial.toString('hex')}`)),
    ECDSA_SHA256,
    opts.issuer ?? name(opts.subject),
    sequence(time(opts.validity[0]), time(opts.validity[1])),
    name(opts.subject),
    opts.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...opts.extensions)),
  );
  const signature = sign('sha256', tbs, opts.signingKey);
  const der = sequence(tbs, ECDSA_SHA256, bitString(signature));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

function keyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A new self-signed certificate authority named `commonName`. */
export function createCertificateAuthority(
  commonName: string,
  v: Validity = {},
): CertificateAndKey {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const certPem = certificate({
    subject: commonName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    validity: validity(v),
    extensions: [
      extension('2.5.29.19', true, sequence(TRUE)), // CA:TRUE
      // digitalSignature, keyCertSign, cRLSign: bits 0, 5, 6 → 1000 0110, one unused bit.
      extension('2.5.29.15', true, bitString(Buffer.from([0x86]), 1)),
      subjectKeyId(ca.publicKey),
    ],
  });
  return { certPem, keyPem: keyPem(ca.privateKey) };
}

/** A new key and a certificate for it, signed by `ca`. */
export function issueCertificate(
  ca: CertificateAndKey,
  req: CertificateRequest,
): CertificateAndKey {
  const dnsNames = req.dnsNames ?? [];
  const ipAddresses = req.ipAddresses ?? [];
  const usages = req.usages ?? ['server'];
  if (usages.includes('server') && dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  }
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const san = sequence(
    ...dnsNames.map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
    ...ipAddresses.map((ip) => tlv(0x87, ipBytes(ip))),
  );
  const certPem = certificate({
    subject: req.commonName,
    issuer: parseCertificate(ca.certPem).subject,
    publicKey: leaf.publicKey,
    signingKey: createPrivateKey(ca.keyPem),
    validity: validity(req),
    extensions: [
      extension('2.5.29.19', true, sequence()), // CA:FALSE
      extension('2.5.29.15', true, bitString(Buffer.from([0x80]), 7)), // digitalSignature
      extension(
        '2.5.29.37',
        false,
        sequence(
          ...usages.map((u) => oid(u === 'server' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2')),
        ),
      ),
      ...(dnsNames.length || ipAddresses.length ? [extension('2.5.29.17', false, san)] : []),
      subjectKeyId(leaf.publicKey),
      authorityKeyId(new X509Certificate(ca.certPem).publicKey),
    ],
  });
  return { certPem, keyPem: keyPem(leaf.privateKey) };
}
