/**
 * What the ModuleImagesConfig and ModuleBuildSignConfig controllers share: options, caches,
 * API clients, work settings, the registry question, and who events are about.
 */
import {
  Builds,
  ImageStreams,
  ModuleBuildSignConfigs,
  ModuleImagesConfigs,
  type ModuleBuildSignConfig,
  type ModuleImagesConfig,
} from '../../api/index.js';
import {
  ConfigMaps,
  EventRecorder,
  Nodes,
  Pods,
  Secrets,
  controllerOf,
  indexers,
  isKubeError,
  type Indexer,
  type Informer,
  type KubeClient,
  type KubeObject,
  type Manager,
  type ResourceClient,
} from '../../runtime/index.js';
import {
  imageExists,
  isOciError,
  openImage,
  type RegistryTLS,
  type SecretLike,
} from '../../oci/index.js';
import {
  LABEL_MODULE_NAME,
  LABEL_POD_TYPE,
  type OpenShiftBuild,
  type Pod,
} from '../build/index.js';
import type { RegistryAnswer } from './state.js';
import type { BuildBackend, SecretObject, WorkApis, WorkSettings } from './work.js';

export interface ImageControllersOptions {
  /** The hwe image the signing pod runs (`hwe kmm sign-image`); RELATED_IMAGE_SIGN. */
  signImage: string;
  /** The kaniko image of build pods; RELATED_IMAGE_BUILD. */
  buildImage: string;
  /** OpenShift Builds, kaniko pods, or `auto`: Builds where build.openshift.io is served. */
  buildBackend?: BuildBackend | 'auto';
  /** job.gcDelay: how long succeeded build and sign objects are kept (ms) [0]. */
  gcDelayMs?: number;
  /** Node selector of every build and sign pod (build.selector adds to it). */
  nodeSelector?: Record<string, string>;
  /** How often a missing image without build or sign is checked again (ms) [60 s]. */
  recheckMs?: number;
  /**
   * How soon to look again after a failed check or a build/sign that cannot start (a missing
   * Secret may be created any time) (ms) [30 s].
   */
  retryMs?: number;
  /** Watch this namespace only (all namespaces when unset). */
  namespace?: string;
  /** Where DTK_AUTO finds Driver Toolkit images [openshift/driver-toolkit]. */
  dtkImageStream?: { namespace: string; name: string };
  /** Deadline of one registry check (ms) [30 s]. */
  registryTimeoutMs?: number;
  /** Events go here; by default a recorder for component "kmm". */
  events?: EventRecorder;
  /**
   * false in managed (spoke) mode, where the hub builds and signs: images are only checked, and
   * a missing one is `DoesNotExist` whatever its build or sign say [true].
   */
  buildAndSign?: boolean;
  clock?: () => Date;
}

/** Whether the cluster serves OpenShift Builds (build.openshift.io/v1 builds). */
export async function discoverBuildBackend(client: KubeClient): Promise<BuildBackend> {
  try {
    const list = await client.request<{ resources?: { name: string }[] }>(
      '/apis/build.openshift.io/v1',
    );
    return list.resources?.some((r) => r.name === 'builds') ? 'openshift' : 'kaniko';
  } catch (e) {
    if (isKubeError(e, 'NotFound')) return 'kaniko';
    throw e;
  }
}

const POD_SELECTOR = `${LABEL_POD_TYPE} in (build,sign)`;
const OWNER_INDEX = 'owner';

/** A pod or Build an MBSC owns. */
export type OwnedWork = { kind: 'pod'; obj: Pod } | { kind: 'build'; obj: OpenShiftBuild };

/** What the MIC and MBSC controllers share. */
export interface ImagesContext {
  mgr: Manager;
  backend: BuildBackend;
  settings: WorkSettings;
  events: EventRecorder;
  now: () => Date;
  gcDelayMs: number;
  recheckMs: number;
  retryMs: number;
  /** false in managed (spoke) mode: images are checked, never built or signed. */
  buildAndSign: boolean;
  /** The informer requests of MICs and MBSCs, and of build and sign pods and Builds. */
  scope: { namespace?: string };
  podRequest: {
    namespace?: string;
    labelSelector: string;
    indexers: Record<string, Indexer<KubeObject>>;
  };
  mics: Informer<ModuleImagesConfig>;
  mbscs: Informer<ModuleBuildSignConfig>;
  micApi: ResourceClient<ModuleImagesConfig>;
  mbscApi: ResourceClient<ModuleBuildSignConfig>;
  podApi: ResourceClient<Pod>;
  buildApi: ResourceClient<OpenShiftBuild>;
  apis: WorkApis;
  /** The pods and Builds an MBSC owns, from the caches. */
  owned(mbsc: ModuleBuildSignConfig): OwnedWork[];
  /** Deletes a pod or Build (gone already is fine). */
  deleteWork(o: OwnedWork, namespace: string): Promise<void>;
  /**
   * Asks the registry for an image with the pull secret (`imageRepoSecret`, in namespace `ns`)
   * and TLS settings the nodes use.
   */
  askRegistry(
    image: string,
    ns: string,
    secretName: string | undefined,
    tls: RegistryTLS | undefined,
  ): Promise<RegistryAnswer>;
}

/** The Module a MIC belongs to, as an event target; the MIC itself when it has no Module. */
export function eventTarget(obj: KubeObject & { metadata: { namespace?: string } }): KubeObject {
  const ref = controllerOf(obj);
  if (ref?.kind === 'Module') {
    return {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: obj.metadata.namespace, uid: ref.uid },
    };
  }
  return obj;
}

/**
 * The Module's name (MOD_NAME, labels): the MIC's label kmm.node.kubernetes.io/module.name when
 * its creator set one (preflight's MICs are owned by the PreflightValidation), else its Module
 * owner, else the MIC's own name (the Module controller names MICs after their Module).
 */
export function moduleNameOf(mic: ModuleImagesConfig): string {
  const label = mic.metadata.labels?.[LABEL_MODULE_NAME];
  if (label) return label;
  const ref = controllerOf(mic);
  return ref?.kind === 'Module' ? ref.name : mic.metadata.name!;
}

/** What both controllers share, built once per setupImageControllers. */
export async function imagesContext(
  mgr: Manager,
  options: ImageControllersOptions,
): Promise<ImagesContext> {
  const backend =
    !options.buildBackend || options.buildBackend === 'auto'
      ? await discoverBuildBackend(mgr.client)
      : options.buildBackend;
  const scope = options.namespace ? { namespace: options.namespace } : {};
  const podRequest = {
    ...scope,
    labelSelector: POD_SELECTOR,
    indexers: { [OWNER_INDEX]: indexers.byOwnerUid },
  };
  const pods = mgr.informers.informer<Pod>(Pods, podRequest);
  const builds =
    backend === 'openshift'
      ? mgr.informers.informer<OpenShiftBuild>(Builds, podRequest)
      : undefined;
  const podApi = mgr.api<Pod>(Pods);
  const buildApi = mgr.api<OpenShiftBuild>(Builds);
  const secretApi = mgr.api<SecretObject>(Secrets);
  const registryTimeoutMs = options.registryTimeoutMs ?? 30_000;
  return {
    mgr,
    backend,
    settings: {
      backend,
      buildImage: options.buildImage,
      signImage: options.signImage,
      ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
      ...(options.dtkImageStream ? { dtkImageStream: options.dtkImageStream } : {}),
    },
    events: options.events ?? new EventRecorder(mgr.client, { component: 'kmm' }, mgr.log),
    now: options.clock ?? (() => new Date()),
    gcDelayMs: options.gcDelayMs ?? 0,
    recheckMs: options.recheckMs ?? 60_000,
    retryMs: options.retryMs ?? 30_000,
    buildAndSign: options.buildAndSign !== false,
    scope,
    podRequest,
    mics: mgr.informers.informer(ModuleImagesConfigs, scope),
    mbscs: mgr.informers.informer(ModuleBuildSignConfigs, scope),
    micApi: mgr.api(ModuleImagesConfigs),
    mbscApi: mgr.api(ModuleBuildSignConfigs),
    podApi,
    buildApi,
    apis: {
      secrets: secretApi,
      configMaps: mgr.api(ConfigMaps),
      nodes: mgr.api(Nodes),
      imageStreams: mgr.api(ImageStreams),
    },
    owned(mbsc) {
      const uid = mbsc.metadata.uid!;
      const out: OwnedWork[] = pods
        .byIndex(OWNER_INDEX, uid)
        .map((obj) => ({ obj, kind: 'pod' as const }));
      for (const b of builds?.byIndex(OWNER_INDEX, uid) ?? []) out.push({ obj: b, kind: 'build' });
      return out;
    },
    async deleteWork(o, namespace) {
      if (o.kind === 'pod') await podApi.deleteIfExists(o.obj.metadata.name!, { namespace });
      else await buildApi.deleteIfExists(o.obj.metadata.name!, { namespace });
    },
    askRegistry: (image, ns, secretName, tls) =>
      askRegistry(secretApi, registryTimeoutMs, image, ns, secretName, tls),
  };
}

async function askRegistry(
  secretApi: ResourceClient<SecretObject>,
  timeoutMs: number,
  image: string,
  ns: string,
  secretName: string | undefined,
  tls: RegistryTLS | undefined,
): Promise<RegistryAnswer> {
  const pullSecrets: SecretLike[] = [];
  if (secretName) {
    const s = await secretApi.find(secretName, ns);
    if (!s) {
      return {
        problem: `Secret ${ns}/${secretName} (imageRepoSecret) not found; create the pull secret or remove imageRepoSecret`,
      };
    }
    pullSecrets.push(s);
  }
  let opened;
  try {
    opened = openImage(image, { pullSecrets, ...(tls ? { tls } : {}), timeoutMs });
  } catch (e) {
    if (isOciError(e)) return { problem: `image ${image}: ${e.message}` };
    throw e;
  }
  try {
    const r = await imageExists(opened.client, opened.ref);
    if (r.state === 'Exists') return { state: 'Exists', digest: r.digest };
    if (r.state === 'NotFound') return { state: 'Missing' };
    const hint =
      r.state === 'Unauthorized'
        ? secretName
          ? `; check that Secret ${ns}/${secretName} (imageRepoSecret) can pull it`
          : '; set imageRepoSecret to a pull secret for it'
        : '';
    return { problem: `checking image ${image}: ${r.error.message}${hint}` };
  } finally {
    opened.client.close();
  }
}
