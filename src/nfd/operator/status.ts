/**
 * The CR's conditions, as a pure function of its operands' workload status:
 *
 * - Available: every workload runs (a Deployment has an available replica; a DaemonSet has a
 *   pod available on every node it targets, or on some node while it rolls out).
 * - Progressing: a workload has not yet observed its latest spec or has pods to update or to
 *   become available.
 * - Degraded: the spec cannot be rendered, a write failed, or a workload that is not available
 *   has a Warning event (a pod it cannot create, an image it cannot pull).
 * - Upgradeable: Available and neither Progressing nor Degraded.
 *
 * Reasons name the component (`NFDWorkerDaemonSetNotAvailable`, `NFDMasterDeploymentProgressing`,
 * …, in upstream's style); messages
 * say what is missing and the last warning seen.
 */
import type { ConditionInput } from '../../runtime/index.js';
import { type Component, componentReason, CONDITIONS, REASONS } from './constants.js';

export interface WorkloadStatus {
  observedGeneration?: number;
  // DaemonSet
  desiredNumberScheduled?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  // Deployment
  replicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
}

export interface ComponentState {
  component: Component;
  kind: 'DaemonSet' | 'Deployment';
  name: string;
  /** Undefined when the workload does not exist (yet). */
  workload?: {
    metadata: { generation?: number };
    spec?: { replicas?: number };
    status?: WorkloadStatus;
  };
  /** The latest Warning event about the workload, e.g. `FailedCreate: pods "…" is forbidden`. */
  warning?: string;
}

export interface Health {
  available: boolean;
  progressing: boolean;
  /** Why it is not available or still progressing; empty when neither. */
  message: string;
}

export function componentHealth(c: ComponentState): Health {
  const w = c.workload;
  if (!w)
    return {
      available: false,
      progressing: true,
      message: `${c.kind} ${c.name} does not exist yet`,
    };
  const st = w.status ?? {};
  const unobserved = (st.observedGeneration ?? 0) < (w.metadata.generation ?? 0);
  if (c.kind === 'DaemonSet') {
    const desired = st.desiredNumberScheduled ?? 0;
    const updated = st.updatedNumberScheduled ?? 0;
    const avail = st.numberAvailable ?? 0;
    const progressing = unobserved || updated < desired || avail < desired;
    if (unobserved) {
      return {
        available: avail > 0,
        progressing,
        message: `DaemonSet ${c.name}: new spec not yet observed`,
      };
    }
    if (desired === 0) {
      return {
        available: false,
        progressing: false,
        message: `DaemonSet ${c.name} targets no node; check the node selector and tolerations`,
      };
    }
    const available = avail >= desired || (progressing && avail > 0);
    const parts = [];
    if (avail < desired) parts.push(`${avail} of ${desired} pods available`);
    if (updated < desired) parts.push(`${updated} of ${desired} pods updated`);
    return {
      available,
      progressing,
      message: parts.length ? `DaemonSet ${c.name}: ${parts.join(', ')}` : '',
    };
  }
  const want = w.spec?.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const avail = st.availableReplicas ?? 0;
  const progressing = unobserved || updated < want || avail < want;
  const parts = [];
  if (unobserved) parts.push('new spec not yet observed');
  if (avail < want) parts.push(`${avail} of ${want} replicas available`);
  if (updated < want) parts.push(`${updated} of ${want} replicas updated`);
  return {
    available: avail > 0,
    progressing,
    message: parts.length ? `Deployment ${c.name}: ${parts.join(', ')}` : '',
  };
}

export interface StatusInput {
  generation?: number;
  components: ComponentState[];
  /** The spec cannot be rendered (the message names the field). */
  invalid?: string;
  /** A write failed. */
  applyError?: { reason: string; message: string };
}

const cond = (
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  observedGeneration?: number,
): ConditionInput => ({
  type,
  status: ok ? 'True' : 'False',
  reason,
  message,
  observedGeneration,
});

export function computeConditions(s: StatusInput): ConditionInput[] {
  const g = s.generation;
  const health = s.components.map((c) => ({ c, h: componentHealth(c) }));
  const down = health.filter((x) => !x.h.available);
  const moving = health.filter((x) => x.h.progressing);
  const warned = down.filter((x) => x.c.warning);
  const describe = (xs: typeof health, withWarning: boolean) =>
    xs
      .map(
        (x) =>
          `${x.h.message}${withWarning && x.c.warning ? `; last warning: ${x.c.warning}` : ''}`,
      )
      .join('; ');

  const available = down.length
    ? cond(
        CONDITIONS.available,
        false,
        componentReason(down[0]!.c.component, down[0]!.c.kind, 'NotAvailable'),
        describe(down, true),
        g,
      )
    : cond(CONDITIONS.available, true, REASONS.available, 'every operand is available', g);

  let degraded: ConditionInput;
  if (s.invalid) degraded = cond(CONDITIONS.degraded, true, REASONS.invalidSpec, s.invalid, g);
  else if (s.applyError)
    degraded = cond(CONDITIONS.degraded, true, s.applyError.reason, s.applyError.message, g);
  else if (warned.length) {
    degraded = cond(
      CONDITIONS.degraded,
      true,
      componentReason(warned[0]!.c.component, warned[0]!.c.kind, 'Degraded'),
      describe(warned, true),
      g,
    );
  } else
    degraded = cond(
      CONDITIONS.degraded,
      false,
      REASONS.asExpected,
      'no operand reports a failure',
      g,
    );

  const progressing =
    s.invalid || s.applyError
      ? cond(
          CONDITIONS.progressing,
          false,
          degraded.reason,
          'not rolling out: the operator is degraded',
          g,
        )
      : moving.length
        ? cond(
            CONDITIONS.progressing,
            true,
            componentReason(moving[0]!.c.component, moving[0]!.c.kind, 'Progressing'),
            describe(moving, false),
            g,
          )
        : cond(
            CONDITIONS.progressing,
            false,
            REASONS.upToDate,
            'every operand runs the latest spec',
            g,
          );

  const blocker =
    [degraded, progressing].find((c) => c.status === 'True') ??
    (available.status === 'False' ? available : undefined);
  const upgradeable = blocker
    ? cond(CONDITIONS.upgradeable, false, blocker.reason, blocker.message ?? '', g)
    : cond(
        CONDITIONS.upgradeable,
        true,
        REASONS.asExpected,
        'operands are available and up to date',
        g,
      );
  return [available, progressing, degraded, upgradeable];
}
