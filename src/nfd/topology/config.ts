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

export class TopologyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyConfigError';
  }
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
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new TopologyConfigError(`${file}: expected a map with the key excludeList`);
  for (const key of Object.keys(doc))
    if (key !== 'excludeList')
      throw new TopologyConfigError(`${file}: unknown field ${key}; the only field is excludeList`);
  const list = (doc as { excludeList?: unknown }).excludeList;
  if (list === undefined || list === null) return new Set();
  if (typeof list !== 'object' || Array.isArray(list))
    throw new TopologyConfigError(
      `${file}: field excludeList: expected a map of node name (or '*') to resource names`,
    );
  const out = new Set<string>();
  for (const [node, names] of Object.entries(list as Record<string, unknown>)) {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))
      throw new TopologyConfigError(
        `${file}: field excludeList.${node}: expected a list of resource names, e.g. [memory]`,
      );
    if (node === '*' || node === nodeName) for (const n of names as string[]) out.add(n);
  }
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
