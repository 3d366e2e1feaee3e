/**
 * How a custom resource is declared once and turned into: a CustomResourceDefinition manifest,
 * and the runtime's ResourceType constants (group/version/kind/plural) that controllers and
 * KubeClient paths use.
 */
import type { TProperties, TSchema } from '@sinclair/typebox';
import { metadata } from './core.js';
import type { KubeObject } from '../runtime/objects.js';
import { resourceType, type ResourceType } from '../runtime/resources.js';
import { obj, opt, openApiSchema, str } from './schema.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 = shown by `kubectl get`; higher = only with `-o wide`. */
  priority?: number;
}

export interface VersionDef {
  name: string;
  schema: TSchema;
  /** The version objects are stored in; exactly one per resource. */
  storage: boolean;
  served?: boolean;
  printerColumns?: PrinterColumn[];
  deprecationWarning?: string;
}

export interface ResourceDef {
  group: string;
  kind: string;
  plural: string;
  singular?: string;
  shortNames?: string[];
  categories?: string[];
  scope: 'Namespaced' | 'Cluster';
  versions: VersionDef[];
  /** The resource has a status subresource (status is written through /status). */
  status: boolean;
  /** Annotations of the CRD (groups under k8s.io need api-approved.kubernetes.io). */
  annotations?: Record<string, string>;
  /**
   * A resource of someone else's API that hwe talks to, defined minimally by us so tests can
   * run without OpenShift or Open Cluster Management. Never installed by the product.
   */
  foreign?: boolean;
}

/** The root schema of an object: apiVersion, kind, metadata, then the kind's own fields. */
export function objectSchema<P extends TProperties>(props: P, description: string) {
  return obj(
    {
      apiVersion: opt(str({ description: 'API group and version of the object.' })),
      kind: opt(str({ description: 'Kind of the object.' })),
      metadata,
      ...props,
    },
    { description },
  );
}

/** What names an object of any kind, for code that reads documents before knowing the kind. */
export const ObjectHeader = obj({
  apiVersion: opt(str()),
  kind: opt(str()),
  metadata: opt(obj({ name: opt(str()), namespace: opt(str()) })),
});

/** The API coordinates of one version of a resource (the storage version if none is named). */
export function apiResource<T extends KubeObject = KubeObject>(
  def: ResourceDef,
  version?: string,
): ResourceType<T> {
  const v = version
    ? def.versions.find((x) => x.name === version)
    : def.versions.find((x) => x.storage);
  if (!v) throw new Error(`${def.kind}.${def.group} has no version ${version ?? '(storage)'}`);
  return resourceType<T>({
    group: def.group,
    version: v.name,
    plural: def.plural,
    kind: def.kind,
    namespaced: def.scope === 'Namespaced',
    statusSubresource: def.status,
  });
}

export const crdName = (def: ResourceDef): string => `${def.plural}.${def.group}`;

/** The apiextensions.k8s.io/v1 CustomResourceDefinition of a resource. */
export function customResourceDefinition(def: ResourceDef): CustomResourceDefinition {
  const storage = def.versions.filter((v) => v.storage);
  if (storage.length !== 1)
    throw new Error(`${crdName(def)}: ${storage.length} storage versions, need exactly 1`);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(def),
      labels: {
        'app.kubernetes.io/part-of': 'hwe',
        ...(def.foreign ? { 'hwe.io/test-only': 'true' } : {}),
      },
      ...(def.annotations ? { annotations: def.annotations } : {}),
    },
    spec: {
      group: def.group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular ?? def.kind.toLowerCase(),
        ...(def.shortNames ? { shortNames: def.shortNames } : {}),
        ...(def.categories ? { categories: def.categories } : {}),
      },
      scope: def.scope,
      versions: def.versions.map((v) => ({
        name: v.name,
        served: v.served ?? true,
        storage: v.storage,
        ...(v.deprecationWarning
          ? { deprecated: true, deprecationWarning: v.deprecationWarning }
          : {}),
        schema: { openAPIV3Schema: openApiSchema(v.schema) },
        ...(def.status ? { subresources: { status: {} } } : {}),
        ...(v.printerColumns
          ? {
              additionalPrinterColumns: [
                ...v.printerColumns,
                { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
              ],
            }
          : {}),
      })),
    },
  };
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: {
    name: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  spec: {
    group: string;
    names: Record<string, string | string[]>;
    scope: 'Namespaced' | 'Cluster';
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: Record<string, unknown> };
      subresources?: { status: Record<string, never> };
      additionalPrinterColumns?: PrinterColumn[];
      deprecated?: boolean;
      deprecationWarning?: string;
    }>;
  };
}
