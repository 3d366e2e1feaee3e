import { parse } from 'yaml';
import { DecodeError, decode } from '../../api/decode.js';
import { isMap } from '../../runtime/objects.js';
import { ModprobeSpec, ModuleConfig } from '../../api/kmm.js';
import { obj, opt, str, type Static } from '../../api/schema.js';
import { WorkerError } from './errors.js';
import { quoteValue } from '../../runtime/quote.js';

/**
 * The module-loading config a worker pod receives: upstream's `ModuleConfig` (the `config` of a
 * NodeModulesConfig entry), which the pod gets through a downward-API file. Same field names, so
 * configs written for upstream's worker load here unchanged.
 */
const WorkerConfigSchema = obj({
  ...ModuleConfig.properties,
  modprobe: obj({
    ...ModprobeSpec.properties,
    modprobedDir: opt(str({ description: "The image's modprobe.d directory, for softdeps." })),
  }),
});
type WorkerConfigDoc = Static<typeof WorkerConfigSchema>;
export type WorkerConfig = Partial<WorkerConfigDoc> & Pick<WorkerConfigDoc, 'modprobe'>;

export type WorkerAction = 'load' | 'unload';

/** Where the image keeps its modules when `modprobe.dirName` is not set. */
export const DEFAULT_DIR_NAME = '/opt';

function invalid(message: string): WorkerError {
  return new WorkerError('InvalidConfig', message);
}

/**
 * Parses and checks a worker config (YAML or JSON) against the API's ModuleConfig, strictly as
 * upstream decodes it: a misspelt field is an error, not a silently ignored setting. Throws
 * WorkerError 'InvalidConfig'.
 */
export function parseWorkerConfig(text: string): WorkerConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw invalid(`not valid YAML: ${(e as Error).message}`);
  }
  if (!isMap(doc)) throw invalid('must be a map with a modprobe section');
  try {
    const cfg = decode(WorkerConfigSchema, doc, { strict: true, required: false });
    if (!cfg.modprobe) throw invalid('modprobe: required, a map');
    return { ...cfg, modprobe: cfg.modprobe };
  } catch (e) {
    if (e instanceof DecodeError) throw invalid(e.message);
    throw e;
  }
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
        `modprobe.modulesLoadingOrder: must start with moduleName ${quoteValue(m.moduleName)}, not ${quoteValue(order[0])}`,
      );
    }
    const seen = new Set<string>();
    for (const name of order) {
      if (seen.has(name))
        throw invalid(`modprobe.modulesLoadingOrder: ${quoteValue(name)} appears twice`);
      seen.add(name);
    }
  }
}

/** The in-tree modules to remove before loading, old singular field included. */
export function inTreeModulesOf(cfg: WorkerConfig): string[] {
  if (cfg.inTreeModulesToRemove) return cfg.inTreeModulesToRemove;
  return cfg.inTreeModuleToRemove ? [cfg.inTreeModuleToRemove] : [];
}
