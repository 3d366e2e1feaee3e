import type { Build, TLSOptions } from '../../api/index.js';
import { buildArgs, stableHash, workMetadata, withTag } from './common.js';
import { BUILD_SECRETS_DIR, KANIKO_DOCKER_CONFIG, WORKSPACE } from './constants.js';
import type { Pod, PodVolume, PodVolumeMount, WorkOwner } from './types.js';

/** Everything a build needs, resolved: the controller fills it from the MBSC and the cluster. */
export interface BuildInput {
  owner: WorkOwner;
  /** Where the result is pushed. */
  image: string;
  kernelVersion: string;
  build: Build;
  /** The Dockerfile's text (from the ConfigMap); part of the hash, so an edit rebuilds. */
  dockerfile: string;
  /** How to reach the destination registry (the image's registryTLS). */
  registryTLS?: TLSOptions;
  /** Pull secret used to push (imageRepoSecret). */
  imageRepoSecret?: string;
  /** false: build only (preflight checks), nothing is pushed. */
  push: boolean;
  /** The node's Driver Toolkit image, when the Dockerfile uses DTK_AUTO. */
  dtkImage?: string;
  /** Operator-wide node selector of build and sign pods; build.selector adds to it. */
  nodeSelector?: Record<string, string>;
}

/**
 * kaniko's flags for a build. Push-side TLS comes from the image's registryTLS (`--insecure`,
 * `--skip-tls-verify`), pull-side TLS for the FROM images from build.baseImageRegistryTLS
 * (`--insecure-pull`, `--skip-tls-verify-pull`): kaniko keeps the two apart, and so does KMM.
 */
export function kanikoArgs(input: BuildInput): string[] {
  const args = [`--dockerfile=${WORKSPACE}/Dockerfile`, `--context=dir://${WORKSPACE}`];
  args.push(input.push ? `--destination=${input.image}` : '--no-push');
  const all = buildArgs(input.build.buildArgs, {
    kernelVersion: input.kernelVersion,
    moduleName: input.owner.moduleName,
    namespace: input.owner.namespace,
    dtkImage: input.dtkImage,
  });
  for (const a of all) args.push(`--build-arg=${a.name}=${a.value}`);
  if (input.registryTLS?.insecure) args.push('--insecure');
  if (input.registryTLS?.insecureSkipTLSVerify) args.push('--skip-tls-verify');
  const base = input.build.baseImageRegistryTLS;
  if (base?.insecure) args.push('--insecure-pull');
  if (base?.insecureSkipTLSVerify) args.push('--skip-tls-verify-pull');
  return args;
}

/** The kaniko build pod (a bare pod, as upstream: it runs once and its phase is the result). */
export function renderKanikoPod(input: BuildInput, kanikoImage: string): Pod {
  const cm = input.build.dockerfileConfigMap?.name ?? '';
  const volumes: PodVolume[] = [
    {
      name: 'dockerfile',
      configMap: { name: cm, items: [{ key: 'dockerfile', path: 'Dockerfile' }] },
    },
  ];
  const mounts: PodVolumeMount[] = [{ name: 'dockerfile', mountPath: WORKSPACE, readOnly: true }];
  if (input.imageRepoSecret) {
    volumes.push({
      name: 'registry-auth',
      secret: {
        secretName: input.imageRepoSecret,
        items: [{ key: '.dockerconfigjson', path: 'config.json' }],
      },
    });
    mounts.push({ name: 'registry-auth', mountPath: KANIKO_DOCKER_CONFIG, readOnly: true });
  }
  (input.build.secrets ?? []).forEach((s, i) => {
    if (!s.name) return;
    volumes.push({ name: `secret-${i}`, secret: { secretName: s.name } });
    mounts.push({
      name: `secret-${i}`,
      mountPath: `${BUILD_SECRETS_DIR}/${s.name}`,
      readOnly: true,
    });
  });
  const image = input.build.kanikoParams?.tag
    ? withTag(kanikoImage, input.build.kanikoParams.tag)
    : kanikoImage;
  const args = kanikoArgs(input);
  const nodeSelector = { ...input.nodeSelector, ...input.build.selector };
  const hash = stableHash({ image, args, volumes, nodeSelector, dockerfile: input.dockerfile });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: workMetadata(input.owner, 'build', input.image, input.kernelVersion, hash),
    spec: {
      restartPolicy: 'Never',
      // The build needs no API access; a token in the pod could only leak.
      automountServiceAccountToken: false,
      // Pod Security `baseline`: kaniko unpacks base-image layers and runs the Dockerfile's
      // RUN steps as root with the default capabilities (chown, setuid…), inside its own
      // container only; no host path, host namespace or privilege.
      containers: [
        {
          name: 'kaniko',
          image,
          args,
          volumeMounts: mounts,
          // kaniko writes its errors to stderr; the last lines become the status message.
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
      ],
      volumes,
      ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
    },
  };
}
