/** `hwe kmm sign-image`: the program the in-cluster signing job runs. */
import { readFile } from 'node:fs/promises';
import { type Command, UsageError } from '../../command/index.js';
import { isOciError, parseDockerConfig } from '../../oci/index.js';
import { type Signer, createSigner, isSigningError } from '../../signing/index.js';
import { SignImageError, signImage } from './sign-image.js';

async function readSecretFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SignImageError(
      'NotAModule',
      `cannot read the ${what} at ${path} (${code}); the signing job mounts it from its Secret`,
    );
  }
}

/** The credentials come from --registry-auth, which the signing pod fills from imageRepoSecret. */
const SIGN_IMAGE_CREDENTIALS = {
  credentials: 'the credentials of --registry-auth (the Module’s imageRepoSecret)',
};

export const signImageCommand: Command = {
  name: 'sign-image',
  summary: 'sign the kernel modules inside an image and push the signed image',
  description:
    'Pulls UNSIGNED, signs every module file matching a PATTERN (absolute paths or shell globs\n' +
    'in the image, such as /opt/lib/modules/*/my_kmod.ko) as sign-file would, adds the signed\n' +
    'files as one new layer and pushes the result to IMAGE. This is what KMM’s signing job runs\n' +
    'in the cluster; the key and certificate come from files (the job mounts its Secrets), and\n' +
    'the key appears in no output. Registry credentials are read from a Docker config file.\n\n' +
    'Prints {"image","digest","signed":[{path,signer,replacedSignature}]} as JSON.',
  usage: '--unsigned-image REF --image REF --key FILE --cert FILE [--] PATTERN...',
  flags: [
    { name: 'unsigned-image', type: 'string', placeholder: 'REF', help: 'image to sign' },
    { name: 'image', type: 'string', placeholder: 'REF', help: 'where to push the signed image' },
    { name: 'key', type: 'string', placeholder: 'FILE', help: 'private key (PEM or DER)' },
    { name: 'cert', type: 'string', placeholder: 'FILE', help: 'certificate (DER or PEM)' },
    { name: 'hash', type: 'string', default: 'sha256', placeholder: 'ALGO', help: 'digest' },
    {
      name: 'registry-auth',
      type: 'string',
      placeholder: 'FILE',
      help: 'Docker config (.dockerconfigjson) with pull and push credentials',
    },
    { name: 'no-push', type: 'boolean', help: 'sign but push nothing' },
    { name: 'insecure-pull', type: 'boolean', help: 'plain HTTP to the unsigned image registry' },
    {
      name: 'skip-tls-verify-pull',
      type: 'boolean',
      help: 'accept any certificate of the unsigned image registry',
    },
    { name: 'insecure', type: 'boolean', help: 'plain HTTP to the destination registry' },
    {
      name: 'skip-tls-verify',
      type: 'boolean',
      help: 'accept any certificate of the destination registry',
    },
  ],
  run: async ({ flags, args, stdout, stderr, env, path }) => {
    const need = (name: string, what: string): string => {
      const v = flags[name];
      if (typeof v !== 'string' || v === '')
        throw new UsageError(`flag --${name} is required: ${what}`);
      return v;
    };
    const unsignedImage = need('unsigned-image', 'the image to sign');
    const image = need('image', 'where to push the signed image');
    const keyPath = need('key', 'the private key file');
    const certPath = need('cert', 'the certificate file');
    if (args.length === 0) throw new UsageError('no PATTERN given: list the module files to sign');
    try {
      const signer: Signer = createSigner({
        key: await readSecretFile(keyPath, 'private key'),
        cert: await readSecretFile(certPath, 'certificate'),
        hash: String(flags.hash),
        passphrase: env.KBUILD_SIGN_PIN,
        keyName: `sign.keySecret (${keyPath})`,
        certName: `sign.certSecret (${certPath})`,
      });
      const authFile = flags['registry-auth'] as string | undefined;
      const dockerConfig = authFile
        ? parseDockerConfig(
            (await readSecretFile(authFile, 'registry credentials')).toString(),
            'imageRepoSecret',
          )
        : undefined;
      const result = await signImage({
        unsignedImage,
        image,
        filesToSign: args,
        signer,
        ...(dockerConfig ? { dockerConfig } : {}),
        pullTLS: {
          insecure: flags['insecure-pull'] === true,
          insecureSkipTLSVerify: flags['skip-tls-verify-pull'] === true,
          settings: {
            ...SIGN_IMAGE_CREDENTIALS,
            insecure: '--insecure-pull',
            skipVerify: '--skip-tls-verify-pull',
          },
        },
        pushTLS: {
          insecure: flags.insecure === true,
          insecureSkipTLSVerify: flags['skip-tls-verify'] === true,
          settings: {
            ...SIGN_IMAGE_CREDENTIALS,
            insecure: '--insecure',
            skipVerify: '--skip-tls-verify',
          },
        },
        push: flags['no-push'] !== true,
      });
      stdout.write(JSON.stringify(result, null, 2) + '\n');
      return 0;
    } catch (e) {
      if (e instanceof SignImageError || isSigningError(e) || isOciError(e)) {
        stderr.write(`${path}: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
  },
};
