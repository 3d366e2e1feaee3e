/**
 * What a module signature needs from the signing certificate: the issuer Name exactly as encoded
 * (the kernel matches the signer by comparing these bytes with its keyring certificates) and the
 * serial number. node:crypto parses PEM and DER; the TBSCertificate fields are read here.
 */
import { X509Certificate } from 'node:crypto';
import { TAG, type Tlv, children, contextTag, decodeOid, expectTag, readWhole } from './der.js';

export interface CertificateInfo {
  /** The certificate in DER. */
  der: Buffer;
  /** The issuer Name element, tag and length included, as the certificate encodes it. */
  issuer: Buffer;
  /** The subject Name element, tag and length included (the issuer of what this one signs). */
  subject: Buffer;
  /** The serialNumber INTEGER element, tag and length included. */
  serial: Buffer;
  /** What `modinfo` shows as `signer`: the issuer's commonName (empty without one). */
  signer: string;
  /** What `modinfo` shows as `sig_key`: the serial number in colon-separated hex (serialKeyId). */
  sigKey: string;
  x509: X509Certificate;
}

/** Parses a DER or PEM certificate. Throws (node:crypto's or DerError) on malformed input. */
export function parseCertificate(data: Buffer | string): CertificateInfo {
  const x509 = new X509Certificate(data);
  const der = x509.raw;
  const cert = readWhole(der, TAG.SEQUENCE, 'Certificate');
  const [tbs] = children(cert);
  const fields = children(expectTag(tbs, TAG.SEQUENCE, 'TBSCertificate'));
  // version is [0] EXPLICIT and absent for v1 certificates.
  let i = fields[0]?.tag === contextTag(0) ? 1 : 0;
  const serial = expectTag(fields[i++], TAG.INTEGER, 'TBSCertificate.serialNumber');
  expectTag(fields[i++], TAG.SEQUENCE, 'TBSCertificate.signature');
  const issuer = expectTag(fields[i++], TAG.SEQUENCE, 'TBSCertificate.issuer');
  expectTag(fields[i++], TAG.SEQUENCE, 'TBSCertificate.validity');
  const subject = expectTag(fields[i++], TAG.SEQUENCE, 'TBSCertificate.subject');
  return {
    der,
    issuer: Buffer.from(issuer.raw),
    subject: Buffer.from(subject.raw),
    serial: Buffer.from(serial.raw),
    signer: commonName(issuer),
    sigKey: serialKeyId(serial.value),
    x509,
  };
}

const OID_COMMON_NAME = '2.5.4.3';

/** The (last) commonName in a Name, as libkmod picks the signer; empty when there is none. */
export function commonName(name: Tlv): string {
  let cn = '';
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (type?.tag === TAG.OID && decodeOid(type.value) === OID_COMMON_NAME && value) {
        cn = decodeString(value);
      }
    }
  }
  return cn;
}

function decodeString(t: Tlv): string {
  if (t.tag === TAG.BMP_STRING) return Buffer.from(t.value).swap16().toString('utf16le');
  if (t.tag === TAG.T61_STRING) return t.value.toString('latin1');
  return t.value.toString('utf8');
}

/**
 * A serial number (an INTEGER's content bytes) as modinfo prints it for `sig_key`: libkmod reads
 * it into a bignum and prints the bytes of its magnitude, so the 00 that DER puts before a
 * serial whose top bit is set is not shown (0x8123 is `81:23`), nor is a negative serial's sign.
 */
export function serialKeyId(value: Buffer): string {
  const bytes = Buffer.from(value);
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) {
    // Two's complement: the magnitude is the bytes inverted, plus one.
    for (let i = 0; i < bytes.length; i++) bytes[i] = ~bytes[i]! & 0xff;
    for (let i = bytes.length - 1; i >= 0; i--) {
      bytes[i] = (bytes[i]! + 1) & 0xff;
      if (bytes[i] !== 0) break;
    }
  }
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return colonHex(bytes.subarray(start));
}

/** `4D:A1:…` as modinfo prints key ids and serials. */
export function colonHex(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
}
