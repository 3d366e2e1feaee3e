/**
 * The NUMA layout of the host from sysfs: each node's CPUs, distances to the other nodes, total
 * memory and huge pages (`sys/bus/node/devices/nodeN/{cpulist,distance,meminfo,hugepages}`).
 */
import { join, listDir, readText, readTrim } from '../worker/hostfs.js';
import { hugepageQuantity } from '../worker/sources/memory.js';
import { quoteValue } from '../../runtime/quote.js';

export interface NumaNode {
  id: number;
  /** Logical CPU ids of the node, ascending. */
  cpus: number[];
  /** Distance to each node, indexed by node id (the node's own entry included, usually 10). */
  distances: number[];
  /** Bytes by resource name: `memory` (MemTotal) and `hugepages-<size>` (pages × size). */
  memory: Record<string, number>;
}

export interface NumaTopology {
  nodes: NumaNode[];
}

/** Thrown when the sysfs tree holds no NUMA nodes or an unreadable one; names the path. */
export class SysfsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SysfsError';
  }
}

/** A kernel cpulist (`0-3,8,10-11`) as ids; undefined when it is not one. */
export function parseCpuList(text: string): number[] | undefined {
  const s = text.trim();
  if (s === '') return [];
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out.sort((a, b) => a - b);
}

/** `Node 0 MemTotal:  32718644 kB` → bytes. */
function memTotal(meminfo: string | undefined): number | undefined {
  const m = meminfo && /^Node\s+\d+\s+MemTotal:\s+(\d+)\s*kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

function hugepages(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of listDir(dir) ?? []) {
    const m = /^hugepages-(\d+)kB$/.exec(d);
    if (!m) continue;
    const pages = Number(readTrim(join(dir, d, 'nr_hugepages')) ?? '0');
    if (!Number.isFinite(pages)) continue;
    out[`hugepages-${hugepageQuantity(Number(m[1]))}`] = pages * Number(m[1]) * 1024;
  }
  return out;
}

/** Reads the NUMA nodes under `sys` (the host's /sys). */
export function readNumaTopology(sys: string): NumaTopology {
  const base = join(sys, 'bus/node/devices');
  const names = listDir(base);
  if (!names) throw new SysfsError(`cannot read ${base}: is the host's /sys mounted?`);
  const nodes: NumaNode[] = [];
  for (const name of names) {
    const m = /^node(\d+)$/.exec(name);
    if (!m) continue;
    const dir = join(base, name);
    const cpuText = readTrim(join(dir, 'cpulist'));
    const cpus = cpuText === undefined ? undefined : parseCpuList(cpuText);
    if (!cpus) throw new SysfsError(`cannot read the CPU list ${join(dir, 'cpulist')}`);
    const distText = readTrim(join(dir, 'distance')) ?? '';
    const distances = distText.split(/\s+/).filter(Boolean).map(Number);
    if (distances.some((d) => !Number.isInteger(d)))
      throw new SysfsError(
        `${join(dir, 'distance')}: ${quoteValue(distText)} is not a list of distances`,
      );
    const memory: Record<string, number> = hugepages(join(dir, 'hugepages'));
    const total = memTotal(readText(join(dir, 'meminfo')));
    if (total !== undefined) memory.memory = total;
    nodes.push({ id: Number(m[1]), cpus, distances, memory });
  }
  if (!nodes.length) throw new SysfsError(`no NUMA node (nodeN) in ${base}`);
  return { nodes: nodes.sort((a, b) => a.id - b.id) };
}
