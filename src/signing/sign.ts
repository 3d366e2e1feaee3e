/**
 * Signing modules as the kernel's scripts/sign-file does, in memory and in place on disk.
 *
 * A module that is already signed has its signature replaced: the old block is cut off and the
 * module signed again. sign-file would append a second signature over the first, which the
 * kernel accepts but which hides the first signer from modinfo and grows the module each time.
 */
import { createSign, sign as cryptoSign } from 'node:crypto';
import { open, readFile, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { type Stats, readSync } from 'node:fs';
import {
  type Compression,
  compress,
  compressionFromMagic,
  compressionFromName,
  COMPRESSION_EXTENSIONS,
  decompress,
} from './compress.js';
import { checkModuleElf } from './elf.js';
import { SigningError } from './errors.js';
import {
  type ByteSource,
  type ModuleSignatureBlock,
  bufferSource,
  encodeTrailer,
  PKEY_ID_PKCS7,
  readSignatureBlock,
  SignatureFormatError,
} from './module-signature.js';
import { type ParsedSignerInfo, decodeSignedData, encodeSignedData } from './pkcs7.js';
import { type Signer, type SignerOptions, createSigner } from './signer.js';
import { commonName, readTlv, serialKeyId } from '../pki/index.js';

function toSigner(s: Signer | SignerOptions): Signer {
  return 'certificate' in s ? s : createSigner(s);
}

/** The signature block and trailer to append to a module whose raw signature is `signature`. */
function signatureSuffix(signer: Signer, signature: Buffer): Buffer {
  const cms = encodeSignedData(signer.certificate, signer.hash, signer.keyType, signature);
  return Buffer.concat([cms, encodeTrailer(cms.length)]);
}

/**
 * The length of the unsigned module in `src` (without any existing signature) after checking
 * that it is a kernel module. Throws SigningError('invalid-module') naming `name`.
 */
function unsignedLength(src: ByteSource, name: string): { length: number; replaced: boolean } {
  let block: ModuleSignatureBlock | undefined;
  try {
    block = readSignatureBlock(src);
  } catch (e) {
    if (!(e instanceof SignatureFormatError)) throw e;
    throw new SigningError(
      'invalid-module',
      `damaged module signature: ${e.message}; rebuild the module or strip the trailer`,
      name,
    );
  }
  const length = block?.moduleLength ?? src.size;
  const problem = checkModuleElf(src, length);
  if (problem) throw new SigningError('invalid-module', problem, name);
  return { length, replaced: block !== undefined };
}

/**
 * Signs an uncompressed module held in memory; returns the signed module. An existing signature
 * is replaced. `name` is used in error messages only.
 */
export function signModule(data: Buffer, signer: Signer | SignerOptions, name = 'module'): Buffer {
  return signBuffer(data, toSigner(signer), name).signed;
}

function signBuffer(data: Buffer, s: Signer, name: string): { signed: Buffer; replaced: boolean } {
  const { length, replaced } = unsignedLength(bufferSource(data), name);
  const module = data.subarray(0, length);
  const suffix = signatureSuffix(s, cryptoSign(s.hash, module, s.key));
  return { signed: Buffer.concat([module, suffix]), replaced };
}

/**
 * Signs a module's bytes as named by `name`: `.ko.xz`, `.ko.zst` and `.ko.gz` are decompressed,
 * signed and compressed again; anything else is signed as is.
 */
export async function signModuleBytes(
  name: string,
  data: Buffer,
  signer: Signer | SignerOptions,
): Promise<Buffer> {
  const s = toSigner(signer);
  const kind = compressionFromName(name);
  if (!kind) return signModule(data, s, name);
  const plain = await decompress(checkCompression(kind, data, name), data, name);
  return compress(kind, signModule(plain, s, name), name);
}

function checkCompression(kind: Compression, data: Buffer, name: string): Compression {
  const actual = compressionFromMagic(data.subarray(0, 6));
  if (actual === kind) return kind;
  throw new SigningError(
    'invalid-module',
    actual
      ? `named ${COMPRESSION_EXTENSIONS[kind]} but is ${actual}-compressed; rename it to match its contents`
      : `named ${COMPRESSION_EXTENSIONS[kind]} but is not ${kind}-compressed; rename it to match its contents`,
    name,
  );
}

export interface SignFileResult {
  file: string;
  /** Compression the module was decompressed from and recompressed with, if any. */
  compression: Compression | null;
  hash: string;
  /** As `modinfo` shows them. */
  signer: string;
  sigKey: string;
  /** True when the module carried a signature that was replaced. */
  replacedSignature: boolean;
}

const CHUNK = 4 << 20;
let tempCounter = 0;

/**
 * Signs a module file in place, atomically: the signed module is written next to it and renamed
 * over it, keeping its permission bits. Uncompressed modules are streamed, never held whole.
 */
export async function signModuleFile(
  path: string,
  signer: Signer | SignerOptions,
): Promise<SignFileResult> {
  const s = toSigner(signer);
  // Write next to the real file, so that a symlink (e.g. from an updates/ directory) keeps
  // pointing at the signed module instead of being replaced by a copy.
  const target = await realpath(path).catch((e: unknown) => {
    throw ioError(e, path, 'cannot read');
  });
  const tmp = join(
    dirname(target),
    `.${basename(target)}.hwe-sign-${process.pid}-${tempCounter++}`,
  );
  let input: FileHandle | undefined;
  let output: FileHandle | undefined;
  try {
    input = await openFile(path);
    const stat = await input.stat();
    if (!stat.isFile()) throw new SigningError('io', 'is not a regular file', path);
    const kind = compressionFromName(path);
    let replaced: boolean;
    output = await createTemp(tmp, stat, path);
    if (kind) {
      const data = await readAll(input, path);
      const plain = await decompress(checkCompression(kind, data, path), data, path);
      const { signed, replaced: had } = signBuffer(plain, s, path);
      replaced = had;
      await writeAll(output, await compress(kind, signed, path), tmp);
    } else {
      const fd = input.fd;
      const src: ByteSource = {
        size: stat.size,
        read: (offset, length) => {
          const b = Buffer.alloc(length);
          readSync(fd, b, 0, length, offset);
          return b;
        },
      };
      const u = unsignedLength(src, path);
      replaced = u.replaced;
      // Hash exactly the bytes written, so the signature matches the file even if the original
      // changes meanwhile.
      const hasher = createSign(s.hash);
      const buf = Buffer.allocUnsafe(CHUNK);
      for (let pos = 0; pos < u.length;) {
        const { bytesRead } = await input.read(buf, 0, Math.min(CHUNK, u.length - pos), pos);
        if (bytesRead === 0)
          throw new SigningError('io', 'the file shrank while being signed', path);
        const chunk = buf.subarray(0, bytesRead);
        hasher.update(chunk);
        await writeAll(output, chunk, tmp);
        pos += bytesRead;
      }
      await writeAll(output, signatureSuffix(s, hasher.sign(s.key)), tmp);
    }
    await output.close();
    output = undefined;
    try {
      await rename(tmp, target);
    } catch (e) {
      throw ioError(e, path, 'cannot replace');
    }
    return {
      file: path,
      compression: kind ?? null,
      hash: s.hash,
      signer: s.certificate.signer,
      sigKey: s.certificate.sigKey,
      replacedSignature: replaced,
    };
  } catch (e) {
    await output?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  } finally {
    await input?.close().catch(() => {});
  }
}

async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw ioError(e, path, 'cannot read');
  }
}

async function createTemp(tmp: string, like: Stats, path: string): Promise<FileHandle> {
  try {
    const fh = await open(tmp, 'wx', 0o600);
    // Keep the owner where allowed (root signing files it does not own); the mode always.
    if (like.uid !== process.getuid?.() || like.gid !== process.getgid?.()) {
      await fh.chown(like.uid, like.gid).catch(() => {});
    }
    await fh.chmod(like.mode & 0o7777);
    return fh;
  } catch (e) {
    throw ioError(e, path, `cannot write next to it (${tmp})`);
  }
}

async function readAll(fh: FileHandle, path: string): Promise<Buffer> {
  try {
    return await fh.readFile();
  } catch (e) {
    throw ioError(e, path, 'cannot read');
  }
}

async function writeAll(fh: FileHandle, data: Buffer, tmp: string): Promise<void> {
  try {
    await fh.write(data);
  } catch (e) {
    throw ioError(e, tmp, 'cannot write');
  }
}

function ioError(e: unknown, path: string, what: string): SigningError {
  const code = (e as NodeJS.ErrnoException).code;
  const fix: Record<string, string> = {
    ENOENT: 'no such file; check the path',
    EACCES: 'permission denied; check the file and directory permissions',
    EPERM: 'operation not permitted; check the file and directory permissions',
    EISDIR: 'is a directory; pass module files',
    EROFS: 'read-only file system; copy the module somewhere writable',
    ENOSPC: 'no space left on the device; free some space',
  };
  return new SigningError('io', `${what}: ${fix[code ?? ''] ?? (e as Error).message}`, path);
}

/** A module signature as modinfo reads it. */
export interface ModuleSignature extends ModuleSignatureBlock {
  /** The decoded CMS SignerInfo of a PKCS#7 signature, with modinfo's signer and sig_key. */
  pkcs7?: ParsedSignerInfo & { signer: string; sigKey: string };
}

/**
 * The signature appended to an (uncompressed) module, or undefined when it has none. Throws
 * SigningError('invalid-module') when the trailer or the CMS message is damaged.
 */
export function parseModuleSignature(data: Buffer, name = 'module'): ModuleSignature | undefined {
  let block: ModuleSignatureBlock | undefined;
  try {
    block = readSignatureBlock(bufferSource(data));
    if (!block || block.idType !== PKEY_ID_PKCS7) return block;
    const info = decodeSignedData(block.signature);
    return {
      ...block,
      pkcs7: {
        ...info,
        signer: commonName(readTlv(info.issuer)),
        sigKey: serialKeyId(readTlv(info.serial).value),
      },
    };
  } catch (e) {
    if (e instanceof SigningError) throw e;
    throw new SigningError(
      'invalid-module',
      `damaged module signature: ${(e as Error).message}`,
      name,
    );
  }
}

/** The module without its appended signature (the module itself when it has none). */
export function stripModuleSignature(data: Buffer, name = 'module'): Buffer {
  const sig = parseModuleSignature(data, name);
  return sig ? data.subarray(0, sig.moduleLength) : data;
}

/** Reads a module file, decompressing `.ko.xz`, `.ko.zst` and `.ko.gz`. */
export async function readModuleFile(path: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    throw ioError(e, path, 'cannot read');
  }
  const kind = compressionFromName(path);
  return kind ? decompress(checkCompression(kind, data, path), data, path) : data;
}
