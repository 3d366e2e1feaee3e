import type { Condition } from './objects.js';

export interface ConditionInput {
  type: string;
  status: Condition['status'];
  reason: string;
  message?: string;
  observedGeneration?: number;
}

export function findCondition(
  cs: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return cs?.find((c) => c.type === type);
}

export function isConditionTrue(cs: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(cs, type)?.status === 'True';
}

/**
 * Sets a metav1.Condition as apimachinery's meta.SetStatusCondition does: lastTransitionTime
 * changes only when the status does, so a reconcile that repeats itself writes nothing new.
 * Returns a new list and whether it differs from the old one.
 */
export function setCondition(
  cs: readonly Condition[] | undefined,
  c: ConditionInput,
  now: Date = new Date(),
): { conditions: Condition[]; changed: boolean } {
  const list = [...(cs ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (i < 0) {
    const added: Condition = {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message ?? '',
      lastTransitionTime: ts,
      ...(c.observedGeneration !== undefined ? { observedGeneration: c.observedGeneration } : {}),
    };
    return { conditions: [...list, added], changed: true };
  }
  const old = list[i]!;
  const next: Condition = {
    ...old,
    status: c.status,
    reason: c.reason,
    message: c.message ?? '',
    lastTransitionTime: old.status === c.status ? old.lastTransitionTime : ts,
  };
  if (c.observedGeneration !== undefined) next.observedGeneration = c.observedGeneration;
  const changed =
    old.status !== next.status ||
    old.reason !== next.reason ||
    old.message !== next.message ||
    old.observedGeneration !== next.observedGeneration;
  list[i] = next;
  return { conditions: list, changed };
}

export function removeCondition(
  cs: readonly Condition[] | undefined,
  type: string,
): { conditions: Condition[]; changed: boolean } {
  const list = (cs ?? []).filter((c) => c.type !== type);
  return { conditions: list, changed: list.length !== (cs?.length ?? 0) };
}
