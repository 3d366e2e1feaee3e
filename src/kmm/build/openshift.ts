import { buildArgs, stableHash, workMetadata } from './common.js';
import { BUILD_SECRETS_DIR } from './constants.js';
import type { BuildInput } from './kaniko.js';
import type { OpenShiftBuild } from './types.js';

/**
 * The OpenShift Build for a build (Docker strategy, run by the namespace's `builder` service
 * account, as upstream). The Dockerfile travels inline; build secrets are build volumes mounted
 * at /run/secrets/<name>; imageRepoSecret pulls the FROM images and pushes the result.
 * OpenShift takes registry trust from the cluster's image configuration, so
 * baseImageRegistryTLS has no per-build equivalent here.
 */
export function renderOpenShiftBuild(input: BuildInput): OpenShiftBuild {
  const args = buildArgs(input.build.buildArgs, {
    kernelVersion: input.kernelVersion,
    moduleName: input.owner.moduleName,
    namespace: input.owner.namespace,
    dtkImage: input.dtkImage,
  });
  const volumes = (input.build.secrets ?? [])
    .filter((s): s is { name: string } => !!s.name)
    .map((s) => ({
      name: s.name,
      source: { type: 'Secret' as const, secret: { secretName: s.name } },
      mounts: [{ destinationPath: `${BUILD_SECRETS_DIR}/${s.name}` }],
    }));
  const nodeSelector = { ...input.nodeSelector, ...input.build.selector };
  const secret = input.imageRepoSecret ? { name: input.imageRepoSecret } : undefined;
  const spec: OpenShiftBuild['spec'] = {
    serviceAccount: 'builder',
    source: { type: 'Dockerfile', dockerfile: input.dockerfile },
    strategy: {
      type: 'Docker',
      dockerStrategy: {
        buildArgs: args,
        ...(secret ? { pullSecret: secret } : {}),
        ...(volumes.length ? { volumes } : {}),
      },
    },
    output: input.push
      ? {
          to: { kind: 'DockerImage', name: input.image },
          ...(secret ? { pushSecret: secret } : {}),
        }
      : {},
    ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
  };
  const hash = stableHash(spec);
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'Build',
    metadata: workMetadata(input.owner, 'build', input.image, input.kernelVersion, hash),
    spec,
  };
}
