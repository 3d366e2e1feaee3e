import { parse } from 'yaml';
import { decodeModprobe } from '../kernelmapping/decode.js';
import type { ModprobeSpec } from '../kernelmapping/types.js';
import { WorkerError } from './errors.js';

/**
 * The module-loading config a worker pod receives: upstream's `ModuleConfig` (the `config` of a
 * NodeModulesConfig entry), which the pod gets through a downward-API file. Same field names, so
 * configs written for upstream's worker load here unchanged.
 */
export interface WorkerConfig {
  kernelVersion?: string;
  containerImage?: string;
  imagePullPolicy?: string;
  insecurePull?: boolean;
  inTreeModulesToRemove?: string[];
  /** Deprecated upstream; used when `inTreeModulesToRemove` is not set. */
  inTreeModuleToRemove?: string;
  modprobe: ModprobeSpec;
}

export type WorkerAction = 'load' | 'unload';

/** Where the image keeps its modules when `modprobe.dirName` is not set. */
export const DEFAULT_DIR_NAME = '/opt';

const TOP_KEYS = new Set([
  'kernelVersion',
  'containerImage',
  'imagePullPolicy',
  'insecurePull',
  'inTreeModulesToRemove',
  'inTreeModuleToRemove',
  'modprobe',
]);
const MODPROBE_KEYS = new Set([
  'moduleName',
  'parameters',
  'dirName',
  'args',
  'rawArgs',
  'firmwarePath',
  'modulesLoadingOrder',
  'modprobedDir',
]);
const ARGS_KEYS = new Set(['load', 'unload']);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string): WorkerError {
  return new WorkerError('InvalidConfig', message);
}

// Upstream decodes strictly: a misspelt field is an error, not a silently ignored setting.
function checkKeys(o: Obj, allowed: Set<string>, at: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) {
      throw invalid(`${at}${k}: unknown field; known fields: ${[...allowed].join(', ')}`);
    }
  }
}

function optStrings(o: Obj, key: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw invalid(`${key}: must be a list of strings`);
  }
  return v as string[];
}

function optString(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${key}: must be a string, not ${typeof v}`);
  return v;
}

/** Parses and checks a worker config (YAML or JSON); throws WorkerError 'InvalidConfig'. */
export function parseWorkerConfig(text: string): WorkerConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw invalid(`not valid YAML: ${(e as Error).message}`);
  }
  if (!isObj(doc)) throw invalid('must be a map with a modprobe section');
  checkKeys(doc, TOP_KEYS, '');
  if (!isObj(doc.modprobe)) throw invalid('modprobe: required, a map');
  checkKeys(doc.modprobe, MODPROBE_KEYS, 'modprobe.');
  for (const k of ['args', 'rawArgs']) {
    const a = doc.modprobe[k];
    if (isObj(a)) checkKeys(a, ARGS_KEYS, `modprobe.${k}.`);
  }
  const modprobe = decodeModprobe(doc.modprobe, 'modprobe');
  if (!modprobe.ok) throw invalid(modprobe.error.message);
  const cfg: WorkerConfig = { modprobe: modprobe.value };
  const insecurePull = doc.insecurePull;
  if (insecurePull !== undefined && insecurePull !== null && typeof insecurePull !== 'boolean') {
    throw invalid('insecurePull: must be true or false');
  }
  const values: Partial<WorkerConfig> = {
    kernelVersion: optString(doc, 'kernelVersion'),
    containerImage: optString(doc, 'containerImage'),
    imagePullPolicy: optString(doc, 'imagePullPolicy'),
    insecurePull: typeof insecurePull === 'boolean' ? insecurePull : undefined,
    inTreeModulesToRemove: optStrings(doc, 'inTreeModulesToRemove'),
    inTreeModuleToRemove: optString(doc, 'inTreeModuleToRemove'),
  };
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined) (cfg as unknown as Obj)[k] = v;
  }
  return cfg;
}

/**
 * Checks what `action` needs, with the admission webhook's rules: `moduleName` or else
 * `rawArgs.<action>`; `modulesLoadingOrder` starts with `moduleName`, has no duplicates.
 */
export function checkWorkerConfig(cfg: WorkerConfig, action: WorkerAction): void {
  const m = cfg.modprobe;
  if (m.rawArgs) {
    if (!m.rawArgs[action]?.length) {
      throw invalid(
        `modprobe.rawArgs.${action}: empty; rawArgs replaces every argument of modprobe`,
      );
    }
    return;
  }
  if (!m.moduleName) throw invalid('modprobe.moduleName: required when rawArgs is not set');
  const order = m.modulesLoadingOrder;
  if (order?.length) {
    if (order[0] !== m.moduleName) {
      throw invalid(
        `modprobe.modulesLoadingOrder: must start with moduleName "${m.moduleName}", not "${order[0]}"`,
      );
    }
    const seen = new Set<string>();
    for (const name of order) {
      if (seen.has(name)) throw invalid(`modprobe.modulesLoadingOrder: "${name}" appears twice`);
      seen.add(name);
    }
  }
}

/** The in-tree modules to remove before loading, old singular field included. */
export function inTreeModulesOf(cfg: WorkerConfig): string[] {
  if (cfg.inTreeModulesToRemove) return cfg.inTreeModulesToRemove;
  return cfg.inTreeModuleToRemove ? [cfg.inTreeModuleToRemove] : [];
}
