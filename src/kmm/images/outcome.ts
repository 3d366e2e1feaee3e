/**
 * The decisions of the ModuleBuildSignConfig controller about the objects that do the work, as
 * pure functions: what a build or sign pod (or OpenShift Build) amounts to, what to say about
 * it, and when a finished one is collected.
 */
import type {
  BuildOrSignAction,
  BuildSignImageState,
  ModuleBuildSignSpec,
} from '../../api/index.js';
import type { OpenShiftBuild, Pod } from '../build/index.js';
import { REASONS } from './constants.js';

/** Where a pod or Build stands. `message`: why it failed, or why a pending one cannot start. */
export interface Outcome {
  phase: 'Pending' | 'Succeeded' | 'Failed';
  message?: string;
  finishedAt?: string;
}

/** Waiting reasons of a container that will not start without someone fixing something. */
const STUCK_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/**
 * A build or sign pod's outcome. Failed: the container's termination message (the end of its
 * log), else its reason, else the pod's message or reason. Pending: the waiting reason when the
 * pod cannot start on its own (an image it cannot pull, a Secret key it mounts is missing):
 * it would stay Pending for ever, so say why without calling it a failure yet.
 */
export function podOutcome(p: Pod): Outcome {
  const term = p.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated;
  const phase = p.status?.phase;
  if (phase === 'Succeeded') return { phase: 'Succeeded', finishedAt: term?.finishedAt };
  if (phase === 'Failed') {
    const msg =
      (term?.message ?? '').trim() || term?.reason || p.status?.message || p.status?.reason;
    return { phase: 'Failed', message: msg || 'the pod failed', finishedAt: term?.finishedAt };
  }
  const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) {
    return { phase: 'Pending', message: `${waiting.reason}: ${waiting.message ?? ''}`.trim() };
  }
  return { phase: 'Pending' };
}

/** An OpenShift Build's outcome: Complete succeeds; Failed, Error and Cancelled fail. */
export function buildOutcome(b: OpenShiftBuild): Outcome {
  const s = b.status;
  if (s?.phase === 'Complete') return { phase: 'Succeeded', finishedAt: s.completionTimestamp };
  if (s?.phase === 'Failed' || s?.phase === 'Error' || s?.phase === 'Cancelled') {
    const msg = [s.message, s.logSnippet].filter(Boolean).join(': ');
    return { phase: 'Failed', message: msg || `the Build ended ${s.phase}` };
  }
  return { phase: 'Pending' };
}

/**
 * When to delete a work object, in ms from `now` (0: at once), or undefined to keep it.
 * A clean success (succeeded, and the registry did not contradict it) stays job.gcDelay after it
 * finished (`doneAt`), for inspection; anything else stays while it is the current attempt
 * (a failure holds the logs, a pending one is running) and goes once superseded.
 */
export function collectAfterMs(
  clean: boolean,
  current: boolean,
  doneAt: number,
  now: number,
  gcDelayMs: number,
): number | undefined {
  if (clean) return Math.max(0, doneAt + gcDelayMs - now);
  return current ? undefined : 0;
}

/** The event reasons of one action. */
export function reasonsOf(action: BuildOrSignAction): {
  created: string;
  succeeded: string;
  failed: string;
  pending: string;
} {
  return action === 'BuildImage'
    ? {
        created: REASONS.BuildCreated,
        succeeded: REASONS.BuildSucceeded,
        failed: REASONS.BuildFailed,
        pending: REASONS.BuildPending,
      }
    : {
        created: REASONS.SignCreated,
        succeeded: REASONS.SignSucceeded,
        failed: REASONS.SignFailed,
        pending: REASONS.SignPending,
      };
}

/** The work of an MBSC entry in words, for events: what, for which kernel, from which Dockerfile. */
export function describeWork(entry: ModuleBuildSignSpec): string {
  if (entry.action === 'BuildImage') {
    const cm = entry.build?.dockerfileConfigMap?.name;
    return `build of ${entry.image} for kernel ${entry.kernelVersion}${cm ? ` (Dockerfile from ConfigMap ${cm})` : ''}`;
  }
  return `signing of ${entry.image} for kernel ${entry.kernelVersion}`;
}

/**
 * Successes of work no longer asked for stay on record while the MIC still lists the image (a
 * build before its sign, an image that now exists); failures are replaced by retries.
 */
export function keptSuccesses(
  recorded: readonly BuildSignImageState[],
  listed: ReadonlySet<string>,
  asked: readonly ModuleBuildSignSpec[],
): BuildSignImageState[] {
  const askedKeys = new Set(asked.map((e) => `${e.action}|${e.image}`));
  return recorded.filter(
    (s) =>
      s.status === 'Success' && listed.has(s.image) && !askedKeys.has(`${s.action}|${s.image}`),
  );
}
