/**
 * From an MBSC entry to the object that does the work (kaniko pod, OpenShift Build or sign
 * pod), after checking what it needs in the cluster: a missing ConfigMap or Secret is reported
 * by name here rather than as a pod stuck in ContainerCreating.
 */
import type { ModuleBuildSignSpec } from '../../api/index.js';
import { isKubeError, type KubeObject } from '../../runtime/index.js';
import type { ResourceClient } from '../../runtime/index.js';
import {
  type BuildInput,
  type OpenShiftBuild,
  type Pod,
  type WorkOwner,
  DTK_AUTO,
  renderKanikoPod,
  renderOpenShiftBuild,
  unsignedImageOf,
  usesDtkAuto,
} from '../build/index.js';
import { DTK_IMAGESTREAM, dtkImageForNode, type ImageStream } from '../../dtk/index.js';
import { renderSignPod } from '../signjob/index.js';

export type BuildBackend = 'kaniko' | 'openshift';

export interface WorkSettings {
  backend: BuildBackend;
  /** kaniko image (RELATED_IMAGE_BUILD). */
  buildImage: string;
  /** hwe image for the signing job (RELATED_IMAGE_SIGN). */
  signImage: string;
  nodeSelector?: Record<string, string>;
  /** Where DTK_AUTO looks up the node's Driver Toolkit image [openshift/driver-toolkit]. */
  dtkImageStream?: { namespace: string; name: string };
}

export interface WorkContext {
  owner: WorkOwner;
  imageRepoSecret?: string;
  push: boolean;
}

export type RenderedWork =
  /** `pushes`: the image the work pushes when it succeeds (none when it pushes nothing). */
  | { kind: 'pod'; object: Pod; pushes?: string }
  | { kind: 'build'; object: OpenShiftBuild; pushes?: string }
  /** Something the work needs is missing or wrong; `message` names it and the fix. */
  | { kind: 'problem'; message: string };

export interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}
export interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}
export interface NodeObject extends KubeObject {
  status?: { nodeInfo?: { kernelVersion?: string; osImage?: string } };
}

export interface WorkApis {
  secrets: ResourceClient<SecretObject>;
  configMaps: ResourceClient<ConfigMapObject>;
  nodes: ResourceClient<NodeObject>;
  imageStreams: ResourceClient<ImageStream & KubeObject>;
}

class Problem extends Error {}

async function secretWithKey(
  apis: WorkApis,
  ns: string,
  name: string | undefined,
  field: string,
  key: string,
  what: string,
): Promise<void> {
  if (!name) throw new Problem(`${field} is not set; name the Secret that holds ${what}`);
  const s = await apis.secrets.find(name, ns);
  if (!s) {
    throw new Problem(
      `Secret ${ns}/${name} (${field}) not found; create it with ${what} under data key "${key}"`,
    );
  }
  if (s.data?.[key] === undefined) {
    throw new Problem(
      `Secret ${ns}/${name} (${field}) has no data key "${key}"; put ${what} there`,
    );
  }
}

async function dtkImage(
  apis: WorkApis,
  kernelVersion: string,
  stream: { namespace: string; name: string } = DTK_IMAGESTREAM,
): Promise<string> {
  const { items: nodes } = await apis.nodes.listAll();
  const node = nodes.find((n) => n.status?.nodeInfo?.kernelVersion === kernelVersion);
  if (!node) {
    throw new Problem(
      `the Dockerfile uses DTK_AUTO but no node runs kernel ${kernelVersion}, so no Driver ` +
        'Toolkit image can be chosen; set the base image yourself or wait for such a node',
    );
  }
  const where = `${stream.namespace}/${stream.name}`;
  let is: ImageStream | undefined;
  try {
    is = await apis.imageStreams.find(stream.name, stream.namespace);
  } catch (e) {
    if (!isKubeError(e, 'NotFound')) throw e;
  }
  if (!is) {
    throw new Problem(
      `the Dockerfile uses DTK_AUTO but ImageStream ${where} does not exist (it comes with ` +
        'OpenShift); set the base image yourself',
    );
  }
  const r = dtkImageForNode(is, node.status?.nodeInfo?.osImage ?? '');
  if ('problem' in r)
    throw new Problem(`DTK_AUTO for node ${node.metadata.name}: ${r.problem.message}`);
  return r.image;
}

/**
 * What build and sign work both take from the entry, the context and the settings, once the
 * registry credentials Secret (when one is named) is checked.
 */
async function sharedInput(
  apis: WorkApis,
  settings: WorkSettings,
  ctx: WorkContext,
  entry: ModuleBuildSignSpec,
): Promise<
  Pick<BuildInput, 'owner' | 'kernelVersion' | 'registryTLS' | 'imageRepoSecret' | 'nodeSelector'>
> {
  if (ctx.imageRepoSecret) {
    await secretWithKey(
      apis,
      ctx.owner.namespace,
      ctx.imageRepoSecret,
      'imageRepoSecret',
      '.dockerconfigjson',
      'the registry credentials',
    );
  }
  return {
    owner: ctx.owner,
    kernelVersion: entry.kernelVersion,
    ...(entry.registryTLS ? { registryTLS: entry.registryTLS } : {}),
    ...(ctx.imageRepoSecret ? { imageRepoSecret: ctx.imageRepoSecret } : {}),
    ...(settings.nodeSelector ? { nodeSelector: settings.nodeSelector } : {}),
  };
}

async function renderBuild(
  apis: WorkApis,
  settings: WorkSettings,
  ctx: WorkContext,
  entry: ModuleBuildSignSpec,
): Promise<RenderedWork> {
  const ns = ctx.owner.namespace;
  const build = entry.build!;
  const cmName = build.dockerfileConfigMap?.name;
  if (!cmName)
    throw new Problem('build.dockerfileConfigMap is not set; name the Dockerfile ConfigMap');
  const cm = await apis.configMaps.find(cmName, ns);
  if (!cm) {
    throw new Problem(
      `ConfigMap ${ns}/${cmName} (build.dockerfileConfigMap) not found; create it with the ` +
        'Dockerfile under data key "dockerfile"',
    );
  }
  const dockerfile = cm.data?.dockerfile;
  if (dockerfile === undefined || dockerfile.trim() === '') {
    throw new Problem(
      `ConfigMap ${ns}/${cmName} (build.dockerfileConfigMap) has no data key "dockerfile"; put ` +
        'the Dockerfile there',
    );
  }
  for (const s of build.secrets ?? []) {
    if (!s.name) continue;
    if (!(await apis.secrets.find(s.name, ns))) {
      throw new Problem(
        `Secret ${ns}/${s.name} (build.secrets) not found; create it, or remove it from build.secrets`,
      );
    }
  }
  const input: BuildInput = {
    ...(await sharedInput(apis, settings, ctx, entry)),
    image: entry.sign ? unsignedImageOf(entry.image) : entry.image,
    build,
    dockerfile,
    push: ctx.push || !!entry.sign,
    // A DTK_AUTO given as a build argument (preflight passes the target release's) is kept.
    ...(usesDtkAuto(dockerfile) && !build.buildArgs?.some((a) => a.name === DTK_AUTO)
      ? { dtkImage: await dtkImage(apis, entry.kernelVersion, settings.dtkImageStream) }
      : {}),
  };
  const pushes = input.push ? { pushes: input.image } : {};
  return settings.backend === 'openshift'
    ? { kind: 'build', object: renderOpenShiftBuild(input), ...pushes }
    : { kind: 'pod', object: renderKanikoPod(input, settings.buildImage), ...pushes };
}

async function renderSign(
  apis: WorkApis,
  settings: WorkSettings,
  ctx: WorkContext,
  entry: ModuleBuildSignSpec,
): Promise<RenderedWork> {
  const ns = ctx.owner.namespace;
  const sign = entry.sign!;
  const unsigned = entry.build ? unsignedImageOf(entry.image) : sign.unsignedImage;
  if (!unsigned) {
    throw new Problem(
      'sign.unsignedImage is not set and there is no build; name the image holding the unsigned modules',
    );
  }
  if (!sign.filesToSign?.length) {
    throw new Problem('sign.filesToSign is empty; list the module files to sign');
  }
  await secretWithKey(apis, ns, sign.keySecret?.name, 'sign.keySecret', 'key', 'the private key');
  await secretWithKey(
    apis,
    ns,
    sign.certSecret?.name,
    'sign.certSecret',
    'cert',
    'the certificate',
  );
  const pullTLS = entry.build ? entry.registryTLS : sign.unsignedImageRegistryTLS;
  const pod = renderSignPod(
    {
      ...(await sharedInput(apis, settings, ctx, entry)),
      unsignedImage: unsigned,
      image: entry.image,
      sign,
      push: ctx.push,
      ...(pullTLS ? { unsignedImageRegistryTLS: pullTLS } : {}),
    },
    settings.signImage,
  );
  return { kind: 'pod', object: pod, ...(ctx.push ? { pushes: entry.image } : {}) };
}

/** The object for one MBSC entry, or the problem that prevents it. */
export async function renderWork(
  apis: WorkApis,
  settings: WorkSettings,
  ctx: WorkContext,
  entry: ModuleBuildSignSpec,
): Promise<RenderedWork> {
  try {
    if (entry.action === 'BuildImage') {
      if (!entry.build) return { kind: 'problem', message: 'action BuildImage without build' };
      return await renderBuild(apis, settings, ctx, entry);
    }
    if (!entry.sign) return { kind: 'problem', message: 'action SignImage without sign' };
    return await renderSign(apis, settings, ctx, entry);
  } catch (e) {
    if (e instanceof Problem) return { kind: 'problem', message: e.message };
    throw e;
  }
}
