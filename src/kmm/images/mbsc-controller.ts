/**
 * The ModuleBuildSignConfig controller: per entry, checks what the work needs, creates the
 * kaniko pod, OpenShift Build or signing pod, records its result once the registry confirms
 * it, and collects finished objects after job.gcDelay.
 */
import {
  Builds,
  ModuleBuildSignConfigs,
  type BuildSignImageState,
  type ModuleBuildSignSpec,
} from '../../api/index.js';
import {
  Expectations,
  Pods,
  controllerOf,
  isKubeError,
  ownerReference,
  throwAll,
  type KubeObject,
  type Logger,
} from '../../runtime/index.js';
import { LABEL_MODULE_NAME, type OpenShiftBuild, type Pod } from '../build/index.js';
import { REASONS } from './constants.js';
import { eventTarget, moduleNameOf, type ImagesContext, type OwnedWork } from './context.js';
import {
  buildOutcome,
  collectAfterMs,
  describeWork,
  keptSuccesses,
  podOutcome,
  reasonsOf,
  type Outcome,
} from './outcome.js';
import { judgeSuccess, type Verdict } from './state.js';
import { renderWork, type RenderedWork, type WorkContext } from './work.js';

/** One reconcile of an MBSC: what it needs to know and what it gathers. */
interface Round {
  ns: string;
  target: KubeObject;
  work: WorkContext;
  log: Logger;
  /** Owned pods and Builds by name. */
  byName: Map<string, OwnedWork>;
  /** Names of the objects the entries want now. */
  desired: Set<string>;
  statuses: BuildSignImageState[];
  requeueAfter?: number;
}

const outcomeOf = (o: OwnedWork): Outcome =>
  o.kind === 'pod' ? podOutcome(o.obj) : buildOutcome(o.obj);
const kindName = (o: { kind: 'pod' | 'build' }) => (o.kind === 'build' ? 'Build' : 'pod');

function soon(r: Round, ms: number): void {
  r.requeueAfter = r.requeueAfter === undefined ? ms : Math.min(r.requeueAfter, ms);
}

export function setupMbscController(ctx: ImagesContext): void {
  const { mgr, mics, mbscs, events } = ctx;
  /** Succeeded pods and Builds without a finish time: when we first saw them done, by uid. */
  const firstSeenDone = new Map<string, number>();
  /** Registry verdicts on succeeded pods and Builds, by uid: each is checked once. */
  const verdicts = new Map<string, Verdict>();
  /** Pods and Builds we created, by namespace/name, until the cache shows them. */
  const created = new Expectations({ ttlMs: 30_000 });

  const controller = mgr
    .controller('kmm-buildsign')
    .for(ModuleBuildSignConfigs, { informer: ctx.scope })
    .owns<Pod>(Pods, { informer: ctx.podRequest });
  if (ctx.backend === 'openshift') {
    controller.owns<OpenShiftBuild>(Builds, { informer: ctx.podRequest });
  }
  controller.workers(2).complete(async (req, { log }) => {
    const mbsc = mbscs.getByName(req.name, req.namespace);
    if (!mbsc || mbsc.metadata.deletionTimestamp) return;
    const ns = mbsc.metadata.namespace!;
    // The MBSC's owner is the MIC; its owner, the Module, is who users look at.
    const owner = mics.getByName(controllerOf(mbsc)?.name ?? '', ns);
    const moduleName = owner
      ? moduleNameOf(owner)
      : (mbsc.metadata.labels?.[LABEL_MODULE_NAME] ?? mbsc.metadata.name!);
    const objects = ctx.owned(mbsc);
    const r: Round = {
      ns,
      target: eventTarget(owner ?? mbsc),
      work: {
        owner: { ownerReference: ownerReference(mbsc), namespace: ns, moduleName },
        ...(mbsc.spec.imageRepoSecret?.name
          ? { imageRepoSecret: mbsc.spec.imageRepoSecret.name }
          : {}),
        push: mbsc.spec.pushBuiltImage ?? true,
      },
      log,
      byName: new Map(objects.map((o) => [o.obj.metadata.name!, o])),
      desired: new Set(),
      statuses: [],
    };
    const prev = new Map((mbsc.status?.images ?? []).map((s) => [`${s.action}|${s.image}`, s]));
    const errors: unknown[] = [];
    for (const entry of mbsc.spec.images) {
      const before = prev.get(`${entry.action}|${entry.image}`);
      // One entry failing (an API error) does not hold up the others; its record stays as it was.
      await reconcileEntry(r, entry, before?.status).catch((e: unknown) => {
        errors.push(e);
        if (before) r.statuses.push(before);
      });
    }
    const listed = new Set((owner?.spec.images ?? []).map((i) => i.image));
    r.statuses.push(...keptSuccesses(mbsc.status?.images ?? [], listed, mbsc.spec.images));

    // The status first, so that a result is on record before its object goes.
    if (JSON.stringify(r.statuses) !== JSON.stringify(mbsc.status?.images ?? [])) {
      await ctx.mbscApi.patchStatus(
        mbsc.metadata.name!,
        { status: { images: r.statuses } },
        { namespace: ns },
      );
    }
    // Which objects are current is known only when every entry was looked at.
    if (!errors.length) await collect(r, objects);
    throwAll(errors);
    return r.requeueAfter === undefined ? undefined : { requeueAfter: r.requeueAfter };
  });

  /** Moves one entry on: start its work, or read its outcome and record it. */
  async function reconcileEntry(
    r: Round,
    entry: ModuleBuildSignSpec,
    before: BuildSignImageState['status'] | undefined,
  ): Promise<void> {
    const record = (status: 'Success' | 'Failure') =>
      r.statuses.push({ image: entry.image, action: entry.action, status });
    const reasons = reasonsOf(entry.action);
    const work: RenderedWork = await renderWork(ctx.apis, ctx.settings, r.work, entry);
    if (work.kind === 'problem') {
      // Nothing can start; look again, since the missing piece may be created any time.
      record('Failure');
      if (before !== 'Failure') {
        const msg = `${describeWork(entry)} cannot start: ${work.message}`;
        void events.event(r.target, 'Warning', reasons.failed, msg);
      }
      soon(r, ctx.retryMs);
      return;
    }
    const name = work.object.metadata.name!;
    r.desired.add(name);
    const existing = r.byName.get(name);
    if (!existing) {
      // A success on record whose object was collected is done; anything else starts.
      if (before === 'Success') record('Success');
      else await start(r, entry, work);
      return;
    }
    created.observed(`${r.ns}/${name}`);
    const outcome = outcomeOf(existing);
    const by = `${kindName(existing)} ${name}`;
    if (outcome.phase === 'Pending') {
      if (outcome.message) {
        const msg = `${describeWork(entry)}: ${existing.kind} ${name} cannot start: ${outcome.message}`;
        void events.event(r.target, 'Warning', reasons.pending, msg);
      }
      return;
    }
    if (outcome.phase === 'Failed') {
      record('Failure');
      if (before !== 'Failure') {
        const msg = `${describeWork(entry)} failed in ${by}: ${outcome.message}`;
        void events.event(r.target, 'Warning', reasons.failed, msg);
      }
      return;
    }
    // Succeeded. A success on record was verified when it was recorded.
    if (before === 'Success') {
      record('Success');
      return;
    }
    const verdict = await judge(r, entry, existing, work.pushes, by);
    if (!verdict) return;
    if (verdict.fresh) {
      const ok = verdict.status === 'Success';
      if (ok || before !== 'Failure') {
        const msg = `${describeWork(entry)}${ok ? ':' : ' failed:'} ${verdict.message}`;
        void events.event(
          r.target,
          ok ? 'Normal' : 'Warning',
          ok ? reasons.succeeded : reasons.failed,
          msg,
        );
      }
    }
    record(verdict.status === 'Success' ? 'Success' : 'Failure');
  }

  /** Creates the entry's pod or Build, unless one we created is not in the cache yet. */
  async function start(
    r: Round,
    entry: ModuleBuildSignSpec,
    work: Exclude<RenderedWork, { kind: 'problem' }>,
  ): Promise<void> {
    const name = work.object.metadata.name!;
    const key = `${r.ns}/${name}`;
    if (created.pending(key)) {
      soon(r, 1_000);
      return;
    }
    try {
      if (work.kind === 'build') await ctx.buildApi.create(work.object);
      else await ctx.podApi.create(work.object);
    } catch (e) {
      if (!isKubeError(e, 'AlreadyExists')) throw e;
      // An object of that name not (yet) in our cache, or an old one being deleted.
      soon(r, 1_000);
      return;
    }
    created.expect(key, true);
    r.log.info('created', { kind: work.kind, name, action: entry.action, image: entry.image });
    const msg = `${describeWork(entry)}: ${kindName(work)} ${name} created`;
    void events.event(r.target, 'Normal', reasonsOf(entry.action).created, msg);
  }

  /**
   * The registry's verdict on a succeeded pod or Build (judgeSuccess), asked once per object;
   * `fresh` when asked now. Undefined while the registry cannot be asked: nothing is decided,
   * the MIC keeps waiting, and the registry is asked again after retryMs.
   */
  async function judge(
    r: Round,
    entry: ModuleBuildSignSpec,
    existing: OwnedWork,
    pushes: string | undefined,
    by: string,
  ): Promise<(Verdict & { fresh: boolean }) | undefined> {
    const uid = existing.obj.metadata.uid ?? existing.obj.metadata.name!;
    const known = verdicts.get(uid);
    if (known) return { ...known, fresh: false };
    const answer = pushes
      ? await ctx.askRegistry(pushes, r.ns, r.work.imageRepoSecret, entry.registryTLS)
      : undefined;
    const verdict = judgeSuccess(by, pushes, answer);
    if (verdict.status === 'Unknown') {
      r.log.warn('cannot verify a pushed image', { problem: verdict.message });
      const msg = `${describeWork(entry)}: ${verdict.message}`;
      void events.event(r.target, 'Warning', REASONS.ImageCheckFailed, msg);
      soon(r, ctx.retryMs);
      return undefined;
    }
    verdicts.set(uid, verdict);
    return { ...verdict, fresh: true };
  }

  /**
   * Succeeded objects stay job.gcDelay for inspection, then go; failed ones stay while they
   * are the current attempt (they hold the logs); superseded ones go at once.
   */
  async function collect(r: Round, objects: readonly OwnedWork[]): Promise<void> {
    const now = ctx.now().getTime();
    for (const o of objects) {
      const name = o.obj.metadata.name!;
      const outcome = outcomeOf(o);
      const uid = o.obj.metadata.uid ?? name;
      // A success the registry contradicts is kept like a failure: it is the diagnosis.
      const clean = outcome.phase === 'Succeeded' && verdicts.get(uid)?.status !== 'Failure';
      let done = clean && outcome.finishedAt ? Date.parse(outcome.finishedAt) : NaN;
      if (clean && Number.isNaN(done)) {
        done = firstSeenDone.get(uid) ?? now;
        firstSeenDone.set(uid, done);
      }
      const after = collectAfterMs(clean, r.desired.has(name), done, now, ctx.gcDelayMs);
      if (after === undefined) continue;
      if (after > 0) {
        soon(r, after);
        continue;
      }
      await ctx.deleteWork(o, r.ns);
      firstSeenDone.delete(uid);
      verdicts.delete(uid);
      r.log.debug('collected', { kind: o.kind, name });
    }
  }
}
