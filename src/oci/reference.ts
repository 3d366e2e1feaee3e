import { OciError } from './errors.js';
import { quoteValue } from '../runtime/quote.js';

/**
 * An image reference, normalised as Docker does it: `busybox` is
 * `docker.io/library/busybox`, `quay.io/org/app:v1` keeps its registry, a host with a port
 * (`127.0.0.1:5000/app`) or the name `localhost` is a registry, not a repository component.
 */
export interface ImageReference {
  /** Registry as written by users (`docker.io`, `quay.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  repository: string;
  tag?: string;
  /** `algorithm:hex`; when both tag and digest are given, the digest is what gets pulled. */
  digest?: string;
}

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

// The grammar of github.com/distribution/reference, written out piece by piece.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`,
);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const HEX64 = /^[a-f0-9]{64}$/;
const MAX_NAME = 255;
const MAX_INPUT = 4096;

function invalid(input: string, why: string): OciError {
  return new OciError('InvalidReference', `invalid image reference ${quoteValue(input)}: ${why}`);
}

/** Checks a digest string (`sha256:<64 hex>`), returning an explanation or undefined. */
export function digestProblem(digest: string): string | undefined {
  if (!DIGEST_RE.test(digest))
    return `digest ${quoteValue(digest)} is not of the form algorithm:hex`;
  const [alg, hex] = digest.split(':') as [string, string];
  if (alg === 'sha256' && !/^[a-f0-9]{64}$/.test(hex)) {
    return `sha256 digest ${quoteValue(digest)} must have 64 lowercase hex characters`;
  }
  if (alg === 'sha512' && !/^[a-f0-9]{128}$/.test(hex)) {
    return `sha512 digest ${quoteValue(digest)} must have 128 lowercase hex characters`;
  }
  return undefined;
}

/** Parses `[registry/]repository[:tag][@digest]`; throws OciError('InvalidReference'). */
export function parseReference(input: string): ImageReference {
  const s = input.trim();
  if (s === '') throw invalid(input, 'it is empty');
  if (s.length > MAX_INPUT) throw invalid(s, 'it is too long');
  if (/\s/.test(s)) throw invalid(input, 'it contains white space');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem) throw invalid(input, problem);
  }
  // A tag follows the last ':' that comes after the last '/', so a port is never a tag.
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) {
      throw invalid(
        input,
        `tag ${quoteValue(tag)} must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`,
      );
    }
  }
  if (rest === '') throw invalid(input, 'the repository name is missing');

  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a registry when it looks like a host name.
    if (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first) {
      registry = first;
      repository = rest.slice(slash + 1);
      if (!DOMAIN_RE.test(registry))
        throw invalid(input, `registry ${quoteValue(registry)} is not a host[:port]`);
    }
  }
  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  if (repository === '') throw invalid(input, 'the repository name is missing');
  if (repository.toLowerCase() !== repository) {
    throw invalid(input, `repository name ${quoteValue(repository)} must be lowercase`);
  }
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) {
    repository = `library/${repository}`;
  }
  if (!PATH_RE.test(repository)) {
    throw invalid(
      input,
      `repository ${quoteValue(repository)} must be lowercase letters and digits separated by '/', '.', '_', '__' or '-'`,
    );
  }
  if (HEX64.test(repository.replace(/^library\//, ''))) {
    throw invalid(input, 'a repository name cannot be a 64-character hexadecimal string');
  }
  if (registry.length + 1 + repository.length > MAX_NAME) {
    throw invalid(input, `the name is longer than ${MAX_NAME} characters`);
  }
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The manifest to ask for: the digest when there is one, else the tag, else `latest`. */
export function manifestTarget(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** `registry/repository[:tag][@digest]`, fully qualified. */
export function formatReference(ref: ImageReference): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Docker Hub's API lives on another host than the name users write. */
export function registryApiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : registry;
}
