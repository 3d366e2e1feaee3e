import { isKubeError, PATCH_CONTENT_TYPES, type KubeClient, type PatchType } from './client.js';
import type { KubeObject, ObjectList } from './objects.js';
import { apiVersionOf, resourcePath, type ResourceType } from './resources.js';

/** The field manager hwe writes under unless a caller names its own. */
export const DEFAULT_FIELD_MANAGER = 'hwe';

/** Accept header that makes the apiserver send PartialObjectMetadata (metadata only). */
export const METADATA_ONLY_ACCEPT =
  'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
export const METADATA_ONLY_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  /** Fetch only metadata (PartialObjectMetadata). */
  metadataOnly?: boolean;
  signal?: AbortSignal;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Overrides the client's field manager for this write. */
  fieldManager?: string;
}

export interface PatchOptions extends WriteOptions {
  namespace?: string;
  type?: Exclude<PatchType, 'apply'>;
  subresource?: 'status' | 'scale';
}

export interface ApplyOptions extends WriteOptions {
  /** Take ownership of fields another manager owns (server-side apply "force"). */
  force?: boolean;
  subresource?: 'status';
}

export interface DeleteOptions {
  namespace?: string;
  /** Delete only if the object still has this uid / resourceVersion (else Conflict). */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/**
 * A list as the apiserver sends it, made safe to iterate: an empty list of a custom resource
 * (and a metadata-only list of one) comes as `"items": null`, and a list may lack `metadata`.
 */
export function decodeList<T>(text: string): ObjectList<T> {
  const raw = JSON.parse(text) as Partial<ObjectList<T>> | null;
  if (raw === null || typeof raw !== 'object') throw new TypeError('list answer is not an object');
  return { ...raw, metadata: raw.metadata ?? {}, items: raw.items ?? [] };
}

/**
 * Typed access to one kind: get, list, create, update, patch (merge, JSON, strategic),
 * server-side apply, status writes, delete with preconditions, watch. Failures are KubeError
 * values (kind NotFound, Conflict, Invalid with causes, Forbidden, Gone, ...).
 */
export class ResourceClient<T extends KubeObject = KubeObject> {
  readonly client: KubeClient;
  readonly type: ResourceType<T>;
  readonly fieldManager: string;

  constructor(client: KubeClient, type: ResourceType<T>, fieldManager = DEFAULT_FIELD_MANAGER) {
    this.client = client;
    this.type = type;
    this.fieldManager = fieldManager;
  }

  private path(namespace: string | undefined, name?: string, subresource?: string): string {
    if (this.type.namespaced && name !== undefined && !namespace) {
      throw new TypeError(
        `${this.type.kind} "${name}" is namespaced: metadata.namespace is required`,
      );
    }
    return resourcePath(this.type, { namespace, name, subresource });
  }

  private writeQuery(o: WriteOptions = {}): Record<string, string | undefined> {
    return {
      fieldManager: o.fieldManager ?? this.fieldManager,
      dryRun: o.dryRun ? 'All' : undefined,
    };
  }

  get(name: string, namespace?: string): Promise<T> {
    return this.client.request<T>(this.path(namespace, name));
  }

  /** get, or undefined when the object does not exist. */
  async find(name: string, namespace?: string): Promise<T | undefined> {
    try {
      return await this.get(name, namespace);
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  /** One page of a list. */
  async list(o: ListOptions = {}): Promise<ObjectList<T>> {
    const text = await this.client.requestText(
      this.path(o.namespace),
      {
        query: {
          labelSelector: o.labelSelector,
          fieldSelector: o.fieldSelector,
          limit: o.limit,
          continue: o.continue,
          resourceVersion: o.resourceVersion,
        },
        signal: o.signal,
      },
      o.metadataOnly ? METADATA_ONLY_LIST_ACCEPT : 'application/json',
    );
    return decodeList<T>(text);
  }

  /** Every page of a list, `pageSize` objects at a time, and the list's resourceVersion. */
  async listAll(
    o: ListOptions & { pageSize?: number; onPage?: (items: T[]) => void } = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.list({ ...o, limit: o.pageSize ?? 500, continue: cont });
      if (o.onPage) o.onPage(page.items);
      else items.push(...page.items);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    return { items, resourceVersion: rv };
  }

  create(obj: T, o: WriteOptions = {}): Promise<T> {
    return this.client.request<T>(this.path(obj.metadata.namespace), {
      method: 'POST',
      body: this.withTypeMeta(obj),
      query: this.writeQuery(o),
    });
  }

  /** PUT: replaces the object; its metadata.resourceVersion makes this fail with Conflict if stale. */
  update(obj: T, o: WriteOptions = {}): Promise<T> {
    return this.client.request<T>(this.path(obj.metadata.namespace, obj.metadata.name), {
      method: 'PUT',
      body: this.withTypeMeta(obj),
      query: this.writeQuery(o),
    });
  }

  /** PUT to the status subresource. */
  updateStatus(obj: T, o: WriteOptions = {}): Promise<T> {
    return this.client.request<T>(this.path(obj.metadata.namespace, obj.metadata.name, 'status'), {
      method: 'PUT',
      body: this.withTypeMeta(obj),
      query: this.writeQuery(o),
    });
  }

  /** A merge (default), JSON or strategic-merge patch. */
  patch(name: string, patch: unknown, o: PatchOptions = {}): Promise<T> {
    const type = o.type ?? 'merge';
    return this.client.request<T>(this.path(o.namespace, name, o.subresource), {
      method: 'PATCH',
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      query: this.writeQuery(o),
    });
  }

  patchStatus(name: string, patch: unknown, o: Omit<PatchOptions, 'subresource'> = {}): Promise<T> {
    return this.patch(name, patch, { ...o, subresource: 'status' });
  }

  /**
   * Server-side apply of `obj` (which holds only the fields this manager owns) under the
   * client's field manager.
   */
  apply(obj: Partial<T> & KubeObject, o: ApplyOptions = {}): Promise<T> {
    return this.client.request<T>(
      this.path(obj.metadata.namespace, obj.metadata.name, o.subresource),
      {
        method: 'PATCH',
        body: JSON.stringify(this.withTypeMeta(obj as T)),
        contentType: 'application/apply-patch+yaml',
        query: { ...this.writeQuery(o), force: o.force ? 'true' : undefined },
      },
    );
  }

  async delete(name: string, o: DeleteOptions = {}): Promise<void> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (o.preconditions) body.preconditions = o.preconditions;
    if (o.propagationPolicy) body.propagationPolicy = o.propagationPolicy;
    if (o.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = o.gracePeriodSeconds;
    if (o.dryRun) body.dryRun = ['All'];
    await this.client.request(this.path(o.namespace, name), { method: 'DELETE', body });
  }

  /** delete that treats NotFound as done. Returns whether something was deleted. */
  async deleteIfExists(name: string, o: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.delete(name, o);
      return true;
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return false;
      throw e;
    }
  }

  /** A raw watch stream. Informers build on this; most callers want an informer instead. */
  watch(o: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    return this.client.stream<WatchEvent<T>>(
      this.path(o.namespace),
      {
        query: {
          watch: 1,
          labelSelector: o.labelSelector,
          fieldSelector: o.fieldSelector,
          resourceVersion: o.resourceVersion,
          allowWatchBookmarks: o.allowWatchBookmarks ? 'true' : undefined,
          timeoutSeconds: o.timeoutSeconds,
        },
        signal: o.signal,
      },
      o.metadataOnly ? METADATA_ONLY_ACCEPT : 'application/json',
    );
  }

  private withTypeMeta(obj: T): T {
    return { ...obj, apiVersion: apiVersionOf(this.type), kind: this.type.kind };
  }
}
