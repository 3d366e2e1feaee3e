import type { Sign, TLSOptions } from '../../api/index.js';
import { stableHash, workMetadata } from '../build/common.js';
import type { Pod, PodVolume, PodVolumeMount, WorkOwner } from '../build/types.js';

/** Where the sign pod finds its Secrets: files only, never environment or arguments. */
export const SIGN_KEY_DIR = '/run/secrets/kmm-sign-key';
export const SIGN_CERT_DIR = '/run/secrets/kmm-sign-cert';
export const SIGN_AUTH_DIR = '/run/secrets/kmm-registry-auth';

export interface SignInput {
  owner: WorkOwner;
  /** The image to sign (sign.unsignedImage, or the build's unsigned tag). */
  unsignedImage: string;
  unsignedImageRegistryTLS?: TLSOptions;
  /** Where the signed image is pushed. */
  image: string;
  registryTLS?: TLSOptions;
  kernelVersion: string;
  sign: Sign;
  /** Pull and push secret (imageRepoSecret). */
  imageRepoSecret?: string;
  push: boolean;
  nodeSelector?: Record<string, string>;
}

/** The arguments of `hwe kmm sign-image` for a sign: what the in-cluster job runs. */
export function signImageArgs(input: SignInput): string[] {
  const args = [
    'kmm',
    'sign-image',
    `--unsigned-image=${input.unsignedImage}`,
    `--image=${input.image}`,
    `--key=${SIGN_KEY_DIR}/key`,
    `--cert=${SIGN_CERT_DIR}/cert`,
  ];
  if (input.imageRepoSecret) args.push(`--registry-auth=${SIGN_AUTH_DIR}/.dockerconfigjson`);
  if (!input.push) args.push('--no-push');
  if (input.unsignedImageRegistryTLS?.insecure) args.push('--insecure-pull');
  if (input.unsignedImageRegistryTLS?.insecureSkipTLSVerify) args.push('--skip-tls-verify-pull');
  if (input.registryTLS?.insecure) args.push('--insecure');
  if (input.registryTLS?.insecureSkipTLSVerify) args.push('--skip-tls-verify');
  // Patterns last, after `--`, so that a pattern starting with "-" is never read as a flag.
  args.push('--', ...(input.sign.filesToSign ?? []));
  return args;
}

/**
 * The sign pod: hwe's own image running `hwe kmm sign-image`. The key and certificate reach it
 * as Secret volumes readable by the pod's user only; no container filesystem, environment
 * variable, argument or log ever holds the key.
 */
export function renderSignPod(input: SignInput, hweImage: string): Pod {
  const secretFile = (name: string, secretName: string, key: string): PodVolume => ({
    name,
    secret: { secretName, items: [{ key, path: key }], defaultMode: 0o440 },
  });
  const volumes: PodVolume[] = [
    secretFile('sign-key', input.sign.keySecret?.name ?? '', 'key'),
    secretFile('sign-cert', input.sign.certSecret?.name ?? '', 'cert'),
  ];
  const mounts: PodVolumeMount[] = [
    { name: 'sign-key', mountPath: SIGN_KEY_DIR, readOnly: true },
    { name: 'sign-cert', mountPath: SIGN_CERT_DIR, readOnly: true },
  ];
  if (input.imageRepoSecret) {
    volumes.push(secretFile('registry-auth', input.imageRepoSecret, '.dockerconfigjson'));
    mounts.push({ name: 'registry-auth', mountPath: SIGN_AUTH_DIR, readOnly: true });
  }
  const args = signImageArgs(input);
  const nodeSelector = { ...input.nodeSelector };
  const hash = stableHash({ hweImage, args, volumes, nodeSelector });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: workMetadata(input.owner, 'sign', input.image, input.kernelVersion, hash),
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      // Pod Security `restricted`: the sign pod runs in the Module's namespace, whatever its
      // level; it reads and writes only its volumes and the registry.
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'sign',
          image: hweImage,
          command: ['hwe'],
          args,
          volumeMounts: mounts,
          terminationMessagePolicy: 'FallbackToLogsOnError',
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        },
      ],
      volumes,
      ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
    },
  };
}
