import { OciError } from './errors.js';
import { DEFAULT_REGISTRY } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
}

/** One `auths` entry of a Docker config file, decoded. */
export interface RegistryAuth extends Partial<Credentials> {
  /** A token sent as a Bearer token to the token endpoint (`identitytoken`). */
  identityToken?: string;
  /** A token sent directly to the registry (`registrytoken`). */
  registryToken?: string;
}

/** `auths` keyed by what the user wrote: `quay.io`, `https://index.docker.io/v1/`, `host:5000/team`. */
export type DockerConfig = Map<string, RegistryAuth>;

/** Thrown for a config that does not parse; `field` names the path inside it. */
function bad(source: string, field: string, why: string): OciError {
  return new OciError('InvalidContent', `${source}: ${field}: ${why}`);
}

function decodeEntry(source: string, key: string, v: unknown): RegistryAuth {
  const field = `auths["${key}"]`;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw bad(source, field, 'must be an object');
  }
  const o = v as Record<string, unknown>;
  const out: RegistryAuth = {};
  for (const k of ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string')
      throw bad(source, `${field}.${k}`, 'must be a string');
  }
  if (typeof o.username === 'string' && o.username !== '') out.username = o.username;
  if (typeof o.password === 'string' && o.password !== '') out.password = o.password;
  if (typeof o.auth === 'string' && o.auth !== '') {
    const decoded = Buffer.from(o.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) {
      throw bad(source, `${field}.auth`, 'must be base64 of "username:password"');
    }
    out.username = decoded.slice(0, i);
    out.password = decoded.slice(i + 1);
  }
  if (typeof o.identitytoken === 'string' && o.identitytoken !== '') {
    out.identityToken = o.identitytoken;
  }
  if (typeof o.registrytoken === 'string' && o.registrytoken !== '') {
    out.registryToken = o.registrytoken;
  }
  return out;
}

/**
 * Parses a Docker config: the `.dockerconfigjson` form (`{"auths": {...}}`) or the older
 * `.dockercfg` form (the `auths` map itself). `source` names the file or Secret in errors.
 */
export function parseDockerConfig(text: string, source = 'docker config'): DockerConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(source, '(document)', `not JSON: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw bad(source, '(document)', 'must be a JSON object');
  }
  const o = doc as Record<string, unknown>;
  const auths = 'auths' in o ? o.auths : o;
  if (auths === null || typeof auths !== 'object' || Array.isArray(auths)) {
    throw bad(source, 'auths', 'must be an object keyed by registry');
  }
  const out: DockerConfig = new Map();
  for (const [k, v] of Object.entries(auths as Record<string, unknown>)) {
    out.set(k, decodeEntry(source, k, v));
  }
  return out;
}

/** The parts of a Secret this needs; the whole object from the API fits. */
export interface SecretLike {
  metadata?: { name?: string; namespace?: string };
  type?: string;
  data?: Record<string, string>;
}

/**
 * Reads the pull secret of a Module (`imageRepoSecret`) or a ServiceAccount: type
 * `kubernetes.io/dockerconfigjson` (key `.dockerconfigjson`) or `kubernetes.io/dockercfg`
 * (key `.dockercfg`), values base64 as the API returns them.
 */
export function dockerConfigFromSecret(secret: SecretLike): DockerConfig {
  const name = `Secret ${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  const data = secret.data ?? {};
  const key = data['.dockerconfigjson'] !== undefined ? '.dockerconfigjson' : '.dockercfg';
  const b64 = data[key];
  if (b64 === undefined) {
    throw new OciError(
      'InvalidContent',
      `${name}: data[".dockerconfigjson"] is missing; a pull secret must have type ` +
        'kubernetes.io/dockerconfigjson with that key (or kubernetes.io/dockercfg with .dockercfg)',
    );
  }
  return parseDockerConfig(Buffer.from(b64, 'base64').toString('utf8'), `${name} ${key}`);
}

/** Merges configs; entries of later configs win for the same key. */
export function mergeDockerConfigs(...configs: DockerConfig[]): DockerConfig {
  const out: DockerConfig = new Map();
  for (const c of configs) for (const [k, v] of c) out.set(k, v);
  return out;
}

const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Splits a config key into host and path prefix: `https://h:5000/v2/team` → h:5000, team. */
function splitKey(key: string): { host: string; path: string } {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  const slash = k.indexOf('/');
  let path = '';
  if (slash >= 0) {
    path = k.slice(slash + 1);
    k = k.slice(0, slash);
  }
  // Docker Hub's legacy key is https://index.docker.io/v1/; the version segment is no path.
  path = path.replace(/^v[12]\/?/, '').replace(/\/+$/, '');
  return { host: k.toLowerCase(), path };
}

function hostMatches(pattern: string, host: string): boolean {
  if (DOCKER_HUB_HOSTS.has(pattern) && DOCKER_HUB_HOSTS.has(host)) return true;
  if (!pattern.includes('*')) return pattern === host;
  // Kubelet's glob: `*` stands for exactly one DNS label; ports must agree.
  const [pHost, pPort] = pattern.split(/:(?=\d+$)/);
  const [hHost, hPort] = host.split(/:(?=\d+$)/);
  if (pPort !== hPort) return false;
  const pl = pHost!.split('.');
  const hl = hHost!.split('.');
  return pl.length === hl.length && pl.every((p, i) => p === '*' || p === hl[i]);
}

/**
 * The credentials for a repository, chosen as the kubelet chooses them: the key's host must
 * match (a `*` matches one DNS label), its path must be a prefix of the repository, and the
 * most specific key wins.
 */
export function credentialsFor(
  config: DockerConfig,
  registry: string,
  repository: string,
): RegistryAuth | undefined {
  const host = (registry === DEFAULT_REGISTRY ? 'docker.io' : registry).toLowerCase();
  let best: { auth: RegistryAuth; score: number } | undefined;
  for (const [key, auth] of config) {
    const { host: kh, path } = splitKey(key);
    if (!hostMatches(kh, host)) continue;
    if (path !== '' && repository !== path && !repository.startsWith(path + '/')) continue;
    const score = path.length * 2 + (kh.includes('*') ? 0 : 1);
    if (!best || score > best.score) best = { auth, score };
  }
  return best?.auth;
}
