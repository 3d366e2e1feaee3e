/**
 * The CMS SignedData that the kernel's sign-file writes: detached content, no certificates, one
 * SignerInfo naming the signer by issuer and serial, and no signed attributes, so the signature
 * covers the module's digest directly. Built here byte for byte as OpenSSL's CMS code lays it out.
 */
import {
  TAG,
  type Tlv,
  children,
  contextTag,
  decodeOid,
  derNull,
  expectTag,
  explicit,
  integer,
  octetString,
  oid,
  readWhole,
  sequence,
  setOf,
} from '../pki/index.js';

export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';
export type KeyType = 'rsa' | 'ec';

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sha384', 'sha512'];

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;

const HASH_OID: Record<HashAlgorithm, string> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

const ECDSA_OID: Record<HashAlgorithm, string> = {
  sha256: '1.2.840.10045.4.3.2',
  sha384: '1.2.840.10045.4.3.3',
  sha512: '1.2.840.10045.4.3.4',
};

export interface SignerIdentity {
  /** The issuer Name element of the signing certificate, verbatim. */
  issuer: Buffer;
  /** The serialNumber INTEGER element of the signing certificate, verbatim. */
  serial: Buffer;
}

/** DER of the ContentInfo wrapping the SignedData for one raw signature value. */
export function encodeSignedData(
  signer: SignerIdentity,
  hash: HashAlgorithm,
  keyType: KeyType,
  signature: Buffer,
): Buffer {
  // OpenSSL writes digest algorithms without the optional NULL parameters, RSA with them.
  const digestAlgorithm = sequence(oid(HASH_OID[hash]));
  const signatureAlgorithm =
    keyType === 'rsa'
      ? sequence(oid(OID.rsaEncryption), derNull())
      : sequence(oid(ECDSA_OID[hash]));
  const signerInfo = sequence(
    integer(1),
    sequence(signer.issuer, signer.serial),
    digestAlgorithm,
    signatureAlgorithm,
    octetString(signature),
  );
  const signedData = sequence(
    integer(1),
    setOf(digestAlgorithm),
    sequence(oid(OID.data)),
    setOf(signerInfo),
  );
  return sequence(oid(OID.signedData), explicit(0, signedData));
}

/** A SignerInfo as read back from a module signature. */
export interface ParsedSignerInfo extends SignerIdentity {
  /** `sha256`… when known, else the dotted OID. */
  hash: string;
  /** `rsa`, `ec`, or the dotted OID of another algorithm. */
  keyType: string;
  signature: Buffer;
  /** True when the SignerInfo carries signed attributes (sign-file never writes them). */
  signedAttributes: boolean;
}

/** Reads the first SignerInfo of a DER ContentInfo(SignedData). Throws DerError when malformed. */
export function decodeSignedData(der: Buffer): ParsedSignerInfo {
  const [type, content] = children(readWhole(der, TAG.SEQUENCE, 'ContentInfo'));
  const contentType = decodeOid(expectTag(type, TAG.OID, 'ContentInfo.contentType').value);
  if (contentType !== OID.signedData) {
    throw new Error(`ContentInfo holds ${contentType}, not signedData`);
  }
  const [signedData] = children(expectTag(content, contextTag(0), 'ContentInfo.content'));
  const fields = children(expectTag(signedData, TAG.SEQUENCE, 'SignedData'));
  const signerInfos = fields[fields.length - 1];
  const [first] = children(expectTag(signerInfos, TAG.SET, 'SignedData.signerInfos'));
  const si = children(expectTag(first, TAG.SEQUENCE, 'SignerInfo'));
  const sid = expectTag(si[1], TAG.SEQUENCE, 'SignerInfo.sid (issuerAndSerialNumber)');
  const [issuer, serial] = children(sid);
  let i = 3;
  const signedAttributes = si[i]?.tag === contextTag(0);
  if (signedAttributes) i++;
  return {
    issuer: Buffer.from(expectTag(issuer, TAG.SEQUENCE, 'SignerInfo.sid.issuer').raw),
    serial: Buffer.from(expectTag(serial, TAG.INTEGER, 'SignerInfo.sid.serialNumber').raw),
    hash: hashName(algorithmOid(si[2], 'SignerInfo.digestAlgorithm')),
    keyType: keyTypeName(algorithmOid(si[i], 'SignerInfo.signatureAlgorithm')),
    signature: Buffer.from(expectTag(si[i + 1], TAG.OCTET_STRING, 'SignerInfo.signature').value),
    signedAttributes,
  };
}

function algorithmOid(t: Tlv | undefined, what: string): string {
  const [id] = children(expectTag(t, TAG.SEQUENCE, what));
  return decodeOid(expectTag(id, TAG.OID, `${what}.algorithm`).value);
}

function hashName(dotted: string): string {
  return HASH_ALGORITHMS.find((h) => HASH_OID[h] === dotted) ?? dotted;
}

function keyTypeName(dotted: string): string {
  if (dotted === OID.rsaEncryption) return 'rsa';
  if (Object.values(ECDSA_OID).includes(dotted)) return 'ec';
  return dotted;
}
