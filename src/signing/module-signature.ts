/**
 * The signature block the kernel looks for at the end of a module (include/linux/module_signature.h):
 * `[module][signature][struct module_signature, 12 bytes]["~Module signature appended~\n"]`.
 */

export const MODULE_SIG_MAGIC = Buffer.from('~Module signature appended~\n', 'latin1');
/** sizeof(struct module_signature). */
const MODULE_SIG_INFO_SIZE = 12;
export const MODULE_SIG_TRAILER_SIZE = MODULE_SIG_INFO_SIZE + MODULE_SIG_MAGIC.length;
/** id_type for a PKCS#7/CMS message, the only kind kernels since 4.x accept. */
export const PKEY_ID_PKCS7 = 2;

/** Random access to module bytes, so files need not be read whole to be inspected. */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Buffer;
}

export function bufferSource(buf: Buffer): ByteSource {
  return { size: buf.length, read: (offset, length) => buf.subarray(offset, offset + length) };
}

/** The 12-byte info block plus the magic, for a PKCS#7 signature of `sigLength` bytes. */
export function encodeTrailer(sigLength: number): Buffer {
  const info = Buffer.alloc(MODULE_SIG_INFO_SIZE);
  // algo, hash, signer_len and key_id_len are 0 for PKCS#7: the message carries them.
  info[2] = PKEY_ID_PKCS7;
  info.writeUInt32BE(sigLength, 8);
  return Buffer.concat([info, MODULE_SIG_MAGIC]);
}

/** An appended signature found at the end of a module. */
export interface ModuleSignatureBlock {
  /** Length of the module without the signature: what was signed. */
  moduleLength: number;
  /** 2 for PKCS#7; 0 and 1 are pre-4.x formats. */
  idType: number;
  /** The signature bytes (a DER CMS message for PKCS#7). */
  signature: Buffer;
}

export class SignatureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureFormatError';
  }
}

/**
 * The signature block at the end of `src`, or undefined when the module is not signed. Throws
 * SignatureFormatError when the magic is there but the info block does not fit the file.
 */
export function readSignatureBlock(src: ByteSource): ModuleSignatureBlock | undefined {
  if (src.size < MODULE_SIG_TRAILER_SIZE) return undefined;
  const tail = src.read(src.size - MODULE_SIG_TRAILER_SIZE, MODULE_SIG_TRAILER_SIZE);
  if (!tail.subarray(MODULE_SIG_INFO_SIZE).equals(MODULE_SIG_MAGIC)) return undefined;
  const idType = tail[2]!;
  const signerLength = tail[3]!;
  const keyIdLength = tail[4]!;
  const sigLength = tail.readUInt32BE(8);
  // Older formats put signer name and key id before the signature; strip those too.
  const blockLength = sigLength + signerLength + keyIdLength;
  const moduleLength = src.size - MODULE_SIG_TRAILER_SIZE - blockLength;
  if (moduleLength < 0 || sigLength === 0) {
    throw new SignatureFormatError(
      `signature trailer claims ${blockLength} bytes of signature but the file has only ` +
        `${src.size - MODULE_SIG_TRAILER_SIZE} before it`,
    );
  }
  if (idType === PKEY_ID_PKCS7 && (signerLength !== 0 || keyIdLength !== 0)) {
    throw new SignatureFormatError(
      'PKCS#7 signature trailer with non-zero signer or key id length',
    );
  }
  return {
    moduleLength,
    idType,
    signature: Buffer.from(src.read(src.size - MODULE_SIG_TRAILER_SIZE - sigLength, sigLength)),
  };
}
