/**
 * The parts of the kubelet's configuration file (KubeletConfiguration, YAML or JSON) that shape a
 * node's topology: the topology manager's policy and scope, the CPU and memory manager policies,
 * and the CPUs and per-NUMA memory the kubelet keeps for the system.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { quantityValue } from '../master/node-update.js';
import { parseCpuList } from './sysfs.js';
import { describeValue, quoteValue } from '../../runtime/quote.js';

export interface KubeletTopologyConfig {
  topologyManagerPolicy: string;
  topologyManagerScope: string;
  cpuManagerPolicy: string;
  memoryManagerPolicy: string;
  /** `reservedSystemCPUs`, as CPU ids. */
  reservedSystemCPUs: number[];
  /** `reservedMemory`: NUMA node → resource name → bytes. */
  reservedMemory: Map<number, Record<string, number>>;
}

/** A kubelet configuration that cannot be read or used; the message names the file and field. */
export class KubeletConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeletConfigError';
  }
}

/** The kubelet's defaults for the fields above. */
export const KUBELET_DEFAULTS = {
  topologyManagerPolicy: 'none',
  topologyManagerScope: 'container',
  cpuManagerPolicy: 'none',
  memoryManagerPolicy: 'None',
} as const;

/** Parses the text of a kubelet configuration file (`file` is only for messages). */
export function parseKubeletConfig(text: string, file: string): KubeletTopologyConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new KubeletConfigError(`${file}: not YAML or JSON: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new KubeletConfigError(`${file}: expected a KubeletConfiguration object`);
  const o = doc as Record<string, unknown>;
  const bad = (field: string, want: string) =>
    new KubeletConfigError(`${file}: field ${field}: ${want}`);
  const string = (field: keyof typeof KUBELET_DEFAULTS): string => {
    const v = o[field];
    if (v === undefined || v === null || v === '') return KUBELET_DEFAULTS[field];
    if (typeof v !== 'string') throw bad(field, `expected a string, got ${describeValue(v)}`);
    return v;
  };
  let reservedSystemCPUs: number[] = [];
  if (o.reservedSystemCPUs !== undefined && o.reservedSystemCPUs !== null) {
    const ids =
      typeof o.reservedSystemCPUs === 'string' ? parseCpuList(o.reservedSystemCPUs) : undefined;
    if (!ids) throw bad('reservedSystemCPUs', 'expected a CPU list such as "0,1" or "0-3"');
    reservedSystemCPUs = ids;
  }
  const reservedMemory = new Map<number, Record<string, number>>();
  if (o.reservedMemory !== undefined && o.reservedMemory !== null) {
    if (!Array.isArray(o.reservedMemory)) throw bad('reservedMemory', 'expected a list');
    o.reservedMemory.forEach((r: unknown, i) => {
      const at = `reservedMemory[${i}]`;
      const e = (r ?? {}) as { numaNode?: unknown; limits?: unknown };
      if (typeof e.numaNode !== 'number' || !Number.isInteger(e.numaNode) || e.numaNode < 0)
        throw bad(`${at}.numaNode`, 'expected a NUMA node number');
      if (!e.limits || typeof e.limits !== 'object')
        throw bad(`${at}.limits`, 'expected a map such as {memory: 1Gi}');
      const limits = reservedMemory.get(e.numaNode) ?? {};
      for (const [name, q] of Object.entries(e.limits as Record<string, unknown>)) {
        const v = quantityValue(String(q));
        if (v === undefined || v < 0)
          throw bad(`${at}.limits.${name}`, `${quoteValue(String(q))} is not a quantity`);
        limits[name] = (limits[name] ?? 0) + v;
      }
      reservedMemory.set(e.numaNode, limits);
    });
  }
  return {
    topologyManagerPolicy: string('topologyManagerPolicy'),
    topologyManagerScope: string('topologyManagerScope'),
    cpuManagerPolicy: string('cpuManagerPolicy'),
    memoryManagerPolicy: string('memoryManagerPolicy'),
    reservedSystemCPUs,
    reservedMemory,
  };
}

export function readKubeletConfig(file: string): KubeletTopologyConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KubeletConfigError(
      `cannot read the kubelet configuration ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
        'mount the host file there or set -kubelet-config-file',
    );
  }
  return parseKubeletConfig(text, file);
}
