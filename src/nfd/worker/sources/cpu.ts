/**
 * cpu: cpuid flags, model, C-states, P-states, RDT, security (SGX/TDX/SEV), SST-BF and topology.
 */
import { isDir, join, listDir, readText, readTrim } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import { attributeSet, flagSet, type SourceFeatures } from '../types.js';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ARM64_FLAG_NAMES,
  ARM64_HWCAP,
  ARM64_HWCAP2,
  CPU_VENDORS,
  canonicalCpuidName,
  cpuidNames,
} from './cpuid-names.js';
import {
  decodeCpuid,
  parseCpuidDump,
  withCpuidDevice,
  xcr0FromLeaves,
  type CpuidDecoded,
} from './cpuid.js';

export interface CpuInfo {
  arch: 'x86' | 'arm64';
  vendorId: string;
  family: string;
  model: string;
  flags: Set<string>;
  /** `siblings` / `cpu cores` of the first processor (x86), 1 when not printed. */
  threadsPerCore: number;
}

/** The first processor block of `/proc/cpuinfo`; all cores of a node report the same flags. */
export function parseCpuinfo(text: string): CpuInfo {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (fields.size) break;
      continue;
    }
    const i = line.indexOf(':');
    if (i < 0) continue;
    fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  if (fields.has('flags')) {
    const siblings = Number(fields.get('siblings'));
    const cores = Number(fields.get('cpu cores'));
    return {
      threadsPerCore: siblings > 0 && cores > 0 ? Math.trunc(siblings / cores) : 1,
      arch: 'x86',
      vendorId: fields.get('vendor_id') ?? '',
      family: fields.get('cpu family') ?? '',
      model: fields.get('model') ?? '',
      flags: new Set((fields.get('flags') ?? '').split(/\s+/).filter(Boolean)),
    };
  }
  // arm64 reports `Features`, `CPU implementer` (hex), `CPU architecture`, `CPU part`.
  const features = (fields.get('Features') ?? '').split(/\s+/).filter((f) => f in ARM64_FLAG_NAMES);
  const implementer = fields.get('CPU implementer');
  return {
    threadsPerCore: 1,
    arch: 'arm64',
    vendorId: implementer ? (ARM_IMPLEMENTERS[implementer.toLowerCase()] ?? 'ARM') : '',
    family: fields.get('CPU architecture') ?? '',
    model: fields.get('CPU part') ? String(parseInt(fields.get('CPU part')!, 16)) : '',
    flags: new Set(features),
  };
}

const ARM_IMPLEMENTERS: Record<string, string> = {
  '0x41': 'ARM',
  '0x42': 'Broadcom',
  '0x43': 'Cavium',
  '0x48': 'HiSilicon',
  '0x4e': 'NVIDIA',
  '0x50': 'Ampere',
  '0x51': 'Qualcomm',
  '0x61': 'Apple',
  '0xc0': 'Ampere',
};

/**
 * Upstream asks CPUID leaf 0x40000000 for the hypervisor's name. From the host's files we
 * recognise it by the clock source the hypervisor provides, then by DMI strings, and fall back
 * to `unknown`; `none` when the CPU reports no hypervisor at all.
 */
function detectHypervisor(sys: string, hasHypervisorFlag: boolean): string {
  if (!hasHypervisorFlag) return 'none';
  const clocks =
    readTrim(join(sys, 'devices/system/clocksource/clocksource0/available_clocksource')) ?? '';
  if (/\bkvm-clock\b/.test(clocks)) return 'kvm';
  if (/\bhyperv_clocksource/.test(clocks)) return 'msvm';
  if (/\bxen\b/.test(clocks) || readTrim(join(sys, 'hypervisor/type')) === 'xen') return 'xenhvm';
  const dmi = ['sys_vendor', 'product_name']
    .map((f) => readTrim(join(sys, 'class/dmi/id', f)) ?? '')
    .join(' ');
  if (/VMware/i.test(dmi)) return 'vmware';
  if (/QEMU|KVM|Amazon EC2|Google/i.test(dmi)) return 'kvm';
  if (/Microsoft/i.test(dmi)) return 'msvm';
  if (/BHYVE/i.test(dmi)) return 'bhyve';
  if (/Xen/i.test(dmi)) return 'xenhvm';
  return 'unknown';
}

function detectCstate(sys: string): Record<string, string> | undefined {
  const base = join(sys, 'devices/system/cpu');
  if (!isDir(base)) return undefined;
  const driver = readTrim(join(base, 'cpuidle/current_driver'));
  if (driver !== 'intel_idle') return {};
  const max = readTrim(join(sys, 'module/intel_idle/parameters/max_cstate'));
  if (max === undefined || !/^-?\d+$/.test(max)) return {};
  return { enabled: String(Number(max) > 0) };
}

function detectPstate(sys: string): Record<string, string> {
  const base = join(sys, 'devices/system/cpu');
  const dir = join(base, 'intel_pstate');
  const status = readTrim(join(dir, 'status'));
  if (status === undefined || status === 'off') return {};
  const out: Record<string, string> = { status };
  const noTurbo = readTrim(join(dir, 'no_turbo'));
  if (noTurbo !== undefined) out.turbo = String(noTurbo.startsWith('0'));
  if (status !== 'active') return out;
  // One governor for the node only when every policy with CPUs agrees.
  let governor = '';
  for (const p of listDir(join(base, 'cpufreq')) ?? []) {
    const cpus = readTrim(join(base, 'cpufreq', p, 'affected_cpus'));
    if (!cpus) continue;
    const g = readTrim(join(base, 'cpufreq', p, 'scaling_governor'));
    if (g === undefined) continue;
    if (governor && governor !== g) {
      governor = '';
      break;
    }
    governor = g;
  }
  if (governor) out.scaling_governor = governor;
  return out;
}

/** Kernel flags for Intel RDT / AMD PQoS → upstream's RDT feature names. */
const RDT_FLAGS: Record<string, string> = {
  cqm: 'RDTMON',
  cqm_llc: 'RDTCMT',
  cqm_mbm_total: 'RDTMBM',
  cqm_mbm_local: 'RDTMBM',
  cat_l3: 'RDTL3CA',
  cat_l2: 'RDTL2CA',
  mba: 'RDTMBA',
};

function detectRdt(sys: string, flags: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [flag, name] of Object.entries(RDT_FLAGS)) if (flags.has(flag)) out[name] = 'true';
  const closids = readTrim(join(sys, 'fs/resctrl/info/L3/num_closids'));
  if (out.RDTL3CA && closids && /^\d+$/.test(closids)) out.RDTL3CA_NUM_CLOSID = closids;
  return out;
}

function paramOn(path: string): boolean {
  const v = readTrim(path);
  return v !== undefined && (v.startsWith('1') || v.startsWith('Y'));
}

function miscCapacity(sys: string, resource: string): string | undefined {
  for (const f of ['fs/cgroup/misc.capacity', 'fs/cgroup/misc/misc.capacity']) {
    const text = readText(join(sys, f));
    if (text === undefined) continue;
    for (const line of text.split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k === resource && v && /^\d+$/.test(v)) return v;
    }
    return undefined;
  }
  return undefined;
}

function detectSecurity(sys: string, flags: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (flags.has('sgx')) {
    // The EPC the BIOS reserved, summed over NUMA nodes; none means SGX is off.
    let epc = 0;
    for (const n of listDir(join(sys, 'devices/system/node')) ?? []) {
      if (!/^node\d+$/.test(n)) continue;
      const b = readTrim(join(sys, 'devices/system/node', n, 'x86/sgx_total_bytes'));
      if (b && /^\d+$/.test(b)) epc += Number(b);
    }
    if (epc > 0) {
      out['sgx.enabled'] = 'true';
      out['sgx.epc'] = String(epc);
    }
  }
  if (readText(join(sys, 'module/kvm_intel/parameters/tdx')) === 'Y\n') {
    out['tdx.enabled'] = 'true';
    const keys = miscCapacity(sys, 'tdx');
    if (keys) out['tdx.total_keys'] = keys;
  }
  if (flags.has('tdx_guest')) out['tdx.protected'] = 'true';
  const amd = join(sys, 'module/kvm_amd/parameters');
  if (paramOn(join(amd, 'sev'))) {
    out['sev.enabled'] = 'true';
    const asids = miscCapacity(sys, 'sev');
    if (asids) out['sev.asids'] = asids;
  }
  if (paramOn(join(amd, 'sev_es'))) {
    out['sev.es.enabled'] = 'true';
    const ids = miscCapacity(sys, 'sev_es');
    if (ids) out['sev.encrypted_state_ids'] = ids;
  }
  if (paramOn(join(amd, 'sev_snp'))) out['sev.snp.enabled'] = 'true';
  return out;
}

/** Attributes kept for rules and extended resources but never turned into labels. */
const SECURITY_NO_LABEL = new Set([
  'tdx.total_keys',
  'sgx.epc',
  'sev.encrypted_state_ids',
  'sev.asids',
]);

/**
 * Intel SST-BF gives a set of high-priority cores a higher base frequency; the kernel shows it
 * as differing `base_frequency` values across CPUs.
 */
function detectSst(sys: string): Record<string, string> {
  if (!isDir(join(sys, 'devices/system/cpu/intel_pstate'))) return {};
  const freqs = new Set<string>();
  for (const c of listDir(join(sys, 'devices/system/cpu')) ?? []) {
    if (!/^cpu\d+$/.test(c)) continue;
    const f = readTrim(join(sys, 'devices/system/cpu', c, 'cpufreq/base_frequency'));
    if (f) freqs.add(f);
  }
  return freqs.size > 1 ? { 'bf.enabled': 'true' } : {};
}

function detectTopology(sys: string): Record<string, string> | undefined {
  const dir = join(sys, 'bus/cpu/devices');
  const cpus = listDir(dir);
  if (!cpus) return undefined;
  let ht = false;
  const packages = new Set<string>();
  for (const c of cpus) {
    const siblings = readTrim(join(dir, c, 'topology/thread_siblings_list'));
    const pkg = readTrim(join(dir, c, 'topology/physical_package_id'));
    if (siblings === undefined || pkg === undefined) return {};
    if (/[,-]/.test(siblings)) ht = true;
    packages.add(pkg);
  }
  return { hardware_multithreading: String(ht), socket_count: String(packages.size) };
}

type CpuidResult = { decoded: CpuidDecoded; path: string };

/**
 * The CPUID leaves of the processor the worker runs on, through the Linux cpuid driver; undefined
 * when the device is missing (module `cpuid` not loaded, `/dev` not shared with the container).
 */
function cpuidFromDevice(dev: string): CpuidResult | undefined {
  const path = join(dev, `cpu/${currentCpu()}/cpuid`);
  const decoded = withCpuidDevice(path, (q) => decodeCpuid(q, xcr0FromLeaves(q)));
  return decoded && { decoded, path };
}

/**
 * The CPU this process last ran on (/proc/self/stat, field 39), else 0. Reading that CPU's
 * device spares the kernel an interrupt to another CPU per leaf; upstream, too, executes CPUID
 * wherever it runs.
 */
function currentCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const cpu = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36]);
    return Number.isInteger(cpu) && cpu >= 0 ? cpu : 0;
  } catch {
    return 0;
  }
}

/**
 * Where `npm run build` puts the helper that executes CPUID (`cpuid-helper/hwe-cpuid.c`, built
 * with the system's C compiler): `dist/nfd-worker/`, next to the bundled worker; the second
 * path is the same file seen from the unbundled module. `HWE_CPUID_HELPER` names another.
 */
function helperPaths(): string[] {
  const env = process.env['HWE_CPUID_HELPER'];
  return [
    ...(env ? [env] : []),
    fileURLToPath(new URL('hwe-cpuid', import.meta.url)),
    fileURLToPath(new URL('../../../../nfd-worker/hwe-cpuid', import.meta.url)),
  ];
}

/** The leaves and XCR0 from the helper; undefined when it is not built or fails. */
function cpuidFromHelper(): CpuidResult | undefined {
  const path = helperPaths().find((p) => existsSync(p));
  if (!path) return undefined;
  let out: string;
  try {
    // Loaded here: where the cpuid device is readable the worker never starts a process.
    const { execFileSync } = process.getBuiltinModule('node:child_process');
    out = execFileSync(path, { encoding: 'utf8', timeout: 10_000 });
  } catch {
    return undefined;
  }
  const q = parseCpuidDump(out);
  const xcr0 = /^xcr0=(0x[0-9a-f]+)$/m.exec(out);
  return { decoded: decodeCpuid(q, xcr0 ? Number(xcr0[1]) : 0), path };
}

/**
 * CPUID of the processor the worker runs on, where the host paths are this machine's: the
 * driver's device, else the helper. Never for a host tree given with --host-root, whose
 * /proc/cpuinfo describes another machine.
 */
function liveCpuid(dev: string): CpuidResult | undefined {
  if (dev !== '/dev' && dev !== '/host-dev') return undefined;
  return cpuidFromDevice(dev) ?? cpuidFromHelper();
}

const AT_HWCAP = 16n;
const AT_HWCAP2 = 26n;

/** Upstream's arm64 names for the AT_HWCAP/AT_HWCAP2 bits of the worker's auxiliary vector. */
export function arm64FlagsFromAuxv(auxv: Buffer): string[] {
  const out: string[] = [];
  for (let o = 0; o + 16 <= auxv.length; o += 16) {
    const type = auxv.readBigUInt64LE(o);
    const value = auxv.readBigUInt64LE(o + 8);
    const names = type === AT_HWCAP ? ARM64_HWCAP : type === AT_HWCAP2 ? ARM64_HWCAP2 : undefined;
    if (!names) continue;
    names.forEach((n, bit) => {
      if ((value >> BigInt(bit)) & 1n) out.push(n);
    });
  }
  return out.sort();
}

function readAuxv(proc: string): Buffer | undefined {
  try {
    return readFileSync(join(proc, 'self/auxv'));
  } catch {
    return undefined;
  }
}

function discoverCpu(ctx: DiscoverContext): SourceFeatures {
  const { sys, proc, dev } = ctx.paths;
  const text = readText(join(proc, 'cpuinfo'));
  if (text === undefined) {
    ctx.warn(`cannot read ${join(proc, 'cpuinfo')}: no cpuid or model features`);
    return { flags: { cpuid: flagSet([]) }, attributes: { coprocessor: attributeSet({}) } };
  }
  const info = parseCpuinfo(text);
  const flags = info.flags;
  const attributes: Record<string, Record<string, string>> = {};
  let names: string[];
  const model: Record<string, string> = {
    vendor_id: CPU_VENDORS[info.vendorId] ?? info.vendorId,
    family: info.family,
    id: info.model,
  };
  if (info.arch === 'x86') {
    // As upstream: the CPUID instruction, through the kernel's cpuid driver or the helper.
    const cpuid = liveCpuid(dev);
    if (cpuid) {
      const d = cpuid.decoded;
      names = d.flags;
      Object.assign(model, { vendor_id: d.vendor, family: String(d.family), id: String(d.model) });
      model.hypervisor = d.hypervisor;
      attributes.cpuid = d.avx10Level > 0 ? { AVX10_VERSION: String(d.avx10Level) } : {};
      ctx.note(`cpuid flags from the CPUID instruction (${cpuid.path})`);
    } else {
      names = cpuidNames('x86', flags, info.threadsPerCore);
      model.hypervisor = detectHypervisor(sys, flags.has('hypervisor'));
      attributes.cpuid = {};
      ctx.note(
        `cpuid flags from ${join(proc, 'cpuinfo')}: neither ${join(dev, 'cpu/0/cpuid')} (modprobe cpuid) nor the hwe-cpuid helper (built by npm run build with a C compiler) could be used`,
      );
    }
  } else {
    // As upstream: the hardware capabilities the kernel gives this process.
    const auxv = process.arch === 'arm64' ? readAuxv(proc) : undefined;
    names = auxv ? arm64FlagsFromAuxv(auxv) : cpuidNames('arm64', flags);
    ctx.note(`cpuid flags from ${auxv ? join(proc, 'self/auxv') : join(proc, 'cpuinfo')}`);
  }
  attributes.model = model;
  const cstate = detectCstate(sys);
  if (cstate) attributes.cstate = cstate;
  attributes.pstate = detectPstate(sys);
  attributes.rdt = detectRdt(sys, flags);
  attributes.security = detectSecurity(sys, flags);
  attributes.sst = detectSst(sys);
  const topology = detectTopology(sys);
  if (topology) attributes.topology = topology;
  else ctx.warn(`cannot read ${join(sys, 'bus/cpu/devices')}: no topology features`);
  // Published even when empty, as upstream does (a rule on an empty set can still match).
  attributes.coprocessor = {};
  return {
    flags: { cpuid: flagSet(names) },
    attributes: Object.fromEntries(
      Object.entries(attributes).map(([k, v]) => [k, attributeSet(v)]),
    ),
  };
}

export function cpuLabels(own: SourceFeatures, ctx: DiscoverContext): Record<string, string> {
  const labels: Record<string, string> = {};
  const { attributeWhitelist, attributeBlacklist } = ctx.config.sources.cpu.cpuid;
  const white = new Set(attributeWhitelist.map(canonicalCpuidName));
  const black = new Set(attributeBlacklist.map(canonicalCpuidName));
  for (const f of Object.keys(own.flags?.cpuid?.elements ?? {})) {
    const shown = white.size ? white.has(f) : !black.has(f);
    if (shown) labels[`cpuid.${f}`] = 'true';
  }
  const a = (name: string) => own.attributes?.[name]?.elements ?? {};
  for (const [k, v] of Object.entries(a('cpuid'))) labels[`cpuid.${k}`] = v;
  for (const [k, v] of Object.entries(a('model'))) labels[`model.${k}`] = v;
  for (const [k, v] of Object.entries(a('cstate'))) labels[`cstate.${k}`] = v;
  for (const [k, v] of Object.entries(a('pstate'))) labels[`pstate.${k}`] = v;
  for (const [k, v] of Object.entries(a('security'))) {
    if (!SECURITY_NO_LABEL.has(k)) labels[`security.${k}`] = v;
  }
  for (const [k, v] of Object.entries(a('sst'))) labels[`power.sst_${k}`] = v;
  const ht = a('topology').hardware_multithreading;
  if (ht !== undefined) labels.hardware_multithreading = ht;
  return labels;
}

registerSource({ name: 'cpu', order: 0, discover: discoverCpu, labels: cpuLabels });
