/**
 * The admission checks of every KMM kind, one entry point for the webhook and for
 * `hwe kmm validate`: the same object gets the same answer from both.
 */
import { parseKernelVersion } from '../kernelmapping/index.js';
import { decodeAll, type Loose } from '../../api/decode.js';
import { ObjectHeader } from '../../api/resource.js';
import { ManagedClusterModuleSpec, ModuleSpec, PreflightValidationOCPSpec } from '../../api/kmm.js';
import type { Static, TSchema } from '../../api/schema.js';
import { isMap } from '../../runtime/objects.js';
import { Errors, type FieldError } from './fields.js';
import { imageProblem } from './kube.js';
import { checkModuleSpec, checkVersionChange } from './module.js';

export const KMM_GROUP = 'kmm.sigs.x-k8s.io';
export const KMM_HUB_GROUP = 'hub.kmm.sigs.x-k8s.io';

/** The kinds validated here, by API group. */
export const VALIDATED_KINDS: Record<string, readonly string[]> = {
  [KMM_GROUP]: ['Module', 'PreflightValidation', 'PreflightValidationOCP'],
  [KMM_HUB_GROUP]: ['ManagedClusterModule'],
};

/**
 * The longest kernel release Linux can report: `uname -r` comes from a 65-byte field
 * (__NEW_UTS_LEN + 1), so anything longer is not a kernel a node could run.
 */
export const MAX_KERNEL_VERSION_LENGTH = 64;

export interface ObjectReport {
  apiVersion: string;
  kind: string;
  name?: string;
  namespace?: string;
  errors: FieldError[];
}

type Obj = Record<string, unknown>;

/** The object's spec read against the schema of its kind. */
function spec<T extends TSchema>(errors: Errors, schema: T, obj: Obj) {
  if (obj['spec'] == null) {
    errors.add('spec', 'required');
    return undefined;
  }
  return errors.read(schema, obj['spec'], 'spec');
}

/** The spec of the object before an update: only read, its problems are not this update's. */
function oldSpec<T extends TSchema>(schema: T, old: Obj): Loose<Static<T>> | undefined {
  return new Errors().read(schema, old['spec'], 'spec');
}

/** A Module, on create (no `old`) or update. */
export function validateModule(obj: Obj, old?: Obj): FieldError[] {
  const errors = new Errors();
  const s = spec(errors, ModuleSpec, obj);
  if (s) checkModuleSpec(errors, s, 'spec');
  if (old) checkVersionChange(errors, oldSpec(ModuleSpec, old), s, 'spec');
  return dedupe(errors.list);
}

/** A kernel release the way preflight will use it; the error message if it is not one. */
export function kernelVersionProblem(value: string): string | undefined {
  if (value.length > MAX_KERNEL_VERSION_LENGTH) {
    return (
      `is ${value.length} characters long; a kernel release (uname -r) has at most ` +
      `${MAX_KERNEL_VERSION_LENGTH}`
    );
  }
  const parsed = parseKernelVersion(value);
  return parsed.ok ? undefined : parsed.error.detail;
}

/** PreflightValidation and PreflightValidationOCP. */
export function validatePreflight(obj: Obj): FieldError[] {
  const errors = new Errors();
  const s = spec(errors, PreflightValidationOCPSpec, obj);
  if (!s) return errors.list;
  const kernel = s.kernelVersion;
  if (kernel === undefined) {
    errors.missing('spec.kernelVersion', 'required: the kernel release to check every Module for');
  } else {
    const p = kernelVersionProblem(kernel);
    if (p) errors.add('spec.kernelVersion', p);
  }
  if (s.dtkImage) {
    const p = imageProblem(s.dtkImage);
    if (p) errors.add('spec.dtkImage', p);
  }
  return errors.list;
}

/** A ManagedClusterModule: its moduleSpec is checked as a Module's spec. */
export function validateManagedClusterModule(obj: Obj, old?: Obj): FieldError[] {
  const errors = new Errors();
  const s = spec(errors, ManagedClusterModuleSpec, obj);
  if (!s) return errors.list;
  const { moduleSpec } = s;
  if (moduleSpec) checkModuleSpec(errors, moduleSpec, 'spec.moduleSpec');
  else errors.missing('spec.moduleSpec', 'required: the Module to deploy');
  if (!s.spokeNamespace) {
    errors.add('spec.spokeNamespace', 'required: the namespace of the Module on the spokes');
  }
  if (!s.selector) {
    errors.add('spec.selector', 'required: labels of the ManagedCluster objects to deploy to');
  }
  if (old) {
    const before = oldSpec(ManagedClusterModuleSpec, old)?.moduleSpec;
    checkVersionChange(errors, before, moduleSpec, 'spec.moduleSpec');
  }
  return dedupe(errors.list);
}

/** Refuses deleting a namespace that still holds Modules (their finalizers would be orphaned). */
export function validateNamespaceDeletion(namespace: string, moduleNames: string[]): FieldError[] {
  if (moduleNames.length === 0) return [];
  const shown = moduleNames.slice(0, 5).join(', ') + (moduleNames.length > 5 ? ', …' : '');
  return [
    {
      field: `metadata.name`,
      message:
        `namespace ${namespace} still holds Modules (${shown}); delete them first so their ` +
        'modules are unloaded from the nodes',
    },
  ];
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** apiVersion, kind, name and namespace of a KMM object checked here; undefined otherwise. */
function validatedHeader(obj: unknown): ObjectReport | undefined {
  const { apiVersion, kind, metadata = {} } = decodeAll(ObjectHeader, obj).value ?? {};
  if (apiVersion === undefined || kind === undefined) return undefined;
  if (!VALIDATED_KINDS[groupOf(apiVersion)]?.includes(kind)) return undefined;
  const report: ObjectReport = { apiVersion, kind, errors: [] };
  if (metadata.name !== undefined) report.name = metadata.name;
  if (metadata.namespace !== undefined) report.namespace = metadata.namespace;
  return report;
}

/** Whether the object is one of the KMM kinds checked here. */
export function isValidatedKind(obj: unknown): boolean {
  return validatedHeader(obj) !== undefined;
}

/**
 * Validates any KMM object (Module, PreflightValidation, PreflightValidationOCP,
 * ManagedClusterModule), on create or, with `old`, on update. Undefined for other kinds.
 */
export function validateKmmObject(obj: unknown, old?: unknown): ObjectReport | undefined {
  const report = validatedHeader(obj);
  if (!report || !isMap(obj)) return undefined;
  const oldObj = isMap(old) ? old : undefined;
  switch (report.kind) {
    case 'Module':
      report.errors = validateModule(obj, oldObj);
      break;
    case 'ManagedClusterModule':
      report.errors = validateManagedClusterModule(obj, oldObj);
      break;
    default:
      report.errors = validatePreflight(obj);
  }
  return report;
}

function dedupe(list: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const k = `${e.field}\0${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
