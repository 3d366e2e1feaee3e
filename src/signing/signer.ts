/**
 * A Signer: private key, certificate and hash checked once, then used for any number of modules.
 * Key errors are reported in our own words: node:crypto's messages carry no key material, but
 * nothing derived from the key is ever put into an error, so a log can never leak it.
 */
import { type KeyObject, createPrivateKey } from 'node:crypto';
import { SigningError } from './errors.js';
import { HASH_ALGORITHMS, type HashAlgorithm, type KeyType } from './pkcs7.js';
import { type CertificateInfo, parseCertificate } from '../pki/index.js';
import { quoteValue } from '../runtime/quote.js';

export interface SignerOptions {
  /** The private key, PEM (PKCS#8, PKCS#1 or SEC1, possibly encrypted) or DER, or a KeyObject. */
  key: Buffer | string | KeyObject;
  /** The signing certificate, DER or PEM. */
  cert: Buffer | string;
  /** Digest algorithm; sha256 unless given. */
  hash?: string;
  /** Passphrase of an encrypted key (`hwe kmm sign` takes it from KBUILD_SIGN_PIN, as sign-file). */
  passphrase?: string;
  /** Names the key and certificate in error messages, e.g. their file paths. */
  keyName?: string;
  certName?: string;
}

export interface Signer {
  readonly hash: HashAlgorithm;
  readonly keyType: KeyType;
  readonly key: KeyObject;
  readonly certificate: CertificateInfo;
}

function parseHash(hash: string | undefined): HashAlgorithm {
  const h = (hash ?? 'sha256').toLowerCase();
  if ((HASH_ALGORITHMS as readonly string[]).includes(h)) return h as HashAlgorithm;
  throw new SigningError(
    'invalid-option',
    `hash ${quoteValue(hash)} is not one the kernel verifies modules with; use one of ${HASH_ALGORITHMS.join(', ')}`,
  );
}

/** Checks the key, certificate and hash, and that the key belongs to the certificate. */
export function createSigner(opts: SignerOptions): Signer {
  const hash = parseHash(opts.hash);
  const keyName = opts.keyName ?? 'private key';
  const certName = opts.certName ?? 'certificate';
  const key = loadPrivateKey(opts.key, opts.passphrase, keyName);
  const keyType = key.asymmetricKeyType;
  if (keyType !== 'rsa' && keyType !== 'ec') {
    throw new SigningError(
      'invalid-key',
      `is a ${keyType ?? 'unknown'} key; kernel modules are signed with RSA or ECDSA keys, so make an RSA (e.g. openssl req -newkey rsa:4096) or EC key`,
      keyName,
    );
  }
  let certificate: CertificateInfo;
  try {
    certificate = parseCertificate(opts.cert);
  } catch {
    throw new SigningError(
      'invalid-certificate',
      'is not an X.509 certificate in DER or PEM form; pass the certificate (e.g. signing_key.x509), not the key',
      certName,
    );
  }
  if (!certificate.x509.checkPrivateKey(key)) {
    throw new SigningError(
      'key-mismatch',
      `the private key ${keyName} does not belong to this certificate (subject ${certificate.x509.subject.replace(/\n/g, ', ')}); pass the key the certificate was made from`,
      certName,
    );
  }
  return { hash, keyType, key, certificate };
}

const ENCRYPTED_WITHOUT_PASSPHRASE =
  'the key is encrypted and no passphrase was given; set KBUILD_SIGN_PIN to its passphrase';

function loadPrivateKey(
  key: Buffer | string | KeyObject,
  passphrase: string | undefined,
  name: string,
): KeyObject {
  if (typeof key !== 'string' && !Buffer.isBuffer(key)) {
    if (key.type !== 'private') {
      throw new SigningError('invalid-key', `is a ${key.type} key, not a private key`, name);
    }
    return key;
  }
  const buf = Buffer.isBuffer(key) ? key : Buffer.from(key);
  if (buf.subarray(0, 7).toString('latin1') === 'pkcs11:') {
    throw new SigningError(
      'invalid-key',
      'PKCS#11 URIs are not supported; export the key to a PEM file',
      name,
    );
  }
  const text = buf.toString('latin1');
  const pem = text.includes('-----BEGIN');
  const encrypted = pem
    ? /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)
    : undefined;
  if (encrypted && passphrase === undefined) {
    throw new SigningError('invalid-key', ENCRYPTED_WITHOUT_PASSPHRASE, name);
  }
  if (pem && !/-----BEGIN (ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.test(text)) {
    throw new SigningError(
      'invalid-key',
      'holds no private key (no BEGIN PRIVATE KEY block); pass the private key, not the certificate',
      name,
    );
  }
  const attempts: Parameters<typeof createPrivateKey>[0][] = pem
    ? [{ key: buf, format: 'pem', passphrase }]
    : [
        { key: buf, format: 'der', type: 'pkcs8', passphrase },
        { key: buf, format: 'der', type: 'pkcs1' },
        { key: buf, format: 'der', type: 'sec1' },
      ];
  let badPassphrase = false;
  let needsPassphrase = false;
  for (const attempt of attempts) {
    try {
      return createPrivateKey(attempt);
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (code === 'ERR_OSSL_BAD_DECRYPT') badPassphrase = true;
      // An encrypted DER PKCS#8 key is only recognisable as such by OpenSSL.
      if (code === 'ERR_MISSING_PASSPHRASE') needsPassphrase = true;
    }
  }
  if (needsPassphrase) {
    throw new SigningError('invalid-key', ENCRYPTED_WITHOUT_PASSPHRASE, name);
  }
  if (badPassphrase) {
    throw new SigningError(
      'invalid-key',
      'the passphrase does not decrypt the key; set KBUILD_SIGN_PIN to the right passphrase',
      name,
    );
  }
  if (typeof key === 'string' && key.length < 4096 && !key.includes('\n')) {
    throw new SigningError(
      'invalid-key',
      'is not a private key: the string looks like a file path; pass the contents of the key file',
      name,
    );
  }
  throw new SigningError(
    'invalid-key',
    pem
      ? 'the private key block cannot be read; it is damaged or in a format OpenSSL does not know'
      : 'is neither a PEM private key nor a DER PKCS#8, PKCS#1 or SEC1 key; pass the private key file',
    name,
  );
}
