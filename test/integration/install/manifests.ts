/**
 * Reading hwe's install artefacts for tests: rendered manifests (kustomize, Helm), the rights
 * they grant each ServiceAccount, and the table of docs/permissions.md those rights must equal.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PACKAGE_ROOT } from '../../../src/version.js';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  /** Non-resource URLs (`/metrics`): rows with no API group and the URL as the resource. */
  nonResourceURLs?: string[];
  resourceNames?: string[];
  verbs: string[];
}

interface Binding extends Manifest {
  roleRef: { kind: 'Role' | 'ClusterRole'; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

export const CONFIG_DIR = join(PACKAGE_ROOT, 'config');

/** Parses a multi-document YAML stream, skipping empty documents. */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => !!m && typeof m.kind === 'string');
}

/** Runs a program and returns its stdout; throws with its stderr when it fails. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, ...opts.env },
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/** One right: `sa|scope|group|resource|name|verb`, with `sa` as `namespace/name`. */
export type Right = string;

const right = (sa: string, scope: string, group: string, res: string, name: string, verb: string) =>
  [sa, scope, group, res, name, verb].join('|');

const split = (cell: string) =>
  cell
    .split(',')
    .map((s) => s.trim().replace(/^`|`$/g, ''))
    .filter(Boolean);

/** The rights the manifests grant, by ServiceAccount (`namespace/name`). */
export function grantedRights(manifests: Manifest[]): Map<string, Set<Right>> {
  const roles = new Map<string, Rule[]>();
  for (const m of manifests) {
    if (m.kind === 'ClusterRole')
      roles.set(`ClusterRole//${m.metadata.name}`, (m.rules as Rule[]) ?? []);
    if (m.kind === 'Role')
      roles.set(`Role/${m.metadata.namespace}/${m.metadata.name}`, (m.rules as Rule[]) ?? []);
  }
  const out = new Map<string, Set<Right>>();
  for (const m of manifests) {
    if (m.kind !== 'ClusterRoleBinding' && m.kind !== 'RoleBinding') continue;
    const b = m as Binding;
    const ns = b.metadata.namespace ?? '';
    const key =
      b.roleRef.kind === 'ClusterRole'
        ? `ClusterRole//${b.roleRef.name}`
        : `Role/${ns}/${b.roleRef.name}`;
    const rules = roles.get(key);
    if (!rules)
      throw new Error(
        `${m.kind} ${ns}/${m.metadata.name} refers to ${key}, which the manifests lack`,
      );
    for (const s of b.subjects ?? []) {
      if (s.kind !== 'ServiceAccount')
        throw new Error(`${m.kind} ${m.metadata.name} binds a ${s.kind}`);
      const sa = `${s.namespace}/${s.name}`;
      let scope = 'cluster';
      if (m.kind === 'RoleBinding') {
        if (ns !== s.namespace)
          throw new Error(
            `RoleBinding ${ns}/${m.metadata.name} grants ${sa} rights in another namespace`,
          );
        scope = 'ns';
      }
      const set = out.get(sa) ?? new Set<Right>();
      out.set(sa, set);
      for (const r of rules) {
        for (const g of r.apiGroups ?? [''])
          for (const res of [...(r.resources ?? []), ...(r.nonResourceURLs ?? [])])
            for (const name of r.resourceNames?.length ? r.resourceNames : [''])
              for (const v of r.verbs) set.add(right(sa, scope, g, res, name, v));
      }
    }
  }
  return out;
}

/** The rights docs/permissions.md lists, by ServiceAccount. */
export function documentedRights(
  markdown = readFileSync(join(PACKAGE_ROOT, 'docs', 'permissions.md'), 'utf8'),
): Map<string, Set<Right>> {
  const out = new Map<string, Set<Right>>();
  let inTable = false;
  for (const line of markdown.split('\n')) {
    if (/^\|\s*program\s*\|\s*service account\s*\|/.test(line)) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    if (!line.startsWith('|')) break;
    if (/^\|\s*-+/.test(line)) continue;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const [, sa, scope, group, resources, names, verbs] = cells as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const set = out.get(sa) ?? new Set<Right>();
    out.set(sa, set);
    for (const res of split(resources))
      for (const name of names ? split(names) : [''])
        for (const v of split(verbs)) set.add(right(sa, scope, group, res, name, v));
  }
  return out;
}

/** Rights of `a` missing from `b`, sorted, for assertion messages. */
export function missing(a: Set<Right> | undefined, b: Set<Right> | undefined): Right[] {
  return [...(a ?? [])].filter((r) => !b?.has(r)).sort();
}

/** Rules no hwe role may hold: wildcards, and listing or watching Secrets. */
export function forbiddenRules(manifests: Manifest[]): string[] {
  const bad: string[] = [];
  for (const m of manifests) {
    if (m.kind !== 'ClusterRole' && m.kind !== 'Role') continue;
    for (const r of (m.rules as Rule[]) ?? []) {
      const all = [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs];
      if (all.includes('*'))
        bad.push(`${m.kind} ${m.metadata.name}: wildcard in ${JSON.stringify(r)}`);
      if (r.resources?.includes('secrets') && r.verbs.some((v) => v === 'list' || v === 'watch'))
        bad.push(`${m.kind} ${m.metadata.name}: lists or watches Secrets`);
      if (r.verbs.some((v) => v === 'bind' || v === 'escalate' || v === 'impersonate'))
        bad.push(`${m.kind} ${m.metadata.name}: ${r.verbs.join(',')}`);
    }
  }
  return bad;
}
