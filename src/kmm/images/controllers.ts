/**
 * The ModuleImagesConfig (MIC) and ModuleBuildSignConfig (MBSC) controllers. The MIC controller
 * checks each image once, as the nodes would pull it, and asks for builds and signs through the
 * MBSC named after it; the MBSC controller runs them (kaniko pod or OpenShift Build, and the
 * signing pod), records their results, and collects finished objects after job.gcDelay.
 */
import {
  Builds,
  ImageStreams,
  ModuleBuildSignConfigs,
  ModuleImagesConfigs,
  type BuildSignImageState,
  type ModuleBuildSignConfig,
  type ModuleBuildSignSpec,
  type ModuleImageSpec,
  type ModuleImagesConfig,
} from '../../api/index.js';
import {
  ConfigMaps,
  EventRecorder,
  Nodes,
  Pods,
  Secrets,
  createOrPatch,
  controllerOf,
  indexers,
  isKubeError,
  ownerReference,
  setControllerReference,
  type KubeClient,
  type KubeObject,
  type Manager,
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
  labelValue,
} from '../build/index.js';
import { ANNOTATION_REBUILD_TRIGGER, REASONS } from './constants.js';
import {
  type Existence,
  type ImagePlan,
  type RegistryAnswer,
  type Verdict,
  buildSignEntries,
  distinctImages,
  judgeSuccess,
  planImage,
  rebuildTriggered,
  resultsByImage,
  triggerText,
} from './state.js';
import {
  type BuildBackend,
  type RenderedWork,
  type SecretObject,
  type WorkApis,
  type WorkSettings,
  renderWork,
} from './work.js';

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

/** Waiting reasons of a container that will not start without someone fixing something. */
const STUCK = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

const POD_SELECTOR = `${LABEL_POD_TYPE} in (build,sign)`;
const OWNER_INDEX = 'owner';

/** The Module a MIC belongs to, as an event target; the MIC itself when it has no Module. */
function eventTarget(obj: KubeObject & { metadata: { namespace?: string } }): KubeObject {
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
function moduleNameOf(mic: ModuleImagesConfig): string {
  const label = mic.metadata.labels?.[LABEL_MODULE_NAME];
  if (label) return label;
  const ref = controllerOf(mic);
  return ref?.kind === 'Module' ? ref.name : mic.metadata.name!;
}

/** Wires both controllers into the manager. Call before mgr.start(). */
export async function setupImageControllers(
  mgr: Manager,
  options: ImageControllersOptions,
): Promise<{ backend: BuildBackend }> {
  const backend =
    !options.buildBackend || options.buildBackend === 'auto'
      ? await discoverBuildBackend(mgr.client)
      : options.buildBackend;
  const events = options.events ?? new EventRecorder(mgr.client, { component: 'kmm' }, mgr.log);
  const now = options.clock ?? (() => new Date());
  const gcDelayMs = options.gcDelayMs ?? 0;
  const recheckMs = options.recheckMs ?? 60_000;
  const retryMs = options.retryMs ?? 30_000;
  const settings: WorkSettings = {
    backend,
    buildImage: options.buildImage,
    signImage: options.signImage,
    ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
    ...(options.dtkImageStream ? { dtkImageStream: options.dtkImageStream } : {}),
  };
  const scope = options.namespace ? { namespace: options.namespace } : {};
  const podRequest = {
    ...scope,
    labelSelector: POD_SELECTOR,
    indexers: { [OWNER_INDEX]: indexers.byOwnerUid },
  };

  const mics = mgr.informers.informer(ModuleImagesConfigs, scope);
  const mbscs = mgr.informers.informer(ModuleBuildSignConfigs, scope);
  const pods = mgr.informers.informer<Pod>(Pods, podRequest);
  const builds =
    backend === 'openshift'
      ? mgr.informers.informer<OpenShiftBuild>(Builds, podRequest)
      : undefined;
  const micApi = mgr.api(ModuleImagesConfigs);
  const mbscApi = mgr.api(ModuleBuildSignConfigs);
  const podApi = mgr.api<Pod>(Pods);
  const buildApi = mgr.api<OpenShiftBuild>(Builds);
  const secretApi = mgr.api<SecretObject>(Secrets);
  const apis: WorkApis = {
    secrets: secretApi,
    configMaps: mgr.api(ConfigMaps),
    nodes: mgr.api(Nodes),
    imageStreams: mgr.api(ImageStreams),
  };

  // ---------------------------------------------------------------------------------------
  // MIC: image states

  /**
   * Asks the registry for an image with the pull secret (`imageRepoSecret`, in namespace `ns`)
   * and TLS settings the nodes use.
   */
  async function askRegistry(
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
      opened = openImage(image, {
        pullSecrets,
        ...(tls ? { tls } : {}),
        timeoutMs: options.registryTimeoutMs ?? 30_000,
      });
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

  /** Whether an image of a MIC exists, as the nodes would pull it. */
  async function check(
    mic: ModuleImagesConfig,
    spec: ModuleImageSpec,
  ): Promise<Existence | { problem: string }> {
    const policy = spec.imagePullPolicy ?? mic.spec.imagePullPolicy;
    // Nodes never pull with Never: they use what they have, and so does the check.
    if (policy === 'Never') return 'Exists';
    const a = await askRegistry(
      spec.image,
      mic.metadata.namespace!,
      mic.spec.imageRepoSecret?.name,
      spec.registryTLS,
    );
    if ('problem' in a) return a;
    return a.state === 'Exists' ? 'Exists' : 'Missing';
  }

  mgr
    .controller('kmm-images')
    .for(ModuleImagesConfigs, { informer: scope })
    .owns(ModuleBuildSignConfigs, { informer: scope })
    .workers(2)
    .complete(async (req, { log }) => {
      const mic = mics.getByName(req.name, req.namespace);
      if (!mic || mic.metadata.deletionTimestamp) return;
      const target = eventTarget(mic);
      const seen = mic.metadata.annotations?.[ANNOTATION_REBUILD_TRIGGER];
      const triggered = rebuildTriggered(mic, seen);
      let mbsc = mbscs.getByName(mic.metadata.name!, mic.metadata.namespace);
      if (triggered) {
        // Start over: forget every state and result. The old build and sign objects are
        // deleted here rather than left to the garbage collector, whose delay would hold up the
        // new attempt (same names when nothing else changed).
        for (const o of mbsc ? owned(mbsc) : []) {
          const opts = { namespace: mic.metadata.namespace };
          if (o.kind === 'pod') await podApi.deleteIfExists(o.obj.metadata.name!, opts);
          else await buildApi.deleteIfExists(o.obj.metadata.name!, opts);
        }
        await mbscApi.deleteIfExists(mic.metadata.name!, {
          namespace: mic.metadata.namespace,
          propagationPolicy: 'Background',
        });
        mbsc = undefined;
        void events.event(
          target,
          'Normal',
          REASONS.ImageRebuildTriggered,
          `imageRebuildTriggerGeneration is now ${triggerText(mic.spec.imageRebuildTriggerGeneration)}: checking every image again`,
        );
      }
      // Results count only from this MIC's MBSC made for the current trigger: a deleted one can
      // linger in the cache for a moment after a rebuild was triggered.
      const trigger = triggerText(mic.spec.imageRebuildTriggerGeneration);
      if (
        mbsc &&
        (controllerOf(mbsc)?.uid !== mic.metadata.uid ||
          (mbsc.metadata.annotations?.[ANNOTATION_REBUILD_TRIGGER] ?? '') !== trigger)
      ) {
        mbsc = undefined;
      }
      const prev = new Map(
        triggered ? [] : (mic.status?.imagesStates ?? []).map((s) => [s.image, s.status] as const),
      );
      const results = resultsByImage(mbsc?.status?.images);
      const specs = distinctImages(mic);
      let plans: ImagePlan[] = specs.map((s) =>
        planImage(s, prev.get(s.image), results.get(s.image) ?? {}),
      );
      const problems: string[] = [];
      plans = await Promise.all(
        plans.map(async (p, i) => {
          if (!p.check) return p;
          const spec = specs[i]!;
          const e = await check(mic, spec);
          if (typeof e === 'object') {
            problems.push(e.problem);
            return p;
          }
          const next = planImage(spec, prev.get(spec.image), results.get(spec.image) ?? {}, e);
          if (e === 'Missing' && prev.get(spec.image) === undefined) {
            const what =
              next.action === 'BuildImage'
                ? 'building it'
                : next.action === 'SignImage'
                  ? 'signing it'
                  : 'it has neither build nor sign, so the module cannot be loaded on those nodes until it is pushed';
            void events.event(
              target,
              next.action ? 'Normal' : 'Warning',
              REASONS.ImageMissing,
              `image ${spec.image} for kernel ${spec.kernelVersion} does not exist; ${what}`,
            );
          }
          return next;
        }),
      );
      for (const p of problems) {
        log.warn('image check failed', { problem: p });
        void events.event(target, 'Warning', REASONS.ImageCheckFailed, p);
      }

      const entries = buildSignEntries(specs, plans);
      if (entries.length > 0 || mbsc) {
        const ns = mic.metadata.namespace!;
        await createOrPatch(
          mbscApi,
          { metadata: { name: mic.metadata.name!, namespace: ns }, spec: { images: [] } },
          (m: ModuleBuildSignConfig) => {
            m.metadata.labels = {
              ...m.metadata.labels,
              [LABEL_MODULE_NAME]: labelValue(moduleNameOf(mic)),
            };
            m.metadata.annotations = {
              ...m.metadata.annotations,
              [ANNOTATION_REBUILD_TRIGGER]: trigger,
            };
            m.spec = {
              images: entries,
              ...(mic.spec.imageRepoSecret ? { imageRepoSecret: mic.spec.imageRepoSecret } : {}),
              pushBuiltImage: mic.spec.pushBuiltImage ?? true,
            };
            setControllerReference(m, mic);
          },
        );
      }

      const imagesStates = plans
        .filter((p): p is ImagePlan & { state: NonNullable<ImagePlan['state']> } => !!p.state)
        .map((p) => ({ image: p.image, status: p.state }));
      const ns = mic.metadata.namespace;
      if (seen !== trigger) {
        // Guarded by the resourceVersion read: a MIC changed meanwhile is reconciled again.
        await micApi.patch(
          mic.metadata.name!,
          {
            metadata: {
              resourceVersion: mic.metadata.resourceVersion,
              annotations: { [ANNOTATION_REBUILD_TRIGGER]: trigger },
            },
          },
          { namespace: ns },
        );
      }
      if (JSON.stringify(imagesStates) !== JSON.stringify(mic.status?.imagesStates)) {
        await micApi.patchStatus(
          mic.metadata.name!,
          { status: { imagesStates } },
          { namespace: ns },
        );
      }

      if (problems.length) return { requeueAfter: retryMs };
      const waiting = specs.some(
        (s, i) =>
          plans[i]!.state === 'DoesNotExist' &&
          !plans[i]!.action &&
          !s.build &&
          !s.sign &&
          !s.skipWaitMissingImage,
      );
      return waiting ? { requeueAfter: recheckMs } : undefined;
    });

  // ---------------------------------------------------------------------------------------
  // MBSC: builds and signs

  interface Outcome {
    phase: 'Pending' | 'Succeeded' | 'Failed';
    message?: string;
    finishedAt?: string;
  }
  const firstSeenDone = new Map<string, number>();
  /** Registry verdicts on succeeded pods and Builds, by uid: each is checked once. */
  const verdicts = new Map<string, Verdict>();

  function podOutcome(p: Pod): Outcome {
    const term = p.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated;
    const phase = p.status?.phase;
    if (phase === 'Succeeded') return { phase: 'Succeeded', finishedAt: term?.finishedAt };
    if (phase === 'Failed') {
      const msg =
        (term?.message ?? '').trim() || term?.reason || p.status?.message || p.status?.reason;
      return { phase: 'Failed', message: msg || 'the pod failed', finishedAt: term?.finishedAt };
    }
    // A pod that cannot start (its image cannot be pulled, a Secret key it mounts is missing)
    // stays Pending for ever: say why, without calling it a failure yet.
    const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
    if (waiting?.reason && STUCK.has(waiting.reason)) {
      return { phase: 'Pending', message: `${waiting.reason}: ${waiting.message ?? ''}`.trim() };
    }
    return { phase: 'Pending' };
  }

  function buildOutcome(b: OpenShiftBuild): Outcome {
    const s = b.status;
    if (s?.phase === 'Complete') return { phase: 'Succeeded', finishedAt: s.completionTimestamp };
    if (s?.phase === 'Failed' || s?.phase === 'Error' || s?.phase === 'Cancelled') {
      const msg = [s.message, s.logSnippet].filter(Boolean).join(': ');
      return { phase: 'Failed', message: msg || `the Build ended ${s.phase}` };
    }
    return { phase: 'Pending' };
  }

  function owned(
    mbsc: ModuleBuildSignConfig,
  ): { obj: Pod | OpenShiftBuild; kind: 'pod' | 'build' }[] {
    const uid = mbsc.metadata.uid!;
    const out: { obj: Pod | OpenShiftBuild; kind: 'pod' | 'build' }[] = pods
      .byIndex(OWNER_INDEX, uid)
      .map((obj) => ({ obj, kind: 'pod' as const }));
    for (const b of builds?.byIndex(OWNER_INDEX, uid) ?? []) out.push({ obj: b, kind: 'build' });
    return out;
  }

  function describe(entry: ModuleBuildSignSpec): string {
    if (entry.action === 'BuildImage') {
      const cm = entry.build?.dockerfileConfigMap?.name;
      return `build of ${entry.image} for kernel ${entry.kernelVersion}${cm ? ` (Dockerfile from ConfigMap ${cm})` : ''}`;
    }
    return `signing of ${entry.image} for kernel ${entry.kernelVersion}`;
  }

  const mbscController = mgr
    .controller('kmm-buildsign')
    .for(ModuleBuildSignConfigs, { informer: scope })
    .owns<Pod>(Pods, { informer: podRequest });
  if (backend === 'openshift') {
    mbscController.owns<OpenShiftBuild>(Builds, { informer: podRequest });
  }
  mbscController.workers(2).complete(async (req, { log }) => {
    const mbsc = mbscs.getByName(req.name, req.namespace);
    if (!mbsc || mbsc.metadata.deletionTimestamp) return;
    const ns = mbsc.metadata.namespace!;
    // The MBSC's owner is the MIC; its owner, the Module, is who users look at.
    const owner = mics.getByName(controllerOf(mbsc)?.name ?? '', ns);
    const target = eventTarget(owner ?? mbsc);
    const moduleName = owner
      ? moduleNameOf(owner)
      : (mbsc.metadata.labels?.[LABEL_MODULE_NAME] ?? mbsc.metadata.name!);
    const ctx = {
      owner: { ownerReference: ownerReference(mbsc), namespace: ns, moduleName },
      ...(mbsc.spec.imageRepoSecret?.name
        ? { imageRepoSecret: mbsc.spec.imageRepoSecret.name }
        : {}),
      push: mbsc.spec.pushBuiltImage ?? true,
    };
    const prev = new Map<string, BuildSignImageState>(
      (mbsc.status?.images ?? []).map((s) => [`${s.action}|${s.image}`, s]),
    );
    const objects = owned(mbsc);
    const byName = new Map(objects.map((o) => [o.obj.metadata.name!, o]));
    const desired = new Set<string>();
    const statuses: BuildSignImageState[] = [];
    let requeueAfter: number | undefined;
    const soon = (ms: number) => {
      requeueAfter = requeueAfter === undefined ? ms : Math.min(requeueAfter, ms);
    };
    const verb = (e: ModuleBuildSignSpec) => (e.action === 'BuildImage' ? 'Build' : 'Sign');

    for (const entry of mbsc.spec.images) {
      const key = `${entry.action}|${entry.image}`;
      const before = prev.get(key);
      const record = (status: 'Success' | 'Failure') =>
        statuses.push({ image: entry.image, action: entry.action, status });
      const work: RenderedWork = await renderWork(apis, settings, ctx, entry);
      if (work.kind === 'problem') {
        // Nothing can start; look again, since the missing piece may be created any time.
        record('Failure');
        if (before?.status !== 'Failure') {
          void events.event(
            target,
            'Warning',
            verb(entry) === 'Build' ? REASONS.BuildFailed : REASONS.SignFailed,
            `${describe(entry)} cannot start: ${work.message}`,
          );
        }
        soon(retryMs);
        continue;
      }
      const name = work.object.metadata.name!;
      desired.add(name);
      const existing = byName.get(name);
      if (!existing) {
        if (before?.status === 'Success') {
          record('Success'); // done, and its object already collected
          continue;
        }
        try {
          if (work.kind === 'build') await buildApi.create(work.object);
          else await podApi.create(work.object);
        } catch (e) {
          if (!isKubeError(e, 'AlreadyExists')) throw e;
          // An object of that name not (yet) in our cache, or an old one being deleted.
          soon(1_000);
          continue;
        }
        log.info('created', { kind: work.kind, name, action: entry.action, image: entry.image });
        void events.event(
          target,
          'Normal',
          verb(entry) === 'Build' ? REASONS.BuildCreated : REASONS.SignCreated,
          `${describe(entry)}: ${work.kind === 'build' ? 'Build' : 'pod'} ${name} created`,
        );
        continue;
      }
      const outcome =
        existing.kind === 'pod'
          ? podOutcome(existing.obj as Pod)
          : buildOutcome(existing.obj as OpenShiftBuild);
      if (outcome.phase === 'Pending') {
        if (outcome.message) {
          void events.event(
            target,
            'Warning',
            verb(entry) === 'Build' ? REASONS.BuildPending : REASONS.SignPending,
            `${describe(entry)}: ${existing.kind} ${name} cannot start: ${outcome.message}`,
          );
        }
        continue;
      }
      if (outcome.phase === 'Failed') {
        record('Failure');
        if (before?.status !== 'Failure') {
          void events.event(
            target,
            'Warning',
            verb(entry) === 'Build' ? REASONS.BuildFailed : REASONS.SignFailed,
            `${describe(entry)} failed in ${existing.kind === 'build' ? 'Build' : 'pod'} ${name}: ${outcome.message}`,
          );
        }
        continue;
      }
      // Succeeded. A success on record was verified when it was recorded.
      if (before?.status === 'Success') {
        record('Success');
        continue;
      }
      const uid = existing.obj.metadata.uid ?? name;
      let verdict = verdicts.get(uid);
      if (!verdict) {
        const by = `${existing.kind === 'build' ? 'Build' : 'pod'} ${name}`;
        const answer = work.pushes
          ? await askRegistry(work.pushes, ns, ctx.imageRepoSecret, entry.registryTLS)
          : undefined;
        verdict = judgeSuccess(by, work.pushes, answer);
        if (verdict.status === 'Unknown') {
          // Nothing is decided: the MIC keeps waiting, and the registry is asked again.
          log.warn('cannot verify a pushed image', { problem: verdict.message });
          void events.event(
            target,
            'Warning',
            REASONS.ImageCheckFailed,
            `${describe(entry)}: ${verdict.message}`,
          );
          soon(retryMs);
          continue;
        }
        verdicts.set(uid, verdict);
        const ok = verdict.status === 'Success';
        if (ok || before?.status !== 'Failure') {
          const [succeeded, failed] =
            verb(entry) === 'Build'
              ? [REASONS.BuildSucceeded, REASONS.BuildFailed]
              : [REASONS.SignSucceeded, REASONS.SignFailed];
          void events.event(
            target,
            ok ? 'Normal' : 'Warning',
            ok ? succeeded : failed,
            `${describe(entry)}${ok ? ':' : ' failed:'} ${verdict.message}`,
          );
        }
      }
      record(verdict.status === 'Success' ? 'Success' : 'Failure');
    }

    // Successes of work no longer asked for stay on record while the MIC still lists the image
    // (a build before its sign, an image that now exists); failures are replaced by retries.
    const listed = new Set((owner?.spec.images ?? []).map((i) => i.image));
    const asked = new Set(mbsc.spec.images.map((e) => `${e.action}|${e.image}`));
    for (const s of mbsc.status?.images ?? []) {
      if (s.status === 'Success' && listed.has(s.image) && !asked.has(`${s.action}|${s.image}`)) {
        statuses.push(s);
      }
    }

    // The status first, so that a result is on record before its object goes.
    const same = JSON.stringify(statuses) === JSON.stringify(mbsc.status?.images ?? []);
    if (!same) {
      await mbscApi.patchStatus(
        mbsc.metadata.name!,
        { status: { images: statuses } },
        { namespace: ns },
      );
    }
    // Succeeded objects stay job.gcDelay for inspection, then go; failed ones stay while they
    // are the current attempt (they hold the logs); superseded ones go at once.
    for (const o of objects) {
      const name = o.obj.metadata.name!;
      const outcome =
        o.kind === 'pod' ? podOutcome(o.obj as Pod) : buildOutcome(o.obj as OpenShiftBuild);
      const uid = o.obj.metadata.uid ?? name;
      // A success the registry contradicts is kept like a failure: it is the diagnosis.
      if (outcome.phase === 'Succeeded' && verdicts.get(uid)?.status !== 'Failure') {
        let done = outcome.finishedAt ? Date.parse(outcome.finishedAt) : NaN;
        if (Number.isNaN(done)) {
          done = firstSeenDone.get(uid) ?? now().getTime();
          firstSeenDone.set(uid, done);
        }
        const left = done + gcDelayMs - now().getTime();
        if (left > 0) {
          soon(left);
          continue;
        }
      } else if (desired.has(name)) continue;
      if (o.kind === 'pod') await podApi.deleteIfExists(name, { namespace: ns });
      else await buildApi.deleteIfExists(name, { namespace: ns });
      firstSeenDone.delete(uid);
      verdicts.delete(uid);
      log.debug('collected', { kind: o.kind, name });
    }
    return requeueAfter === undefined ? undefined : { requeueAfter };
  });

  return { backend };
}
