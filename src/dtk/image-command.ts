import { type Command, type FlagValues, UsageError } from '../command/index.js';
import { KubeClient, isKubeError } from '../runtime/client.js';
import { KubeconfigError, resolveAccess } from '../runtime/kubeconfig.js';
import { NodeDtkError, dtkImageForClusterNode } from './cluster.js';
import {
  RegistryClient,
  isOciError,
  loadAuthFiles,
  parsePlatform,
  parseReference,
} from '../oci/index.js';
import { readDtkRelease } from './dtk-release.js';
import { DTK_TAG, ReleaseError, releaseImageFor } from './release.js';
import { quoteValue } from '../runtime/quote.js';

/** Reports an invalid flag value as a usage error naming the flag. */
function asUsage<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isOciError(e)) throw new UsageError(`flag --${flag}: ${e.message}`);
    throw e;
  }
}

async function forNode(
  node: string,
  output: string,
  flags: FlagValues,
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
  path: string,
): Promise<number> {
  const [ns, name, extra] = (flags.imagestream as string).split('/');
  if (!ns || !name || extra !== undefined) {
    throw new UsageError(
      `flag --imagestream: ${quoteValue(flags.imagestream)} must be NAMESPACE/NAME`,
    );
  }
  let client: KubeClient;
  try {
    client = new KubeClient(
      resolveAccess({ kubeconfig: flags.kubeconfig as string | undefined, env }),
    );
  } catch (e) {
    if (e instanceof KubeconfigError) throw new UsageError(e.message);
    throw e;
  }
  try {
    const r = await dtkImageForClusterNode(client, node, { namespace: ns, name });
    stdout.write(output === 'name' ? `${r.image}\n` : JSON.stringify(r) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof NodeDtkError) {
      stderr.write(`${path}: ${e.message}\n`);
      return e.kind === 'TagNotFound' ? EXIT_TAG_NOT_FOUND : 1;
    }
    if (isKubeError(e)) {
      stderr.write(`${path}: --node ${node}: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    client.close();
  }
}

/** Exit code when the payload has no image of the asked name (cf. `hwe kmm resolve`'s 3). */
export const EXIT_TAG_NOT_FOUND = 3;

/**
 * `hwe dtk image --release REF`: the driver-toolkit image of a release payload, as
 * `oc adm release info REF --image-for=driver-toolkit` prints it.
 */
export const imageCommand: Command = {
  name: 'image',
  summary: 'print the driver-toolkit image of a release payload or of a node',
  description:
    'Reads a release payload image from its registry, finds /release-manifests/image-references\n' +
    '(an ImageStream naming every image of the release) and prints the image of --tag\n' +
    '(driver-toolkit by default).\n\n' +
    'Output (-o json, the default): {"release": REF@DIGEST, "name": TAG, "image": PULLSPEC}.\n' +
    'With -o name: the pull spec alone, as `oc adm release info --image-for` prints it.\n' +
    'With --dtk-release, the JSON also holds "driverToolkitRelease": the image\'s\n' +
    '/etc/driver-toolkit-release.json (KERNEL_VERSION, RT_KERNEL_VERSION, RHEL_VERSION).\n\n' +
    'With --node NAME: the DTK image for a node of the cluster (--kubeconfig, KUBECONFIG or\n' +
    'in-cluster): the tag of the driver-toolkit ImageStream named after the RHCOS version in\n' +
    "the node's status.nodeInfo.osImage, as KMM fills DTK_AUTO. JSON: {node, osImage,\n" +
    'kernelVersion, tag, image}.\n\n' +
    'Exit codes: 0 found; 1 the payload cannot be read (not found, credentials refused,\n' +
    'unreachable, not a release payload); 2 invalid flags or reference; 3 the payload names\n' +
    "no image for --tag, or the ImageStream has no tag for the node's OS version.",
  flags: [
    {
      name: 'node',
      type: 'string',
      placeholder: 'NAME',
      help: 'instead of --release: the DTK image for this node of the cluster',
    },
    {
      name: 'imagestream',
      type: 'string',
      default: 'openshift/driver-toolkit',
      placeholder: 'NS/NAME',
      help: 'with --node: the ImageStream with one tag per RHCOS version',
    },
    {
      name: 'kubeconfig',
      type: 'string',
      placeholder: 'FILE',
      help: 'with --node: cluster access',
    },
    {
      name: 'release',
      type: 'string',
      placeholder: 'REF',
      help: 'release payload image (required)',
    },
    {
      name: 'tag',
      type: 'string',
      default: DTK_TAG,
      placeholder: 'NAME',
      help: 'image name in the release',
    },
    {
      name: 'output',
      aliases: ['o'],
      type: 'string',
      default: 'json',
      placeholder: 'json|name',
      help: 'output format',
    },
    {
      name: 'registry-config',
      aliases: ['a'],
      type: 'string',
      placeholder: 'FILE',
      help: 'registry credentials (.dockerconfigjson); default: Docker and containers auth files',
    },
    { name: 'insecure', type: 'boolean', help: 'talk plain HTTP to the registry' },
    {
      name: 'insecure-skip-tls-verify',
      type: 'boolean',
      help: 'use HTTPS but do not verify the registry certificate',
    },
    {
      name: 'dtk-release',
      type: 'boolean',
      help: 'also read /etc/driver-toolkit-release.json (kernel versions) from the image',
    },
    {
      name: 'platform',
      type: 'string',
      placeholder: 'OS/ARCH',
      help: 'platform to read from a multi-arch payload (default: this machine)',
    },
  ],
  run: async ({ flags, args, stdout, stderr, env, path }) => {
    if (args.length)
      throw new UsageError(`unexpected argument ${quoteValue(args[0])}; use --release REF`);
    const release = flags.release as string | undefined;
    const node = flags.node as string | undefined;
    if (!release === !node) {
      throw new UsageError(
        'give either --release REF (a release payload) or --node NAME (a node of the cluster)',
      );
    }
    const output = flags.output as string;
    if (output !== 'json' && output !== 'name') {
      throw new UsageError(`flag --output: ${quoteValue(output)} is not one of json, name`);
    }
    if (node) return forNode(node, output, flags, env, stdout, stderr, path);
    const withDtkRelease = flags['dtk-release'] === true;
    if (withDtkRelease && output !== 'json') {
      throw new UsageError(
        'flag --dtk-release adds a field to the JSON output; use it with -o json',
      );
    }
    const tag = flags.tag as string;
    if (!tag) throw new UsageError('flag --tag must not be empty');
    const ref = asUsage('release', () => parseReference(release!));
    const platform = flags.platform
      ? asUsage('platform', () => parsePlatform(flags.platform as string))
      : undefined;
    const clients: RegistryClient[] = [];
    try {
      const dockerConfig = loadAuthFiles(flags['registry-config'] as string | undefined, env);
      const open = (registry: string) => {
        const c = new RegistryClient({
          registry,
          dockerConfig,
          tls: {
            insecure: flags.insecure === true,
            insecureSkipTLSVerify: flags['insecure-skip-tls-verify'] === true,
            settings: {
              insecure: '--insecure',
              skipVerify: '--insecure-skip-tls-verify',
              credentials: 'the credentials of --registry-config (or REGISTRY_AUTH_FILE)',
            },
          },
        });
        clients.push(c);
        return c;
      };
      const opts = platform ? { platform } : {};
      const found = await releaseImageFor(open(ref.registry), ref, tag, opts);
      if (output === 'name') {
        stdout.write(`${found.image}\n`);
        return 0;
      }
      if (!withDtkRelease) {
        stdout.write(JSON.stringify(found) + '\n');
        return 0;
      }
      const dtkRef = parseReference(found.image);
      const driverToolkitRelease = await readDtkRelease(open(dtkRef.registry), dtkRef, opts);
      stdout.write(JSON.stringify({ ...found, driverToolkitRelease }) + '\n');
      return 0;
    } catch (e) {
      if (e instanceof ReleaseError) {
        stderr.write(`${path}: ${e.message}\n`);
        return e.kind === 'TagNotFound' ? EXIT_TAG_NOT_FOUND : 1;
      }
      if (isOciError(e)) {
        stderr.write(`${path}: --release ${release}: ${e.message}\n`);
        return 1;
      }
      throw e;
    } finally {
      for (const c of clients) c.close();
    }
  },
};
