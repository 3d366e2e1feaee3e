/**
 * The updater's configuration file (`-config`): `excludeList`, resource names to leave out of
 * the zones, for every node (`'*'`) or for one node by name.
 *
 *   excludeList:
 *     '*': [hugepages-1Gi]
 *     worker-1: [memory]
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DecodeError, decode } from '../../api/decode.js';
import { arr, map, obj, opt, str, type Static } from '../../api/schema.js';

export class TopologyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyConfigError';
  }
}

/** The file's schema: node name (or `*`) → resource names; nothing else. */
const ConfigFile = obj({ excludeList: opt(map(arr(str()))) });

/** The decoder's finding in the words this file has always used. */
function configError(e: DecodeError, file: string): TopologyConfigError {
  const p = e.problem;
  const want =
    p?.kind === 'unknown'
      ? `unknown field ${e.path}; the only field is excludeList`
      : e.path === ''
        ? 'expected a map with the key excludeList'
        : e.path === 'excludeList'
          ? "field excludeList: expected a map of node name (or '*') to resource names"
          : `field ${e.path.replace(/\[\d+\]$/, '')}: expected a list of resource names, e.g. [memory]`;
  return new TopologyConfigError(`${file}: ${want}`);
}

/** The names excluded on `nodeName`, from the file's text (`file` is only for messages). */
export function parseExcludeList(text: string, file: string, nodeName: string): Set<string> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new TopologyConfigError(`${file}: not YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return new Set();
  let cfg: Static<typeof ConfigFile>;
  try {
    cfg = decode(ConfigFile, doc, { strict: true });
  } catch (e) {
    throw e instanceof DecodeError ? configError(e, file) : e;
  }
  const out = new Set<string>();
  for (const [node, names] of Object.entries(cfg.excludeList ?? {}))
    if (node === '*' || node === nodeName) for (const n of names) out.add(n);
  return out;
}

/** Reads the file; a missing file means no exclusions. */
export function readExcludeList(file: string, nodeName: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw new TopologyConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return parseExcludeList(text, file, nodeName);
}
