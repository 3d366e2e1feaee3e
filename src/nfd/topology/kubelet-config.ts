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
import { DecodeError, decode } from '../../api/decode.js';
import { arr, int32, map, obj, opt, quantity, str, type Static } from '../../api/schema.js';

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

const CPU_LIST = 'expected a CPU list such as "0,1" or "0-3"';
const NUMA_NODE = 'expected a NUMA node number';

/** The fields read here; the kubelet's many others are kept unread. */
const KubeletFile = obj({
  topologyManagerPolicy: opt(str()),
  topologyManagerScope: opt(str()),
  cpuManagerPolicy: opt(str()),
  memoryManagerPolicy: opt(str()),
  reservedSystemCPUs: opt(str()),
  reservedMemory: opt(arr(obj({ numaNode: int32(), limits: map(quantity()) }))),
});

/** The decoder's finding in the words this file has always used. */
function kubeletConfigError(e: DecodeError, file: string): KubeletConfigError {
  if (e.path === '')
    return new KubeletConfigError(`${file}: expected a KubeletConfiguration object`);
  const p = e.problem;
  const type = p?.kind === 'type' ? p.schema['type'] : undefined;
  const want = e.path.endsWith('.numaNode')
    ? NUMA_NODE
    : e.path.endsWith('.limits')
      ? 'expected a map such as {memory: 1Gi}'
      : e.path === 'reservedSystemCPUs'
        ? CPU_LIST
        : type === 'array'
          ? 'expected a list'
          : type === 'string' && p?.kind === 'type'
            ? `expected a string, got ${describeValue(p.value)}`
            : e.detail;
  return new KubeletConfigError(`${file}: field ${e.path}: ${want}`);
}

/** Parses the text of a kubelet configuration file (`file` is only for messages). */
export function parseKubeletConfig(text: string, file: string): KubeletTopologyConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new KubeletConfigError(`${file}: not YAML or JSON: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  let o: Static<typeof KubeletFile>;
  try {
    o = decode(KubeletFile, doc);
  } catch (e) {
    throw e instanceof DecodeError ? kubeletConfigError(e, file) : e;
  }
  const bad = (field: string, want: string) =>
    new KubeletConfigError(`${file}: field ${field}: ${want}`);
  const string = (field: keyof typeof KUBELET_DEFAULTS): string =>
    o[field] || KUBELET_DEFAULTS[field];
  let reservedSystemCPUs: number[] = [];
  if (o.reservedSystemCPUs !== undefined) {
    const ids = parseCpuList(o.reservedSystemCPUs);
    if (!ids) throw bad('reservedSystemCPUs', CPU_LIST);
    reservedSystemCPUs = ids;
  }
  const reservedMemory = new Map<number, Record<string, number>>();
  (o.reservedMemory ?? []).forEach((r, i) => {
    if (r.numaNode < 0) throw bad(`reservedMemory[${i}].numaNode`, NUMA_NODE);
    const limits = reservedMemory.get(r.numaNode) ?? {};
    for (const [name, q] of Object.entries(r.limits)) {
      const v = quantityValue(String(q));
      if (v === undefined || v < 0)
        throw bad(
          `reservedMemory[${i}].limits.${name}`,
          `${quoteValue(String(q))} is not a quantity`,
        );
      limits[name] = (limits[name] ?? 0) + v;
    }
    reservedMemory.set(r.numaNode, limits);
  });
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
