/**
 * The ModuleImagesConfig controller: finds out which images of a MIC exist, asks for builds and
 * signs through the ModuleBuildSignConfig named after it, and reports each image's state.
 */
import {
  ModuleBuildSignConfigs,
  ModuleImagesConfigs,
  type ModuleBuildSignConfig,
  type ModuleBuildSignSpec,
  type ModuleImageSpec,
  type ModuleImagesConfig,
} from '../../api/index.js';
import {
  createOrPatch,
  setControllerReference,
  settleEach,
  throwAll,
  type KubeObject,
} from '../../runtime/index.js';
import { LABEL_MODULE_NAME, labelValue } from '../build/index.js';
import { ANNOTATION_REBUILD_TRIGGER, REASONS } from './constants.js';
import { eventTarget, moduleNameOf, type ImagesContext } from './context.js';
import {
  type Existence,
  type ImagePlan,
  buildSignEntries,
  distinctImages,
  mbscCounts,
  micRequeueMs,
  missingImageEvent,
  planImage,
  rebuildTriggered,
  resultsByImage,
  triggerText,
} from './state.js';

export function setupMicController(ctx: ImagesContext): void {
  const { mgr, mics, mbscs, micApi, mbscApi, events } = ctx;

  mgr
    .controller('kmm-images')
    .for(ModuleImagesConfigs, { informer: ctx.scope })
    .owns(ModuleBuildSignConfigs, { informer: ctx.scope })
    .workers(2)
    .complete(async (req, { log }) => {
      const mic = mics.getByName(req.name, req.namespace);
      if (!mic || mic.metadata.deletionTimestamp) return;
      const target = eventTarget(mic);
      const seen = mic.metadata.annotations?.[ANNOTATION_REBUILD_TRIGGER];
      const triggered = rebuildTriggered(mic, seen);
      const trigger = triggerText(mic.spec.imageRebuildTriggerGeneration);
      let mbsc = mbscs.getByName(mic.metadata.name!, mic.metadata.namespace);
      if (triggered) {
        await startOver(mic, mbsc, target);
        mbsc = undefined;
      }
      if (mbsc && !mbscCounts(mic, mbsc, trigger)) mbsc = undefined;

      const prev = new Map(
        triggered ? [] : (mic.status?.imagesStates ?? []).map((s) => [s.image, s.status] as const),
      );
      const results = resultsByImage(mbsc?.status?.images);
      const specs = distinctImages(mic).map((i) =>
        !ctx.buildAndSign ? { ...i, build: undefined, sign: undefined } : i,
      );
      const plan = (s: ModuleImageSpec, e?: Existence) =>
        planImage(s, prev.get(s.image), results.get(s.image) ?? {}, e);
      const problems: string[] = [];
      const plans = await Promise.all(
        specs.map(async (spec) => {
          const p = plan(spec);
          if (!p.check) return p;
          const e = await check(mic, spec);
          if (typeof e === 'object') {
            problems.push(e.problem);
            return p;
          }
          const next = plan(spec, e);
          if (e === 'Missing' && prev.get(spec.image) === undefined) {
            const ev = missingImageEvent(spec, next);
            void events.event(target, ev.type, REASONS.ImageMissing, ev.message);
          }
          return next;
        }),
      );
      for (const p of problems) {
        log.warn('image check failed', { problem: p });
        void events.event(target, 'Warning', REASONS.ImageCheckFailed, p);
      }

      const entries = buildSignEntries(specs, plans);
      if (entries.length > 0 || mbsc) await syncMbsc(mic, entries, trigger);
      await writeMic(mic, seen, trigger, plans);
      const again = micRequeueMs(specs, plans, problems.length > 0, ctx.retryMs, ctx.recheckMs);
      return again === undefined ? undefined : { requeueAfter: again };
    });

  /**
   * The rebuild trigger moved: forget every state and result. The old build and sign objects
   * are deleted here rather than left to the garbage collector, whose delay would hold up the
   * new attempt (same names when nothing else changed).
   */
  async function startOver(
    mic: ModuleImagesConfig,
    mbsc: ModuleBuildSignConfig | undefined,
    target: KubeObject,
  ): Promise<void> {
    const namespace = mic.metadata.namespace!;
    const errors = await settleEach(mbsc ? ctx.owned(mbsc) : [], 4, (o) =>
      ctx.deleteWork(o, namespace),
    );
    await mbscApi.deleteIfExists(mic.metadata.name!, {
      namespace,
      propagationPolicy: 'Background',
    });
    throwAll(errors);
    void events.event(
      target,
      'Normal',
      REASONS.ImageRebuildTriggered,
      `imageRebuildTriggerGeneration is now ${triggerText(mic.spec.imageRebuildTriggerGeneration)}: checking every image again`,
    );
  }

  /** Whether an image of a MIC exists, as the nodes would pull it. */
  async function check(
    mic: ModuleImagesConfig,
    spec: ModuleImageSpec,
  ): Promise<Existence | { problem: string }> {
    const policy = spec.imagePullPolicy ?? mic.spec.imagePullPolicy;
    // Nodes never pull with Never: they use what they have, and so does the check.
    if (policy === 'Never') return 'Exists';
    const a = await ctx.askRegistry(
      spec.image,
      mic.metadata.namespace!,
      mic.spec.imageRepoSecret?.name,
      spec.registryTLS,
    );
    if ('problem' in a) return a;
    return a.state === 'Exists' ? 'Exists' : 'Missing';
  }

  /** Keeps the MBSC named after the MIC (owned by it) listing the builds and signs needed. */
  async function syncMbsc(
    mic: ModuleImagesConfig,
    entries: ModuleBuildSignSpec[],
    trigger: string,
  ): Promise<void> {
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

  /** Records the trigger acted on and the image states, each only when it changed. */
  async function writeMic(
    mic: ModuleImagesConfig,
    seen: string | undefined,
    trigger: string,
    plans: readonly ImagePlan[],
  ): Promise<void> {
    const imagesStates = plans
      .filter((p): p is ImagePlan & { state: NonNullable<ImagePlan['state']> } => !!p.state)
      .map((p) => ({ image: p.image, status: p.state }));
    const [name, namespace] = [mic.metadata.name!, mic.metadata.namespace];
    if (seen !== trigger) {
      // Guarded by the resourceVersion read: a MIC changed meanwhile is reconciled again.
      await micApi.patch(
        name,
        {
          metadata: {
            resourceVersion: mic.metadata.resourceVersion,
            annotations: { [ANNOTATION_REBUILD_TRIGGER]: trigger },
          },
        },
        { namespace },
      );
    }
    if (JSON.stringify(imagesStates) !== JSON.stringify(mic.status?.imagesStates)) {
      await micApi.patchStatus(name, { status: { imagesStates } }, { namespace });
    }
  }
}
