/**
 * The operand RBAC shipped in config/nfd/operands: one YAML file per operand holding its
 * ClusterRole and/or Role. The operator renders them per deployment; kustomize applies the
 * same files, so the permissions have one source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PACKAGE_ROOT } from '../../version.js';
import { COMPONENTS } from './constants.js';
import type { OperandRbac, PolicyRule } from './render.js';

export const OPERAND_RBAC_DIR = join(PACKAGE_ROOT, 'config', 'nfd', 'operands');

interface RoleDoc {
  kind?: string;
  metadata?: { name?: string };
  rules?: PolicyRule[];
}

/** Reads `<dir>/<component>.yaml` for every operand; a missing or malformed file throws. */
export function loadOperandRbac(dir = OPERAND_RBAC_DIR): OperandRbac {
  const out = {} as OperandRbac;
  for (const c of COMPONENTS) {
    const file = join(dir, `${c}.yaml`);
    const entry: OperandRbac[typeof c] = {};
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const role = doc.toJS() as RoleDoc | null;
      if (!role) continue;
      if (role.metadata?.name !== c || !Array.isArray(role.rules)) {
        throw new Error(`${file}: expected a ClusterRole or Role named ${c} with rules`);
      }
      if (role.kind === 'ClusterRole') entry.cluster = role.rules;
      else if (role.kind === 'Role') entry.namespaced = role.rules;
      else throw new Error(`${file}: kind ${String(role.kind)} is neither ClusterRole nor Role`);
    }
    out[c] = entry;
  }
  return out;
}
