import type { KubeObject, OwnerReference } from './objects.js';

export class OwnerError extends Error {
  readonly kind = 'AlreadyOwned';
  constructor(message: string) {
    super(message);
    this.name = 'OwnerError';
  }
}

/** An owner reference to `owner` (which must have apiVersion, kind, name and uid). */
export function ownerReference(
  owner: KubeObject,
  opts: { controller?: boolean; blockOwnerDeletion?: boolean } = {},
): OwnerReference {
  const { apiVersion, kind } = owner;
  const { name, uid } = owner.metadata;
  if (!apiVersion || !kind || !name || !uid) {
    throw new TypeError(
      'owner reference: the owner needs apiVersion, kind, metadata.name and metadata.uid',
    );
  }
  return {
    apiVersion,
    kind,
    name,
    uid,
    ...(opts.controller ? { controller: true } : {}),
    ...(opts.blockOwnerDeletion ? { blockOwnerDeletion: true } : {}),
  };
}

/** The owner reference with controller: true, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function isOwnedBy(obj: KubeObject, owner: KubeObject): boolean {
  return !!obj.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid);
}

/**
 * Makes `owner` the controller of `obj` (in place), as controller-runtime's
 * SetControllerReference: fails if another object already controls it; a reference to the
 * same owner is replaced, others are kept.
 */
export function setControllerReference(obj: KubeObject, owner: KubeObject): void {
  const ref = ownerReference(owner, { controller: true, blockOwnerDeletion: true });
  const cur = controllerOf(obj);
  if (cur && cur.uid !== ref.uid) {
    throw new OwnerError(
      `${obj.kind ?? 'object'} ${obj.metadata.name ?? ''} is already controlled by ${cur.kind} ${cur.name}`,
    );
  }
  const others = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
  obj.metadata.ownerReferences = [...others, ref];
}

/** Adds a non-controller owner reference (in place), replacing one to the same owner. */
export function setOwnerReference(obj: KubeObject, owner: KubeObject): void {
  const ref = ownerReference(owner);
  const others = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
  obj.metadata.ownerReferences = [...others, ref];
}
