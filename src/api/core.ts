/**
 * Kubernetes core types embedded in our custom resources. Small ones are spelled out field by
 * field; large ones (volume sources, env value sources) keep their content unchecked in the CRD
 * and are checked by the apiserver when the pod that uses them is created.
 */
import {
  arr,
  bool,
  enumOf,
  int64,
  map,
  obj,
  openObj,
  opt,
  preserved,
  quantity,
  str,
  time,
  unsafe,
  type Static,
} from './schema.js';
import type { ObjectMeta } from '../runtime/objects.js';

export const PULL_POLICIES = ['Always', 'Never', 'IfNotPresent'] as const;
export const pullPolicy = (description: string, dflt?: string) =>
  enumOf(PULL_POLICIES, { description, ...(dflt ? { default: dflt } : {}) });

export const LocalObjectReference = obj(
  { name: opt(str({ description: 'Name of the referenced object, in the same namespace.' })) },
  { mapType: 'atomic', description: 'A reference to an object in the same namespace.' },
);
export type LocalObjectReference = Static<typeof LocalObjectReference>;

/** A reference that must name something: used where an empty name can only be a mistake. */
export const namedRef = (description: string) =>
  obj(
    {
      name: str({
        minLength: 1,
        description: 'Name of the referenced object, in the same namespace.',
      }),
    },
    { mapType: 'atomic', description },
  );

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

export const Toleration = obj(
  {
    key: opt(
      str({
        description:
          'Taint key the toleration applies to; empty with operator Exists matches every key.',
      }),
    ),
    operator: opt(
      enumOf(['', 'Exists', 'Equal'], {
        maxLength: 8, // bounds the cost of the CEL rules below
        description: 'How key and value are compared: Equal (the default) or Exists.',
      }),
    ),
    value: opt(str({ description: 'Taint value to match when operator is Equal.' })),
    effect: opt(
      enumOf(['', ...TAINT_EFFECTS], {
        maxLength: 16,
        description: 'Taint effect to match; empty matches every effect.',
      }),
    ),
    tolerationSeconds: opt(
      int64({
        description: 'For NoExecute: how long the pod stays bound after the taint appears.',
      }),
    ),
  },
  {
    description: 'A core/v1 Toleration.',
    validations: [
      {
        rule: "(has(self.key) && size(self.key) > 0) || (has(self.operator) && self.operator == 'Exists')",
        message:
          'operator must be Exists when key is empty (an empty key with Exists tolerates every ' +
          'taint); set key, or operator: Exists',
        fieldPath: '.operator',
        reason: 'FieldValueForbidden',
      },
      {
        rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
        message:
          'tolerationSeconds is only allowed with effect NoExecute (how long a pod stays bound ' +
          'after such a taint appears); set effect: NoExecute, or remove tolerationSeconds',
        fieldPath: '.tolerationSeconds',
        reason: 'FieldValueForbidden',
      },
    ],
  },
);
export type Toleration = Static<typeof Toleration>;

export const Taint = obj(
  {
    key: str({ minLength: 1, description: 'Taint key.' }),
    value: opt(str({ description: 'Taint value.' })),
    effect: enumOf(TAINT_EFFECTS, { description: 'What happens to pods that do not tolerate it.' }),
    timeAdded: opt(time({ nullable: true, description: 'When a NoExecute taint was added.' })),
  },
  { description: 'A core/v1 Taint.' },
);
export type Taint = Static<typeof Taint>;

export const EnvVar = obj(
  {
    name: str({ minLength: 1, description: 'Variable name.' }),
    value: opt(str({ description: 'Literal value; $(VAR) references are expanded.' })),
    valueFrom: opt(
      preserved({
        description:
          'A core/v1 EnvVarSource (fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef); ' +
          'kept as given here and checked when the pod is created.',
      }),
    ),
  },
  { description: 'A core/v1 EnvVar.' },
);
export type EnvVar = Static<typeof EnvVar>;

export const VolumeMount = obj(
  {
    name: str({ minLength: 1, description: 'Name of the volume to mount.' }),
    mountPath: str({ minLength: 1, description: 'Path in the container where it is mounted.' }),
    readOnly: opt(bool({ description: 'Mount read-only.' })),
    recursiveReadOnly: opt(
      enumOf(['Disabled', 'IfPossible', 'Enabled'], {
        description: 'Read-only for submounts too.',
      }),
    ),
    subPath: opt(str({ description: 'Path inside the volume to mount instead of its root.' })),
    subPathExpr: opt(str({ description: 'Like subPath, with $(VAR) expansion.' })),
    mountPropagation: opt(
      enumOf(['None', 'HostToContainer', 'Bidirectional'], {
        description: 'Mount propagation mode.',
      }),
    ),
  },
  { description: 'A core/v1 VolumeMount.' },
);
export type VolumeMount = Static<typeof VolumeMount>;

export const Volume = openObj(
  {
    name: str({ minLength: 1, description: 'Volume name, referenced by volume mounts.' }),
  },
  {
    description:
      'A core/v1 Volume. Its name is checked here; the volume source (configMap, hostPath, ' +
      'secret, emptyDir, …) is kept as given and checked when the pod is created.',
  },
);
export type Volume = Static<typeof Volume> & Record<string, unknown>;

export const ResourceRequirements = obj(
  {
    limits: opt(map(quantity(), { description: 'Maximum amount of each resource.' })),
    requests: opt(map(quantity(), { description: 'Amount of each resource to reserve.' })),
    claims: opt(
      arr(
        obj({
          name: str({ description: 'Name of a resource claim of the pod.' }),
          request: opt(str({ description: 'Request within that claim.' })),
        }),
        { listType: 'map', listMapKeys: ['name'], description: 'Dynamic resource claims used.' },
      ),
    ),
  },
  { description: 'A core/v1 ResourceRequirements.' },
);
export type ResourceRequirements = Static<typeof ResourceRequirements>;

/** metav1.Condition, as in the status of newer Kubernetes APIs. */
export const Condition = obj({
  type: str({ minLength: 1, maxLength: 316, description: 'Condition type, e.g. Ready.' }),
  status: enumOf(['True', 'False', 'Unknown'], { description: 'Whether the condition holds.' }),
  observedGeneration: opt(
    int64({ minimum: 0, description: 'Generation the condition was set for.' }),
  ),
  lastTransitionTime: time({ description: 'When the status last changed.' }),
  reason: str({ maxLength: 1024, description: 'CamelCase reason for the last transition.' }),
  message: str({ maxLength: 32768, description: 'Human-readable detail.' }),
});
export type Condition = Static<typeof Condition>;

export const conditions = (description: string) =>
  arr(Condition, { listType: 'map', listMapKeys: ['type'], description });

/** Metadata of a custom resource: the apiserver checks it, so the schema only says "object". */
export const metadata = unsafe<ObjectMeta>({ type: 'object' });
