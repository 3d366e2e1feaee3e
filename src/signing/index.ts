/** Kernel module signing, byte-compatible with the kernel's scripts/sign-file. */
export { type Compression, compressionFromName } from './compress.js';
export { SigningError, type SigningErrorKind, isSigningError } from './errors.js';
export { MODULE_SIG_MAGIC } from './module-signature.js';
export { HASH_ALGORITHMS, type HashAlgorithm, type KeyType } from './pkcs7.js';
export { type Signer, type SignerOptions, createSigner } from './signer.js';
export {
  type ModuleSignature,
  type SignFileResult,
  parseModuleSignature,
  readModuleFile,
  signModule,
  signModuleBytes,
  signModuleFile,
  stripModuleSignature,
} from './sign.js';
export type { CertificateInfo } from '../pki/index.js';
export { signCommand } from './command.js';
