/**
 * The dashboard's server: informer caches of the NFD and KMM objects and the Nodes, JSON views
 * computed from them (bounded, paged), change notices on a server-sent event stream, and the
 * page. Read-only: it never writes to the cluster, and never reads Secrets.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  ModuleImagesConfigs,
  Modules,
  NODE_NAME_LABEL,
  NodeFeatureRules,
  NodeFeatures,
  NodeModulesConfigs,
  NodeResourceTopologies,
  PreflightValidations,
  PreflightValidationsOCP,
  type Module,
  type NodeFeature,
  type NodeFeatureRule,
  type NodeResourceTopology,
  type PreflightValidation,
} from '../api/index.js';
import { generateServingCertificate } from '../pki/index.js';
import {
  apiServes,
  CertificateFiles,
  DelegatingAuth,
  indexers,
  InformerFactory,
  isLoopbackAddress,
  Nodes,
  silentLogger,
  typeName,
  type Informer,
  type KubeClient,
  type KubeObject,
  type Logger,
  type ResourceAttributes,
  type ResourceType,
  type UserInfo,
} from '../runtime/index.js';
import {
  evaluateRuleObject,
  kernelHistogram,
  matchesSelector,
  isReady,
  moduleOnNode,
  moduleRow,
  nodeMatches,
  nodeRow,
  nodeShownChanged,
  page,
  preflightRow,
  ruleRows,
  topologyRow,
  trimDashNmc,
  trimDashNode,
  groupLabels,
  type DashNmc,
  type DashNode,
} from './aggregate.js';
import {
  MAX_PAGE,
  type ChangeNotice,
  type ModuleRow,
  type NodeDetail,
  type NodeRow,
  type RolloutSeries,
  type RuleRow,
  type Summary,
} from './types.js';

export interface DashboardOptions {
  client: KubeClient;
  /** `host:port`; port 0 picks a free one. */
  listen: string;
  log?: Logger;
  /**
   * Whether each request needs a bearer token reviewed by the apiserver (TokenReview, then a
   * SubjectAccessReview per kind shown). Default: when `listen` is not loopback.
   */
  authenticate?: boolean;
  /** tls.crt and tls.key for HTTPS (re-read on change); default a self-signed pair when authenticating. */
  certDir?: string;
  /** How often change notices go out at most, in ms (default 500). */
  coalesceMs?: number;
  /** Rollout sampling period, in ms (default 5 s). */
  sampleMs?: number;
  /** How often kinds the cluster did not serve are looked up again, in ms (default 30 s). */
  discoverMs?: number;
  /** The page's file; default the one `npm run build` writes. */
  pageFile?: string;
}

/** The kinds the dashboard follows, by the name the views and notices use. */
const KINDS = {
  nodes: Nodes as ResourceType<DashNode>,
  nodefeatures: NodeFeatures,
  nodefeaturerules: NodeFeatureRules,
  modules: Modules,
  nodemodulesconfigs: NodeModulesConfigs,
  moduleimagesconfigs: ModuleImagesConfigs,
  preflightvalidations: PreflightValidations,
  preflightvalidationsocp: PreflightValidationsOCP,
  noderesourcetopologies: NodeResourceTopologies,
} as const;
type Kind = keyof typeof KINDS;

/** What each view reads; a viewer must be allowed to list each of them. */
const VIEW_KINDS: Record<string, Kind[]> = {
  nodes: ['nodes', 'nodefeatures', 'nodemodulesconfigs'],
  node: ['nodes', 'nodefeatures', 'nodemodulesconfigs', 'nodefeaturerules', 'modules'],
  rules: ['nodefeaturerules', 'nodefeatures'],
  modules: ['modules', 'nodes', 'nodemodulesconfigs', 'moduleimagesconfigs'],
  rollout: ['modules', 'nodes', 'nodemodulesconfigs'],
  preflight: ['preflightvalidations'],
  topology: ['noderesourcetopologies'],
  events: ['nodes'],
};

export const DEFAULT_PAGE_FILE = join(import.meta.dirname, '..', '..', 'dashboard', 'index.html');
const MAX_STREAMS = 200;
const MAX_POINTS = 720;

interface Stream {
  res: ServerResponse;
  kinds: Set<Kind> | undefined;
}

export class DashboardServer {
  private readonly log: Logger;
  private readonly factory: InformerFactory;
  private readonly informers = new Map<Kind, Informer<KubeObject>>();
  private readonly versions = new Map<Kind, number>();
  private readonly memo = new Map<string, { stamp: string; value: unknown }>();
  private readonly dirty = new Set<Kind>();
  private readonly streams = new Set<Stream>();
  private readonly series = new Map<string, [number, number, number][]>();
  private readonly auth: DelegatingAuth | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private sampleTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private discoverTimer: NodeJS.Timeout | undefined;
  private discovering = false;
  /** Kinds the cluster did not serve when last looked up. */
  private readonly unserved = new Map<Kind, ResourceType<KubeObject>>();
  private server: Server | undefined;
  private seq = 0;
  private page = '';
  private csp = '';
  /** Where it listens, once started. */
  url = '';

  constructor(private readonly opts: DashboardOptions) {
    this.log = opts.log ?? silentLogger;
    this.factory = new InformerFactory(opts.client, { log: this.log });
    const host = parseListen(opts.listen).host;
    const authenticate = opts.authenticate ?? !isLoopbackAddress(host);
    this.auth = authenticate ? new DelegatingAuth(opts.client) : undefined;
  }

  /** Starts the informers (of the kinds the cluster serves), waits for them, and listens. */
  async start(): Promise<void> {
    this.loadPage(this.opts.pageFile ?? DEFAULT_PAGE_FILE);
    for (const [kind, type] of Object.entries(KINDS) as [Kind, ResourceType<KubeObject>][]) {
      if (kind !== 'nodes' && !(await apiServes(this.opts.client, type))) {
        this.log.warn('kind not served; its view stays empty until its CRD is installed', {
          kind: typeName(type),
        });
        this.unserved.set(kind, type);
        continue;
      }
      this.follow(kind, type);
    }
    this.factory.start();
    await this.factory.waitForSync();
    this.sample();
    this.sampleTimer = setInterval(() => this.sample(), this.opts.sampleMs ?? 5000);
    this.heartbeat = setInterval(() => {
      for (const s of this.streams) s.res.write(': keep-alive\n\n');
    }, 25_000);
    this.discoverTimer = setInterval(() => void this.discover(), this.opts.discoverMs ?? 30_000);
    await this.listen();
  }

  /** Starts following a kind; an informer asked for while the factory runs starts at once. */
  private follow(kind: Kind, type: ResourceType<KubeObject>): void {
    const inf =
      kind === 'nodes'
        ? this.factory.informer(KINDS.nodes, { transform: trimDashNode })
        : kind === 'nodefeatures'
          ? this.factory.informer(NodeFeatures, {
              indexers: { byNode: indexers.byLabel(NODE_NAME_LABEL) },
            })
          : kind === 'nodemodulesconfigs'
            ? this.factory.informer<DashNmc>(NodeModulesConfigs, {
                transform: trimDashNmc,
              })
            : this.factory.informer(type);
    this.informers.set(kind, inf as unknown as Informer<KubeObject>);
    inf.addEventHandler({
      onAdd: () => this.changed(kind),
      onUpdate: (a, b) => {
        if (kind !== 'nodes' || nodeShownChanged(a, b)) {
          this.changed(kind);
        }
      },
      onDelete: () => this.changed(kind),
    });
  }

  /** Looks up the kinds not served at start again: a CRD installed later gets its view. */
  private async discover(): Promise<void> {
    if (this.discovering) return;
    this.discovering = true;
    try {
      for (const [kind, type] of this.unserved) {
        if (!(await apiServes(this.opts.client, type))) continue;
        this.unserved.delete(kind);
        this.log.info('kind now served; following it', { kind: typeName(type) });
        this.follow(kind, type);
        this.changed(kind);
      }
    } catch (e) {
      this.log.debug('looking up kinds failed; trying again later', { error: String(e) });
    } finally {
      this.discovering = false;
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.flushTimer);
    clearInterval(this.sampleTimer);
    clearInterval(this.heartbeat);
    clearInterval(this.discoverTimer);
    for (const s of this.streams) s.res.end();
    this.streams.clear();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.factory.stop();
  }

  private loadPage(file: string): void {
    let html: string;
    try {
      html = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(
        `the dashboard page ${file} cannot be read (${(e as Error).message}); run npm run build`,
      );
    }
    // The page's one inline script is allowed by its hash; nothing else runs or loads.
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(script).digest('base64');
    this.page = html;
    this.csp =
      `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; ` +
      "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";
  }

  private async listen(): Promise<void> {
    const { host, port } = parseListen(this.opts.listen);
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    let server: Server;
    let scheme = 'http';
    if (this.auth) {
      scheme = 'https';
      const files = this.opts.certDir
        ? new CertificateFiles(
            join(this.opts.certDir, 'tls.crt'),
            join(this.opts.certDir, 'tls.key'),
          )
        : undefined;
      const pair = files
        ? files.read()
        : (() => {
            const p = generateServingCertificate({ dnsNames: ['localhost'], ipAddresses: [] });
            return { cert: p.certPem, key: p.keyPem };
          })();
      server = createHttpsServer(pair, handler);
    } else {
      server = createServer(handler);
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    this.url = `${scheme}://${h}:${a.port}/`;
  }

  // -------------------------------------------------------------------------------------------
  // Changes

  private changed(kind: Kind): void {
    this.versions.set(kind, (this.versions.get(kind) ?? 0) + 1);
    this.dirty.add(kind);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), this.opts.coalesceMs ?? 500);
    }
  }

  private flush(): void {
    this.flushTimer = undefined;
    const kinds = [...this.dirty];
    this.dirty.clear();
    if (!kinds.length) return;
    if (kinds.some((k) => k === 'modules' || k === 'nodes' || k === 'nodemodulesconfigs')) {
      this.sample();
    }
    const notice: ChangeNotice = { seq: ++this.seq, kinds };
    for (const s of this.streams) {
      const shown = s.kinds ? kinds.filter((k) => s.kinds!.has(k)) : kinds;
      if (shown.length) {
        s.res.write(`data: ${JSON.stringify({ ...notice, kinds: shown })}\n\n`);
      }
    }
  }

  /**
   * A value computed from some kinds (and `input`), kept until one of them changes; one value
   * per name, so a new input replaces the last.
   */
  private cached<T>(name: string, kinds: Kind[], compute: () => T, input = ''): T {
    const stamp = `${kinds.map((k) => this.versions.get(k) ?? 0).join(',')}|${input}`;
    const m = this.memo.get(name);
    if (m && m.stamp === stamp) return m.value as T;
    const value = compute();
    this.memo.set(name, { stamp, value });
    return value;
  }

  private list<T extends KubeObject>(kind: Kind): T[] {
    return (this.informers.get(kind)?.list() ?? []) as T[];
  }

  private get<T extends KubeObject>(kind: Kind, name: string, ns?: string): T | undefined {
    return this.informers.get(kind)?.getByName(name, ns) as T | undefined;
  }

  private nodeFeaturesOf(node: string): NodeFeature[] {
    return (this.informers.get('nodefeatures')?.byIndex('byNode', node) ?? []) as NodeFeature[];
  }

  // -------------------------------------------------------------------------------------------
  // Views

  private sortedNodes(): DashNode[] {
    return this.cached('sortedNodes', ['nodes'], () =>
      this.list<DashNode>('nodes').sort((a, b) =>
        a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0,
      ),
    );
  }

  private nodeRowOf(n: DashNode): NodeRow {
    const name = n.metadata.name ?? '';
    return nodeRow(n, this.get('nodemodulesconfigs', name), this.nodeFeaturesOf(name).length > 0);
  }

  summary(): Omit<Summary, 'hidden'> {
    const nodes = this.sortedNodes();
    const topo = this.informers.get('noderesourcetopologies');
    return {
      nodes: nodes.length,
      ready: nodes.filter(isReady).length,
      nodeFeatures: this.informers.get('nodefeatures')?.size ?? 0,
      rules: this.informers.get('nodefeaturerules')?.size ?? 0,
      modules: this.informers.get('modules')?.size ?? 0,
      preflights:
        (this.informers.get('preflightvalidations')?.size ?? 0) +
        (this.informers.get('preflightvalidationsocp')?.size ?? 0),
      ...(topo ? { topologies: topo.size } : {}),
      kernels: this.cached('kernels', ['nodes'], () => kernelHistogram(nodes)),
    };
  }

  nodes(offset: number, limit: number, q: string) {
    const all = q
      ? this.cached(
          'filter',
          ['nodes'],
          () => this.sortedNodes().filter((n) => nodeMatches(n, q)),
          q,
        )
      : this.sortedNodes();
    const p = page(all, offset, limit);
    return { ...p, items: p.items.map((n) => this.nodeRowOf(n)) };
  }

  node(name: string): NodeDetail | undefined {
    const n = this.get<DashNode>('nodes', name);
    if (!n) return undefined;
    const nfs = this.nodeFeaturesOf(name);
    const nmc = this.get<DashNmc>('nodemodulesconfigs', name);
    const rules = this.list<NodeFeatureRule>('nodefeaturerules')
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1))
      .flatMap((r) => evaluateRuleObject(r, this.stableNodeFeatures(name, nfs)));
    const modules = this.list<Module>('modules')
      .filter((m) => matchesSelector(n.metadata.labels, m.spec.selector))
      .map((m) => ({
        namespace: m.metadata.namespace ?? '',
        name: m.metadata.name ?? '',
        ...moduleOnNode(m, n, nmc),
      }));
    return {
      row: this.nodeRowOf(n),
      groups: groupLabels(n.metadata.labels),
      nodeFeatures: nfs.map((nf) => ({
        namespace: nf.metadata.namespace ?? '',
        name: nf.metadata.name ?? '',
        labels: nf.metadata.labels ?? {},
        spec: nf.spec,
      })),
      rules,
      modules,
    };
  }

  /**
   * The same array object for a node's NodeFeatures while none of them changes, so rule results
   * cached on it are reused.
   */
  private readonly nfArrays = new Map<string, NodeFeature[]>();
  private stableNodeFeatures(node: string, nfs: NodeFeature[]): NodeFeature[] {
    const prev = this.nfArrays.get(node);
    if (prev && prev.length === nfs.length && prev.every((x, i) => x === nfs[i])) return prev;
    this.nfArrays.set(node, nfs);
    return nfs;
  }

  rules(): RuleRow[] {
    return this.cached('rules', ['nodefeaturerules', 'nodefeatures'], () => {
      const byNode = new Map<string, NodeFeature[]>();
      for (const nf of this.list<NodeFeature>('nodefeatures')) {
        const node = nf.metadata.labels?.[NODE_NAME_LABEL] ?? nf.metadata.name ?? '';
        let l = byNode.get(node);
        if (!l) byNode.set(node, (l = []));
        l.push(nf);
      }
      for (const node of this.nfArrays.keys()) if (!byNode.has(node)) this.nfArrays.delete(node);
      const stable = [...byNode].map(([node, nfs]) => this.stableNodeFeatures(node, nfs));
      return ruleRows(this.list('nodefeaturerules'), stable);
    });
  }

  modules(): ModuleRow[] {
    return this.cached(
      'modules',
      ['modules', 'nodes', 'nodemodulesconfigs', 'moduleimagesconfigs'],
      () => {
        const nodes = this.sortedNodes();
        return this.list<Module>('modules')
          .map((m) =>
            moduleRow(
              m,
              nodes,
              (n) => this.get('nodemodulesconfigs', n),
              this.get('moduleimagesconfigs', m.metadata.name!, m.metadata.namespace),
            ),
          )
          .sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
      },
    );
  }

  preflight() {
    return [
      ...this.list<PreflightValidation>('preflightvalidations').map((p) =>
        preflightRow(p, 'PreflightValidation'),
      ),
      ...this.list<PreflightValidation>('preflightvalidationsocp').map((p) =>
        preflightRow(p, 'PreflightValidationOCP'),
      ),
    ].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  topology(offset: number, limit: number) {
    const all = this.cached('topology', ['noderesourcetopologies'], () =>
      this.list<NodeResourceTopology>('noderesourcetopologies')
        .map(topologyRow)
        .sort((a, b) => (a.node < b.node ? -1 : 1)),
    );
    return page(all, offset, limit);
  }

  rollout(): RolloutSeries[] {
    return [...this.series].map(([module, points]) => ({ module, points }));
  }

  /** Records each Module's loaded/matched now, when it moved or a minute has passed. */
  private sample(): void {
    if (!this.informers.has('modules')) return;
    const now = Date.now();
    const rows = this.modules();
    const live = new Set(rows.map((r) => `${r.namespace}/${r.name}`));
    for (const k of this.series.keys()) if (!live.has(k)) this.series.delete(k);
    for (const r of rows) {
      const key = `${r.namespace}/${r.name}`;
      let pts = this.series.get(key);
      if (!pts) this.series.set(key, (pts = []));
      const last = pts[pts.length - 1];
      if (last && last[1] === r.loaded && last[2] === r.matched && now - last[0] < 60_000) {
        continue;
      }
      pts.push([now, r.loaded, r.matched]);
      if (pts.length > MAX_POINTS) pts.splice(0, pts.length - MAX_POINTS);
    }
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return reply(res, 405, { error: 'the dashboard is read-only: only GET is served' });
      }
      const url = new URL(req.url ?? '/', 'http://dashboard');
      const path = url.pathname;
      const view = path === '/' ? 'page' : /^\/api\/([a-z]+)/.exec(path)?.[1];
      let allowed: Set<Kind> | undefined;
      if (this.auth) {
        const who = await this.auth.authenticateRequest(req);
        if (who.status !== 200) return reply(res, who.status, { error: who.message });
        allowed = await this.allowedKinds(who.user);
        const detail = view === 'nodes' && path !== '/api/nodes' ? 'node' : view;
        const needs = detail && detail in VIEW_KINDS ? VIEW_KINDS[detail]! : [];
        const missing = needs.filter((k) => this.informers.has(k) && !allowed!.has(k));
        if (missing.length) {
          return reply(res, 403, {
            error: `Forbidden: user ${who.user.username} may not list ${missing.join(', ')}`,
          });
        }
      }
      const num = (name: string, def: number, max: number) => {
        const v = Number(url.searchParams.get(name) ?? def);
        return Number.isFinite(v) ? Math.max(0, Math.min(Math.floor(v), max)) : def;
      };
      const offset = num('offset', 0, Number.MAX_SAFE_INTEGER);
      const limit = num('limit', 100, MAX_PAGE);
      switch (path) {
        case '/':
          res.writeHead(200, {
            'Content-Type': 'text/html; charset=utf-8',
            'Content-Security-Policy': this.csp,
            'Cache-Control': 'no-store',
            'X-Content-Type-Options': 'nosniff',
            'Referrer-Policy': 'no-referrer',
          });
          return void res.end(this.page);
        case '/api/summary': {
          const hidden = Object.keys(KINDS).filter(
            (k) => allowed && this.informers.has(k as Kind) && !allowed.has(k as Kind),
          );
          const s = this.summary();
          return reply(res, 200, { ...s, hidden } satisfies Summary);
        }
        case '/api/nodes':
          return reply(res, 200, this.nodes(offset, limit, url.searchParams.get('q') ?? ''));
        case '/api/rules':
          return reply(res, 200, page(this.rules(), offset, limit));
        case '/api/modules':
          return reply(res, 200, page(this.modules(), offset, limit));
        case '/api/preflight':
          return reply(res, 200, page(this.preflight(), offset, limit));
        case '/api/topology':
          return reply(res, 200, this.topology(offset, limit));
        case '/api/rollout':
          return reply(res, 200, this.rollout());
        case '/api/events':
          return this.openStream(req, res, allowed);
      }
      if (path.startsWith('/api/nodes/')) {
        const d = this.node(decodeURIComponent(path.slice('/api/nodes/'.length)));
        return d ? reply(res, 200, d) : reply(res, 404, { error: 'no such node' });
      }
      reply(res, 404, { error: 'not found' });
    } catch (e) {
      this.log.error('request failed', { error: e, url: req.url });
      if (!res.headersSent) reply(res, 500, { error: 'internal error; see the server log' });
      else res.end();
    }
  }

  private async allowedKinds(user: UserInfo): Promise<Set<Kind>> {
    const out = new Set<Kind>();
    await Promise.all(
      [...this.informers.keys()].map(async (kind) => {
        const t = KINDS[kind];
        const attrs: ResourceAttributes = { group: t.group, resource: t.plural, verb: 'list' };
        if (await this.auth!.allowsResource(user, attrs)) out.add(kind);
      }),
    );
    return out;
  }

  private openStream(req: IncomingMessage, res: ServerResponse, allowed?: Set<Kind>): void {
    if (this.streams.size >= MAX_STREAMS) {
      return reply(res, 503, { error: `too many open event streams (${MAX_STREAMS})` });
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\ndata: ${JSON.stringify({ seq: this.seq, kinds: [] })}\n\n`);
    const s: Stream = { res, kinds: allowed };
    this.streams.add(s);
    req.on('close', () => this.streams.delete(s));
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseListen(a: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(a.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new Error(
      `--listen ${JSON.stringify(a)}: expected HOST:PORT, e.g. 127.0.0.1:8080 (or :8080 for every interface)`,
    );
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
