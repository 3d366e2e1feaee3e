import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KubeClient } from './client.js';

/** Who a bearer token belongs to, as the apiserver's TokenReview says. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** What a SubjectAccessReview asks about a kind of resource, e.g. list nodes. */
export interface ResourceAttributes {
  group: string;
  resource: string;
  verb: string;
  namespace?: string;
}

/** The answer to one request: serve it (200), or refuse it with 401, 403 or 500. */
export type AuthDecision =
  { status: 200; user: UserInfo } | { status: 401 | 403 | 500; message: string };

export interface DelegatingAuthOptions {
  /**
   * How long an answer of the apiserver is reused, in ms (default 10 s; 0 asks every time).
   * Prometheus scrapes every 30 s or so with the same token: the cache spares the apiserver
   * two reviews per scrape without keeping a revoked permission for long. Errors are never
   * cached.
   */
  cacheTtlMs?: number;
  /** Most answers kept per kind (default 256); the oldest go first. */
  cacheEntries?: number;
  now?: () => number;
}

/** HTTP method to the verb of a SubjectAccessReview, as the apiserver maps them. */
export function verbFor(method: string | undefined): string {
  switch ((method ?? 'GET').toUpperCase()) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'get';
  }
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
    while (this.entries.size > this.max) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }
}

interface TokenReview {
  status?: { authenticated?: boolean; user?: UserInfo; error?: string };
}

interface SubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

/**
 * Authenticates a request's bearer token with a TokenReview and authorizes it with a
 * SubjectAccessReview on the non-resource URL it asks for, as controller-runtime's secure
 * metrics filter (and kube-rbac-proxy) do: no or unknown token 401, not allowed 403. The
 * process needs `create` on tokenreviews and subjectaccessreviews. Tokens are kept in the cache
 * only as SHA-256 digests.
 */
export class DelegatingAuth {
  private readonly tokens: TtlCache<UserInfo | null>;
  private readonly grants: TtlCache<boolean>;

  constructor(
    private readonly client: KubeClient,
    opts: DelegatingAuthOptions = {},
  ) {
    const ttl = opts.cacheTtlMs ?? 10_000;
    const max = opts.cacheEntries ?? 256;
    const now = opts.now ?? Date.now;
    this.tokens = new TtlCache(ttl, max, now);
    this.grants = new TtlCache(ttl, max, now);
  }

  async check(req: IncomingMessage): Promise<AuthDecision> {
    const who = await this.authenticateRequest(req);
    if (who.status !== 200) return who;
    const user = who.user;
    const path = (req.url ?? '/').split('?')[0]!;
    const verb = verbFor(req.method);
    let allowed: boolean;
    try {
      allowed = await this.authorize(user, { nonResourceAttributes: { path, verb } });
    } catch {
      return { status: 500, message: 'Internal Server Error: access could not be reviewed' };
    }
    if (!allowed) {
      return {
        status: 403,
        message: `Forbidden (user=${user.username}, verb=${verb}, path=${path})`,
      };
    }
    return { status: 200, user };
  }

  /** The user of a request's bearer token (TokenReview): 200 with the user, or 401/500. */
  async authenticateRequest(req: IncomingMessage): Promise<AuthDecision> {
    const token = bearerToken(req.headers.authorization);
    if (!token) return { status: 401, message: 'Unauthorized: a bearer token is required' };
    let user: UserInfo | null;
    try {
      user = await this.authenticate(token);
    } catch {
      return { status: 500, message: 'Internal Server Error: the token could not be reviewed' };
    }
    if (!user) return { status: 401, message: 'Unauthorized' };
    return { status: 200, user };
  }

  /**
   * Whether the user may act on a kind of resource (SubjectAccessReview with resource
   * attributes, cached as the other answers); throws when the apiserver cannot answer.
   */
  allowsResource(user: UserInfo, attrs: ResourceAttributes): Promise<boolean> {
    return this.authorize(user, { resourceAttributes: attrs });
  }

  private async authenticate(token: string): Promise<UserInfo | null> {
    const key = createHash('sha256').update(token).digest('base64');
    const cached = this.tokens.get(key);
    if (cached !== undefined) return cached;
    const review = await this.client.request<TokenReview>(
      '/apis/authentication.k8s.io/v1/tokenreviews',
      {
        method: 'POST',
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token },
        },
      },
    );
    const user =
      review.status?.authenticated && review.status.user?.username ? review.status.user : null;
    this.tokens.set(key, user);
    return user;
  }

  private async authorize(
    user: UserInfo,
    attributes:
      | { nonResourceAttributes: { path: string; verb: string } }
      | { resourceAttributes: ResourceAttributes },
  ): Promise<boolean> {
    const key = JSON.stringify([user.username, user.uid, user.groups, user.extra, attributes]);
    const cached = this.grants.get(key);
    if (cached !== undefined) return cached;
    const review = await this.client.request<SubjectAccessReview>(
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        method: 'POST',
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            uid: user.uid,
            groups: user.groups,
            extra: user.extra,
            ...attributes,
          },
        },
      },
    );
    const allowed = review.status?.allowed === true;
    this.grants.set(key, allowed);
    return allowed;
  }
}
