/**
 * The decisions of the ModuleImagesConfig controller, as pure functions: from what is known
 * about an image (its last state, the build/sign results, a registry answer) to its next state
 * and the build or sign it needs.
 */
import type {
  BuildOrSignAction,
  BuildSignImageState,
  ImageState,
  ModuleBuildSignConfig,
  ModuleBuildSignSpec,
  ModuleImageSpec,
  ModuleImagesConfig,
} from '../../api/index.js';
import { controllerOf } from '../../runtime/index.js';
import { ANNOTATION_REBUILD_TRIGGER } from './constants.js';

/** A registry's answer, reduced to what the states need (other answers leave the state alone). */
export type Existence = 'Exists' | 'Missing';

/** The registry's answer about one image; `problem` when the question could not be answered. */
export type RegistryAnswer =
  { state: 'Exists'; digest: string } | { state: 'Missing' } | { problem: string };

/** What a build or sign that reported success amounts to, with the message to report. */
export interface Verdict {
  /** Unknown: the registry could not be asked; nothing is decided, ask again later. */
  status: 'Success' | 'Failure' | 'Unknown';
  message: string;
}

/**
 * Judges a build or sign whose pod (or Build) says it succeeded. The pod's word is not enough: a
 * pod that exits 0 without pushing would make the image `Exists` and send every node after an
 * image that is not there. So the work counts as done once the registry shows the image it
 * pushed (`answer`, asked with the pull secret and TLS settings the nodes use); work that pushes
 * nothing (`pushes` unset: pushBuiltImage false) is taken at its word.
 *
 * | pushes | answer  | status  |
 * | ------ | ------- | ------- |
 * | unset  | –       | Success |
 * | set    | Exists  | Success (the message names the digest) |
 * | set    | Missing | Failure: "the <by> succeeded but the registry has no image at <ref>" |
 * | set    | problem | Unknown |
 */
export function judgeSuccess(
  by: string,
  pushes: string | undefined,
  answer: RegistryAnswer | undefined,
): Verdict {
  if (pushes === undefined) return { status: 'Success', message: `${by} succeeded` };
  if (answer === undefined || 'problem' in answer) {
    const why = answer ? `: ${answer.problem}` : '';
    return {
      status: 'Unknown',
      message: `${by} succeeded, but the registry could not be asked for ${pushes} yet${why}`,
    };
  }
  if (answer.state === 'Missing') {
    return {
      status: 'Failure',
      message: `the ${by} succeeded but the registry has no image at ${pushes}`,
    };
  }
  return {
    status: 'Success',
    message: `${by} succeeded; the registry has ${pushes} at ${answer.digest}`,
  };
}

/** The results the ModuleBuildSignConfig holds for one image. */
export interface WorkResults {
  build?: BuildSignImageState['status'];
  sign?: BuildSignImageState['status'];
}

export interface ImagePlan {
  image: string;
  /** The state to report; undefined while the first check is outstanding. */
  state?: ImageState;
  /** The registry must be asked before the state is known. */
  check?: boolean;
  /** The build or sign to keep in the ModuleBuildSignConfig for this image. */
  action?: BuildOrSignAction;
}

function firstWork(spec: ModuleImageSpec): BuildOrSignAction | undefined {
  if (spec.build) return 'BuildImage';
  if (spec.sign) return 'SignImage';
  return undefined;
}

/**
 * The next state of one image. `existence` is the registry's answer when `check` was asked
 * for in a previous call; until then the plan only says that a check is needed.
 *
 * - Exists is final: an image is checked once, never again (until the rebuild trigger).
 * - A missing image with build (and maybe sign) goes NeedsBuilding → NeedsSigning → Exists as
 *   the results come in; with sign only, NeedsSigning → Exists. A failure makes it
 *   DoesNotExist and keeps its entry in the ModuleBuildSignConfig, so that the failure stays
 *   on record and nothing rebuilds in a loop; when that failure disappears (the build was
 *   retried after a fix) the image is checked again.
 * - A missing image without build or sign is DoesNotExist and is checked again later, unless
 *   skipWaitMissingImage says not to wait for it.
 */
export function planImage(
  spec: ModuleImageSpec,
  prev: ImageState | undefined,
  results: WorkResults,
  existence?: Existence,
): ImagePlan {
  const image = spec.image;
  if (prev === 'Exists') return { image, state: 'Exists' };
  if (prev === 'NeedsBuilding' && spec.build) {
    if (results.build === 'Failure') return { image, state: 'DoesNotExist', action: 'BuildImage' };
    if (results.build === 'Success') {
      return spec.sign
        ? { image, state: 'NeedsSigning', action: 'SignImage' }
        : { image, state: 'Exists' };
    }
    return { image, state: 'NeedsBuilding', action: 'BuildImage' };
  }
  if (prev === 'NeedsSigning' && spec.sign) {
    if (results.sign === 'Failure') return { image, state: 'DoesNotExist', action: 'SignImage' };
    if (results.sign === 'Success') return { image, state: 'Exists' };
    return { image, state: 'NeedsSigning', action: 'SignImage' };
  }
  if (prev === 'DoesNotExist') {
    if (results.build === 'Failure' && spec.build)
      return { image, state: 'DoesNotExist', action: 'BuildImage' };
    if (results.sign === 'Failure' && spec.sign)
      return { image, state: 'DoesNotExist', action: 'SignImage' };
    if (!firstWork(spec) && spec.skipWaitMissingImage) return { image, state: 'DoesNotExist' };
  }
  // Never checked, or worth checking again.
  if (existence === undefined) return { image, ...(prev ? { state: prev } : {}), check: true };
  if (existence === 'Exists') return { image, state: 'Exists' };
  const work = firstWork(spec);
  if (work === 'BuildImage') return { image, state: 'NeedsBuilding', action: work };
  if (work === 'SignImage') return { image, state: 'NeedsSigning', action: work };
  return { image, state: 'DoesNotExist' };
}

/** The distinct images of a MIC, first occurrence wins: one check per image, never two. */
export function distinctImages(mic: ModuleImagesConfig): ModuleImageSpec[] {
  const seen = new Set<string>();
  const out: ModuleImageSpec[] = [];
  for (const s of mic.spec.images ?? []) {
    if (seen.has(s.image)) continue;
    seen.add(s.image);
    out.push(s);
  }
  return out;
}

/** The results of the MBSC per image. */
export function resultsByImage(
  states: readonly BuildSignImageState[] | undefined,
): Map<string, WorkResults> {
  const out = new Map<string, WorkResults>();
  for (const s of states ?? []) {
    const r = out.get(s.image) ?? {};
    if (s.action === 'BuildImage') r.build = s.status;
    else r.sign = s.status;
    out.set(s.image, r);
  }
  return out;
}

/** The MBSC spec entries for the plans that need a build or sign. */
export function buildSignEntries(
  specs: readonly ModuleImageSpec[],
  plans: readonly ImagePlan[],
): ModuleBuildSignSpec[] {
  const byImage = new Map(specs.map((s) => [s.image, s]));
  const out: ModuleBuildSignSpec[] = [];
  for (const p of plans) {
    if (!p.action) continue;
    const s = byImage.get(p.image);
    if (s) out.push({ ...structuredClone(s), action: p.action });
  }
  return out;
}

/**
 * Whether the rebuild trigger moved since the controller last acted on it. `seen` is what the
 * controller recorded (as text); on first sight of a MIC there is nothing recorded and nothing
 * to redo.
 */
export function rebuildTriggered(mic: ModuleImagesConfig, seen: string | undefined): boolean {
  const now = mic.spec.imageRebuildTriggerGeneration;
  if (seen === undefined) return false;
  return triggerText(now) !== seen;
}

/** How the rebuild trigger is recorded. */
export function triggerText(generation: number | undefined): string {
  return generation === undefined ? '' : String(generation);
}

/**
 * Whether the MBSC's results count for the MIC: it is this MIC's (a deleted one of an earlier
 * MIC of that name can linger in the cache) and was made for the current rebuild trigger.
 */
export function mbscCounts(
  mic: ModuleImagesConfig,
  mbsc: Pick<ModuleBuildSignConfig, 'metadata'>,
  trigger: string,
): boolean {
  return (
    controllerOf(mbsc)?.uid === mic.metadata.uid &&
    (mbsc.metadata.annotations?.[ANNOTATION_REBUILD_TRIGGER] ?? '') === trigger
  );
}

/** The event on first finding an image missing: what happens next, by the plan it got. */
export function missingImageEvent(
  spec: ModuleImageSpec,
  next: ImagePlan,
): { type: 'Normal' | 'Warning'; message: string } {
  const what =
    next.action === 'BuildImage'
      ? 'building it'
      : next.action === 'SignImage'
        ? 'signing it'
        : 'it has neither build nor sign, so the module cannot be loaded on those nodes until it is pushed';
  return {
    type: next.action ? 'Normal' : 'Warning',
    message: `image ${spec.image} for kernel ${spec.kernelVersion} does not exist; ${what}`,
  };
}

/**
 * When to reconcile a MIC again: after `retryMs` when a check could not be made; after
 * `recheckMs` while an image is missing without build or sign and the Module waits for it
 * (no skipWaitMissingImage); otherwise when something changes.
 */
export function micRequeueMs(
  specs: readonly ModuleImageSpec[],
  plans: readonly ImagePlan[],
  checkFailed: boolean,
  retryMs: number,
  recheckMs: number,
): number | undefined {
  if (checkFailed) return retryMs;
  const waiting = specs.some(
    (s, i) =>
      plans[i]!.state === 'DoesNotExist' &&
      !plans[i]!.action &&
      !s.build &&
      !s.sign &&
      !s.skipWaitMissingImage,
  );
  return waiting ? recheckMs : undefined;
}
