/**
 * Self-managed serving certificates for the webhook: a private CA and a server certificate it
 * signs, ECDSA P-256, built with node:crypto (which signs but cannot write X.509) and the DER
 * encoder of src/signing. The apiserver trusts the CA through the webhook configuration's
 * caBundle; Go's verifier needs the names in subjectAltName, never only in the common name.
 */
import {
  X509Certificate,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  TAG,
  explicit,
  integer,
  octetString,
  oid,
  sequence,
  setOf,
  tlv,
} from '../../signing/der.js';

export interface CertificateRequest {
  /** DNS names the server answers to, e.g. `kmm-webhook.openshift-kmm.svc`. */
  dnsNames: string[];
  /** IP addresses, e.g. 127.0.0.1 for a webhook reached by URL on the local machine. */
  ipAddresses?: string[];
  /** Lifetime of both certificates (default 365 days). */
  validityDays?: number;
  /** For tests: the issue time. */
  now?: Date;
}

export interface ServingCertificate {
  /** PEM: the CA to put in caBundle. */
  caPem: string;
  /** PEM: the serving certificate (tls.crt). */
  certPem: string;
  /** PEM (PKCS#8): its key (tls.key). */
  keyPem: string;
}

const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const DAY_MS = 86_400_000;

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
  return sequence(
    oid(id),
    ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []),
    octetString(value),
  );
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

function certificate(opts: {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}): string {
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive
  const tbs = sequence(
    explicit(0, integer(2)), // v3
    integer(BigInt(`0x${serial.toString('hex')}`)),
    ECDSA_SHA256,
    name(opts.issuer),
    sequence(time(opts.notBefore), time(opts.notAfter)),
    name(opts.subject),
    opts.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...opts.extensions)),
  );
  const signature = sign('sha256', tbs, opts.signingKey);
  const der = sequence(tbs, ECDSA_SHA256, bitString(signature));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** A new CA and a serving certificate for the given names, signed by it. */
export function generateServingCertificate(req: CertificateRequest): ServingCertificate {
  if (req.dnsNames.length === 0 && !req.ipAddresses?.length) {
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  }
  const now = req.now ?? new Date();
  // Back-dated a little so a node whose clock lags still accepts it.
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + (req.validityDays ?? 365) * DAY_MS);
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caName = `hwe-kmm-webhook-ca@${Math.floor(now.getTime() / 1000)}`;
  const caPem = certificate({
    subject: caName,
    issuer: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension('2.5.29.19', true, sequence(Buffer.from([0x01, 0x01, 0xff]))), // CA:TRUE
      // digitalSignature, keyCertSign, cRLSign: bits 0, 5, 6 → 1000 0110, one unused bit.
      extension('2.5.29.15', true, bitString(Buffer.from([0x86]), 1)),
    ],
  });
  const san = sequence(
    ...req.dnsNames.map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
    ...(req.ipAddresses ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
  );
  const certPem = certificate({
    subject: req.dnsNames[0] ?? req.ipAddresses![0]!,
    issuer: caName,
    publicKey: leaf.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension('2.5.29.19', true, sequence()), // CA:FALSE
      extension('2.5.29.15', true, bitString(Buffer.from([0x80]), 7)), // digitalSignature
      extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))), // serverAuth
      extension('2.5.29.17', false, san),
    ],
  });
  const keyPem = leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { caPem, certPem, keyPem };
}

/**
 * Whether a stored certificate can still be used: it parses, matches its key, was signed by
 * the CA, covers every name, and stays valid for at least `minRemainingMs`.
 */
export function certificateUsable(
  pair: Partial<ServingCertificate>,
  names: { dnsNames: string[]; ipAddresses?: string[] },
  minRemainingMs: number,
  now = new Date(),
): boolean {
  if (!pair.caPem || !pair.certPem || !pair.keyPem) return false;
  try {
    const ca = new X509Certificate(pair.caPem);
    const cert = new X509Certificate(pair.certPem);
    if (!cert.verify(ca.publicKey)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return false;
    const remaining = Date.parse(cert.validTo) - now.getTime();
    if (remaining < minRemainingMs || Date.parse(cert.validFrom) > now.getTime()) return false;
    if (Date.parse(ca.validTo) - now.getTime() < minRemainingMs) return false;
    if (!names.dnsNames.every((d) => cert.checkHost(d, { wildcards: false }) === d)) return false;
    return (names.ipAddresses ?? []).every((ip) => cert.checkIP(ip) === ip);
  } catch {
    return false;
  }
}
