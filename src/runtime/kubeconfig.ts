import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { type ExecConfig, ExecCredentialError, parseExecConfig } from './exec-credential.js';

/** Everything needed to reach one apiserver as one identity. */
export interface ClusterAccess {
  server: string;
  /** PEM CA bundle to verify the server; absent means the system roots. */
  ca?: string;
  insecureSkipTLSVerify?: boolean;
  token?: string;
  /** A token file re-read periodically (projected service-account tokens rotate). */
  tokenFile?: string;
  cert?: string;
  key?: string;
  /** A credential plugin that prints a token or client certificate (kubectl's `exec`). */
  exec?: ExecConfig;
  /** Where this came from, for messages. */
  source: string;
  /** Namespace of the context (or of the service account in a pod). */
  namespace?: string;
}

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

interface NamedEntry {
  name: string;
}

interface RawKubeconfig {
  'current-context'?: string;
  clusters?: { name: string; cluster?: Record<string, unknown> }[];
  users?: { name: string; user?: Record<string, unknown> }[];
  contexts?: { name: string; context?: Record<string, unknown> }[];
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function str(o: Record<string, unknown> | undefined, k: string): string | undefined {
  const v = o?.[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function fromB64(v: string | undefined): string | undefined {
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

function readRel(base: string, p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  return readFileSync(isAbsolute(p) ? p : resolve(dirname(base), p), 'utf8');
}

function find<T extends { name: string }>(list: T[] | undefined, name: string): T | undefined {
  return list?.find((e) => e.name === name);
}

/** Merges kubeconfig files as kubectl does for KUBECONFIG=a:b: the first definition of a name wins. */
function loadMerged(files: string[]): { raw: RawKubeconfig; origin: Map<unknown, string> } {
  const raw: RawKubeconfig = { clusters: [], users: [], contexts: [] };
  const origin = new Map<unknown, string>();
  for (const f of files) {
    let doc: RawKubeconfig;
    try {
      doc = (parse(readFileSync(f, 'utf8')) ?? {}) as RawKubeconfig;
    } catch (e) {
      throw new KubeconfigError(`kubeconfig ${f}: ${(e as Error).message}`);
    }
    raw['current-context'] ??= doc['current-context'] || undefined;
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of (doc[key] ?? []) as NamedEntry[]) {
        const list = raw[key] as NamedEntry[];
        if (!find(list, entry.name)) {
          list.push(entry);
          origin.set(entry, f);
        }
      }
    }
  }
  return { raw, origin };
}

/** Reads a kubeconfig (or several, merged) and returns the access for the chosen context. */
export function loadKubeconfig(files: string[], contextName?: string): ClusterAccess {
  const { raw, origin } = loadMerged(files);
  const ctxName = contextName ?? raw['current-context'];
  const where = files.join(':');
  if (!ctxName)
    throw new KubeconfigError(`kubeconfig ${where}: no current-context set; pass a context`);
  const ctx = find(raw.contexts, ctxName);
  if (!ctx) throw new KubeconfigError(`kubeconfig ${where}: context "${ctxName}" not found`);
  const clusterName = str(ctx.context, 'cluster');
  const userName = str(ctx.context, 'user');
  const cluster = clusterName ? find(raw.clusters, clusterName) : undefined;
  if (!cluster?.cluster) {
    throw new KubeconfigError(
      `kubeconfig ${where}: cluster "${clusterName ?? ''}" of context "${ctxName}" not found`,
    );
  }
  const user = userName ? find(raw.users, userName) : undefined;
  const cfile = origin.get(cluster) ?? files[0]!;
  const ufile = (user && origin.get(user)) ?? files[0]!;
  const c = cluster.cluster;
  const u = user?.user;
  const server = str(c, 'server');
  if (!server)
    throw new KubeconfigError(`kubeconfig ${cfile}: cluster "${clusterName}" has no server`);
  if (u?.['auth-provider']) {
    throw new KubeconfigError(
      `kubeconfig ${ufile}: user "${userName}" uses an auth-provider plugin, which hwe does not run ` +
        "(kubectl dropped its gcp and azure ones); use the provider's exec plugin (user.exec) or a token",
    );
  }
  const ca =
    fromB64(str(c, 'certificate-authority-data')) ??
    readRel(cfile, str(c, 'certificate-authority'));
  let exec: ExecConfig | undefined;
  if (u?.exec !== undefined) {
    try {
      exec = parseExecConfig(u.exec, `kubeconfig ${ufile} user "${userName}"`, dirname(ufile), {
        server,
        ...(ca ? { 'certificate-authority-data': Buffer.from(ca).toString('base64') } : {}),
        ...(c['insecure-skip-tls-verify'] === true ? { 'insecure-skip-tls-verify': true } : {}),
      });
    } catch (e) {
      if (e instanceof ExecCredentialError) throw new KubeconfigError(e.message);
      throw e;
    }
  }
  return {
    ...(exec ? { exec } : {}),
    server: server.replace(/\/+$/, ''),
    ca,
    insecureSkipTLSVerify: c['insecure-skip-tls-verify'] === true,
    token: str(u, 'token'),
    tokenFile: str(u, 'tokenFile') ? resolve(dirname(ufile), str(u, 'tokenFile')!) : undefined,
    cert:
      fromB64(str(u, 'client-certificate-data')) ?? readRel(ufile, str(u, 'client-certificate')),
    key: fromB64(str(u, 'client-key-data')) ?? readRel(ufile, str(u, 'client-key')),
    namespace: str(ctx.context, 'namespace'),
    source: `kubeconfig ${where} (context ${ctxName})`,
  };
}

/** The service account of the pod this runs in. */
export function inClusterAccess(
  env: NodeJS.ProcessEnv = process.env,
  saDir = SA_DIR,
): ClusterAccess | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port || !existsSync(join(saDir, 'token'))) return undefined;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${h}:${port}`,
    ca: readFileSync(join(saDir, 'ca.crt'), 'utf8'),
    tokenFile: join(saDir, 'token'),
    namespace: existsSync(join(saDir, 'namespace'))
      ? readFileSync(join(saDir, 'namespace'), 'utf8').trim()
      : undefined,
    source: 'in-cluster service account',
  };
}

/**
 * Where to find the cluster, in the order every hwe program uses: --kubeconfig, then
 * KUBECONFIG, then the pod's service account, then ~/.kube/config.
 */
export function resolveAccess(
  opts: { kubeconfig?: string; context?: string; env?: NodeJS.ProcessEnv } = {},
): ClusterAccess {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig))
      throw new KubeconfigError(`--kubeconfig ${opts.kubeconfig}: no such file`);
    return loadKubeconfig([opts.kubeconfig], opts.context);
  }
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(':').filter((f) => f !== '' && existsSync(f));
    if (!files.length)
      throw new KubeconfigError(`KUBECONFIG=${env.KUBECONFIG}: none of these files exists`);
    return loadKubeconfig(files, opts.context);
  }
  const inCluster = inClusterAccess(env);
  if (inCluster) return inCluster;
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return loadKubeconfig([home], opts.context);
  throw new KubeconfigError(
    'no cluster to talk to: pass --kubeconfig FILE, set KUBECONFIG, run in a pod, or create ~/.kube/config',
  );
}

/** A kubeconfig document for a token identity, as the local control plane writes it. */
export function kubeconfigYaml(a: {
  server: string;
  ca: string;
  token: string;
  name?: string;
}): string {
  const name = a.name ?? 'hwe';
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: a.server,
          'certificate-authority-data': Buffer.from(a.ca).toString('base64'),
        },
      },
    ],
    users: [{ name, user: { token: a.token } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
