/**
 * How a rendered operand is written onto the object in the cluster, as a pure function of the
 * two (`desiredState`); `createOrPatch` then writes the difference, or nothing.
 *
 * The apiserver fills in defaults (a container's terminationMessagePath, a Deployment's
 * strategy, …) that the rendering does not carry, so a plain comparison would write on every
 * reconcile. Two cases:
 * - the rendering changed (its hash, kept in an annotation, differs): the rendered fields are
 *   replaced whole, so that a field the new rendering drops is removed; the server defaults
 *   the rest again, and a workload whose pod template is unchanged after defaulting does not
 *   roll;
 * - the rendering is the same: it is overlaid on the object — every rendered value wins, values
 *   the server added stay, lists of another length are replaced — which undoes a hand edit of
 *   any rendered field and writes nothing when nobody touched the object.
 */
import { createHash } from 'node:crypto';
import { deepEqual, overlay } from '../../runtime/index.js';
import { OWNER_ANNOTATION, RENDERED_HASH_ANNOTATION } from './constants.js';
import type { Operand } from './render.js';
import { isMap } from '../../runtime/objects.js';

/** Stable hash of a rendered object. */
export function renderedHash(o: Operand): string {
  return createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 16);
}

/** Fields the apiserver allocates and that a whole replacement must keep. */
const ALLOCATED: Record<string, string[]> = {
  Service: ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy'],
};

const META_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/** The object is someone else's: another CR controls it, or another CR's annotation names it. */
export class OwnershipConflict extends Error {
  constructor(
    readonly ref: string,
    readonly holder: string,
  ) {
    super(
      `${ref} belongs to ${holder}; delete it or give this NodeFeatureDiscovery another instance`,
    );
    this.name = 'OwnershipConflict';
  }
}

function ownerOfObject(
  o: Operand | (Record<string, unknown> & { metadata: Operand['metadata'] }),
): string | undefined {
  const ctl = o.metadata.ownerReferences?.find((r) => r.controller);
  if (ctl) return `${ctl.kind} ${o.metadata.namespace ?? ''}/${ctl.name} (uid ${ctl.uid})`;
  return o.metadata.annotations?.[OWNER_ANNOTATION];
}

/**
 * Sets on `current` (in place) what `desired` says, as described above. Throws
 * OwnershipConflict when `current` is controlled by an owner other than `desired`'s.
 */
export function desiredState(current: Operand, desired: Operand): void {
  const hash = renderedHash(desired);
  const m = current.metadata;
  const want = desired.metadata;
  const ctl = m.ownerReferences?.find((r) => r.controller);
  const wantCtl = want.ownerReferences?.find((r) => r.controller);
  const ref = `${desired.kind} ${want.namespace ? `${want.namespace}/` : ''}${want.name}`;
  if (ctl && wantCtl && ctl.uid !== wantCtl.uid)
    throw new OwnershipConflict(ref, ownerOfObject(current)!);
  const holder = m.annotations?.[OWNER_ANNOTATION];
  const wantHolder = want.annotations?.[OWNER_ANNOTATION];
  if (holder && wantHolder && holder !== wantHolder) throw new OwnershipConflict(ref, holder);

  const changed = m.annotations?.[RENDERED_HASH_ANNOTATION] !== hash;
  // Only when there are labels: the server drops an empty map, which would differ forever.
  if (want.labels) m.labels = { ...m.labels, ...want.labels };
  m.annotations = { ...m.annotations, ...want.annotations, [RENDERED_HASH_ANNOTATION]: hash };
  if (want.ownerReferences) {
    const others = (m.ownerReferences ?? []).filter(
      (r) => !want.ownerReferences!.some((w) => w.uid === r.uid),
    );
    const merged = [...others, ...want.ownerReferences];
    if (!deepEqual(merged, m.ownerReferences)) m.ownerReferences = merged;
  }
  const cur = current as Record<string, unknown>;
  for (const [k, v] of Object.entries(desired)) {
    if (META_KEYS.has(k)) continue;
    if (!changed) {
      cur[k] = overlay(cur[k], v);
      continue;
    }
    const keep = ALLOCATED[desired.kind];
    const prev = cur[k];
    cur[k] = structuredClone(v);
    if (keep && isMap(prev) && isMap(cur[k])) {
      const next = cur[k];
      for (const f of keep) if (prev[f] !== undefined && next[f] === undefined) next[f] = prev[f];
    }
  }
}
