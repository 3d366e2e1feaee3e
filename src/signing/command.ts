/** `hwe kmm sign`: signs kernel modules in place, as the kernel's scripts/sign-file does. */
import { readFile } from 'node:fs/promises';
import { type Command, UsageError } from '../command/index.js';
import { SigningError } from './errors.js';
import { HASH_ALGORITHMS } from './pkcs7.js';
import { type SignFileResult, signModuleFile } from './sign.js';
import { type Signer, createSigner } from './signer.js';
import { quoteValue } from '../runtime/quote.js';

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (code ?? 'unreadable');
    throw new SigningError('io', `cannot read the ${what}: ${why}; check the path`, path);
  }
}

export const signCommand: Command = {
  name: 'sign',
  summary: 'sign kernel modules in place, as the kernel’s sign-file does',
  description:
    'Signs kernel modules in place with a PKCS#7 signature exactly as the kernel’s\n' +
    'scripts/sign-file writes it (byte-identical for RSA keys), so that Secure Boot nodes whose\n' +
    'MOK database holds the certificate load them.\n\n' +
    'Modules named .ko.xz, .ko.zst or .ko.gz are decompressed, signed and compressed again (xz\n' +
    'with CRC32 and a 1 MiB dictionary, as the kernel build does). A module that is already\n' +
    'signed has its signature replaced. Each file is replaced atomically, keeping its mode.\n' +
    'An encrypted key is decrypted with the passphrase in KBUILD_SIGN_PIN, as sign-file does.\n\n' +
    'Prints {"signed":[…],"failed":[…]} as JSON; exit 1 when any file failed.',
  usage: 'FILE...',
  flags: [
    {
      name: 'key',
      type: 'string',
      placeholder: 'FILE',
      help: 'private key, PEM or DER, RSA or ECDSA (the Secret key "key")',
    },
    {
      name: 'cert',
      type: 'string',
      placeholder: 'FILE',
      help: 'certificate of the key, DER or PEM (the Secret key "cert")',
    },
    {
      name: 'hash',
      type: 'string',
      default: 'sha256',
      placeholder: 'ALGO',
      help: `digest algorithm: ${HASH_ALGORITHMS.join(', ')}`,
    },
  ],
  run: async ({ flags, args, stdout, stderr, env, path }) => {
    const keyPath = flags.key as string | undefined;
    const certPath = flags.cert as string | undefined;
    if (!keyPath) throw new UsageError('flag --key is required: the private key file');
    if (!certPath) throw new UsageError('flag --cert is required: the certificate file');
    if (args.length === 0)
      throw new UsageError('no modules given; pass one or more FILE arguments');
    const hash = String(flags.hash);
    if (!(HASH_ALGORITHMS as readonly string[]).includes(hash.toLowerCase())) {
      throw new UsageError(
        `flag --hash: ${quoteValue(hash)} is not one of ${HASH_ALGORITHMS.join(', ')}`,
      );
    }
    let signer: Signer;
    try {
      signer = createSigner({
        key: await readInput(keyPath, 'private key'),
        cert: await readInput(certPath, 'certificate'),
        hash,
        passphrase: env.KBUILD_SIGN_PIN,
        keyName: keyPath,
        certName: certPath,
      });
    } catch (e) {
      if (!(e instanceof SigningError)) throw e;
      stderr.write(`${path}: ${e.message}\n`);
      return 1;
    }
    const signed: SignFileResult[] = [];
    const failed: { file: string; kind: string; message: string }[] = [];
    for (const file of args) {
      try {
        signed.push(await signModuleFile(file, signer));
      } catch (e) {
        if (!(e instanceof SigningError)) throw e;
        failed.push({ file, kind: e.kind, message: e.message });
        stderr.write(`${path}: ${e.message}\n`);
      }
    }
    stdout.write(JSON.stringify({ signed, failed }, null, 2) + '\n');
    return failed.length ? 1 : 0;
  },
};
