/**
 * NodeFeatureRule evaluation speed: node×rule evaluations per second on one core, with the rule
 * set compiled once (as nfd-master does) and realistic node features built from a few machine
 * profiles (~40 loaded modules, ~100 cpuid flags, ~30 PCI devices, a few hundred kernel config
 * options). Prints each run and the median.
 *
 * Usage: nfd-rules [NODES=5000] [RUNS=5]
 */
import {
  compileRules,
  type Features,
  type NodeFeatureRule,
  processRules,
  type Rule,
} from '../src/nfd/rules/index.js';

/** Deterministic pseudo-random numbers, so every run measures the same work. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const CPUID = (
  'ADX AESNI AVX AVX2 AVX512BF16 AVX512BITALG AVX512BW AVX512CD AVX512DQ AVX512F AVX512FP16 ' +
  'AVX512IFMA AVX512VBMI AVX512VBMI2 AVX512VL AVX512VNNI AVX512VPOPCNTDQ AVXVNNI AMXBF16 AMXINT8 ' +
  'AMXTILE CETIBT CETSS CLDEMOTE CLMUL CLWB CMPXCHG8 CX16 ENQCMD ERMS F16C FMA3 FSRM FXSR ' +
  'FXSROPT GFNI HLE HTT HYPERVISOR IA32_ARCH_CAP IBPB IBRS LAHF LZCNT MD_CLEAR MMX MOVBE ' +
  'MOVDIR64B MOVDIRI MPX NX OSXSAVE PCONFIG POPCNT RDPID RDRAND RDSEED RDTSCP RTM SCE SERIALIZE ' +
  'SGX SGXLC SHA SSE SSE2 SSE3 SSE4 SSE42 SSSE3 STIBP SYSCALL SYSEE TSXLDTRK VAES VMX VPCLMULQDQ ' +
  'WAITPKG WBNOINVD X87 XGETBV1 XSAVE XSAVEC XSAVEOPT XSAVES AMD3DNOW SSE4A SVM TBM XOP FMA4 ' +
  'BMI1 BMI2 CMOV CX8 DE PSE TSC MSR PAE MCE APIC MTRR PGE MCA PAT PSE36 CLFSH DS ACPI SS TM PBE'
).split(' ');

const MODULES = (
  'veth bridge stp llc overlay nf_conntrack nf_nat nf_defrag_ipv4 nf_defrag_ipv6 ip_tables ' +
  'x_tables xt_conntrack xt_MASQUERADE br_netfilter iptable_nat iptable_filter ipt_REJECT ' +
  'nft_compat nf_tables nfnetlink tun vxlan ip6_udp_tunnel udp_tunnel e1000e igb ixgbe i40e ' +
  'ice mlx5_core mlx5_ib ib_uverbs rdma_ucm ib_core nvme nvme_core xfs libcrc32c sd_mod ' +
  'ahci libahci dm_mod nvidia nvidia_uvm nvidia_modeset drm kvm kvm_intel irqbypass vfio_pci'
).split(' ');

interface Profile {
  vendor: string;
  modules: number;
  cpuid: number;
  pci: [string, string][];
}

const PROFILES: Profile[] = [
  {
    vendor: 'Intel',
    modules: 40,
    cpuid: 100,
    pci: [
      ['0200', '8086'],
      ['0300', '10de'],
      ['0604', '8086'],
      ['0108', '144d'],
    ],
  },
  {
    vendor: 'AMD',
    modules: 36,
    cpuid: 90,
    pci: [
      ['0200', '15b3'],
      ['0600', '1022'],
      ['0108', '1344'],
      ['0c03', '1022'],
    ],
  },
  {
    vendor: 'Intel',
    modules: 44,
    cpuid: 110,
    pci: [
      ['0200', '8086'],
      ['0b40', '8086'],
      ['1200', '8086'],
      ['0604', '8086'],
    ],
  },
  {
    vendor: 'Intel',
    modules: 30,
    cpuid: 80,
    pci: [
      ['0200', '1af4'],
      ['0100', '1af4'],
      ['0300', '1234'],
      ['0601', '8086'],
    ],
  },
];

function nodeFeatures(i: number): Features {
  const r = rng(i + 1);
  const p = PROFILES[i % PROFILES.length]!;
  const flags: Features['flags'] = {};
  const loaded: Record<string, object> = {};
  for (let m = 0; m < p.modules; m++)
    loaded[MODULES[(m + (r() < 0.2 ? 7 : 0)) % MODULES.length]!] = {};
  flags['kernel.loadedmodule'] = { elements: loaded };
  flags['kernel.enabledmodule'] = { elements: { ...loaded, ext4: {}, vfat: {} } };
  const cpuid: Record<string, object> = {};
  for (let c = 0; c < p.cpuid; c++)
    cpuid[CPUID[(c + (p.vendor === 'AMD' ? 40 : 0)) % CPUID.length]!] = {};
  flags['cpu.cpuid'] = { elements: cpuid };
  const config: Record<string, string> = {};
  for (let c = 0; c < 300; c++)
    config[`OPT_${c}`] = c % 3 === 0 ? 'y' : c % 3 === 1 ? 'm' : String(c);
  config['NO_HZ'] = 'y';
  config['PREEMPT'] = r() < 0.3 ? 'y' : 'n';
  const minor = [9, 14, 18][i % 3]!;
  const attributes: Features['attributes'] = {
    'kernel.version': {
      elements: {
        full: `5.${minor}.0-${284 + (i % 7)}.30.1.el9_2.x86_64`,
        major: '5',
        minor: String(minor),
        revision: '0',
      },
    },
    'kernel.config': { elements: config },
    'kernel.selinux': { elements: { enabled: r() < 0.8 ? 'true' : 'false' } },
    'cpu.model': {
      elements: {
        vendor_id: p.vendor,
        family: p.vendor === 'AMD' ? '25' : '6',
        id: String(85 + (i % 60)),
      },
    },
    'cpu.topology': {
      elements: { hardware_multithreading: 'true', socket_count: String(1 + (i % 2)) },
    },
    'memory.numa': {
      elements: { is_numa: i % 2 ? 'true' : 'false', node_count: String(1 + (i % 2)) },
    },
    'system.osrelease': {
      elements: {
        ID: 'rhcos',
        VERSION_ID: '4.12',
        'VERSION_ID.major': '4',
        'VERSION_ID.minor': '12',
      },
    },
    'system.name': { elements: { nodename: `node-${i}` } },
  };
  const devices: { attributes: Record<string, string> }[] = [];
  for (let d = 0; d < 30; d++) {
    const [cls, vendor] = d < p.pci.length ? p.pci[d]! : ['0880', '8086'];
    devices.push({
      attributes: {
        class: cls,
        vendor,
        device: (0x1000 + ((i * 31 + d * 7) % 4096)).toString(16),
        subsystem_vendor: vendor,
        subsystem_device: '0000',
        ...(cls === '0200' ? { sriov_totalvfs: String(8 * (1 + (i % 8))) } : {}),
      },
    });
  }
  return { flags, attributes, instances: { 'pci.device': { elements: devices } } };
}

/** 50 rules of mixed operators, in 5 objects, like a cluster with a few vendors' rule sets. */
function ruleSet(): NodeFeatureRule[] {
  const rules: Rule[] = [];
  const add = (r: Rule): number => rules.push(r);
  for (let k = 0; k < 10; k++) {
    const mod = MODULES[(k * 5) % MODULES.length]!;
    add({
      name: `module-${k}`,
      labels: { [`mod-${mod}`]: 'true' },
      matchFeatures: [
        { feature: 'kernel.loadedmodule', matchExpressions: { [mod]: { op: 'Exists' } } },
      ],
    });
    add({
      name: `pci-${k}`,
      labels: { [`pci-${k}`]: 'true' },
      matchFeatures: [
        {
          feature: 'pci.device',
          matchExpressions: {
            vendor: { op: 'In', value: ['8086', '10de', '15b3'].slice(0, 1 + (k % 3)) },
            class: { op: 'InRegexp', value: [`^0${k % 3}`] },
          },
        },
      ],
    });
    add({
      name: `kernel-${k}`,
      vars: { [`kernel-ok-${k}`]: 'true' },
      matchFeatures: [
        {
          feature: 'kernel.version',
          matchExpressions: {
            full: { op: k % 2 ? 'Ge' : 'Lt', value: [`5.${9 + k}`], type: 'version' },
            major: { op: 'GtLt', value: ['3', '7'] },
          },
        },
        {
          feature: 'kernel.config',
          matchExpressions: {
            NO_HZ: { op: 'In', value: ['y'] },
            [`OPT_${k * 20}`]: { op: 'Exists' },
            PREEMPT: { op: 'NotIn', value: ['y'] },
          },
        },
      ],
    });
    add({
      name: `cpu-${k}`,
      labels: { [`cpu-${k}`]: 'true' },
      matchAny: [
        {
          matchFeatures: [
            {
              feature: 'cpu.cpuid',
              matchExpressions: { [CPUID[k * 7]!]: { op: 'Exists' }, SGX: { op: 'DoesNotExist' } },
            },
          ],
        },
        {
          matchFeatures: [
            {
              feature: 'cpu.model',
              matchExpressions: {
                vendor_id: { op: 'In', value: ['AMD'] },
                family: { op: 'Gt', value: ['23'] },
              },
            },
          ],
        },
      ],
    });
    add(
      k % 3 === 0
        ? {
            name: `template-${k}`,
            labelsTemplate:
              '{{ range .pci.device }}nic-{{ .vendor }}={{ .sriov_totalvfs }}\n{{ end }}',
            matchFeatures: [
              {
                feature: 'pci.device',
                matchExpressions: {
                  class: { op: 'In', value: ['0200'] },
                  sriov_totalvfs: { op: 'Gt', value: ['0'] },
                },
              },
            ],
          }
        : {
            name: `backref-${k}`,
            labels: { [`combo-${k}`]: 'true' },
            extendedResources: { [`res-${k}`]: '@kernel.version.major' },
            matchFeatures: [
              {
                feature: 'rule.matched',
                matchExpressions: { [`kernel-ok-${k}`]: { op: 'IsTrue' } },
              },
              { feature: 'kernel.selinux', matchExpressions: { enabled: { op: 'IsTrue' } } },
              { feature: 'cpu.cpuid', matchName: { op: 'InRegexp', value: ['^AVX512'] } },
            ],
          },
    );
  }
  const objects: NodeFeatureRule[] = [];
  for (let o = 0; o < 5; o++)
    objects.push({
      metadata: { name: `vendor-${o}` },
      spec: { rules: rules.slice(o * 10, o * 10 + 10) },
    });
  return objects;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export default function (args: string[]): void {
  const nodes = Number(args[0] ?? 5000);
  const runs = Number(args[1] ?? 5);
  const objects = ruleSet();
  const ruleCount = objects.reduce((n, o) => n + o.spec.rules.length, 0);
  const t0 = performance.now();
  const set = compileRules(objects);
  const compileMs = performance.now() - t0;
  const fleet = Array.from({ length: nodes }, (_, i) => nodeFeatures(i));

  // Sanity: the rule set does real work and fails nowhere.
  const sample = processRules(set, fleet[0]!);
  if (sample.errors.length)
    throw new Error(`benchmark rules failed: ${sample.errors[0]!.error.message}`);
  let labelsTotal = 0;
  for (let i = 0; i < Math.min(nodes, 200); i++)
    labelsTotal += Object.keys(processRules(set, fleet[i]!).labels).length;

  process.stdout.write(
    `nfd-rules: ${ruleCount} rules in ${objects.length} NodeFeatureRules, compiled in ${compileMs.toFixed(1)} ms; ` +
      `${nodes} nodes; ${(labelsTotal / Math.min(nodes, 200)).toFixed(1)} labels per node on average\n`,
  );
  // Warm up the JIT, then measure.
  for (let i = 0; i < Math.min(nodes, 1000); i++) processRules(set, fleet[i]!);
  // CPU time of this process is the measure: the figure is per core, and stays meaningful on a
  // machine busy with other work. Wall time is printed alongside.
  const rates: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const wall0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (const f of fleet) processRules(set, f);
    const cpu = process.cpuUsage(cpu0);
    const cpuSecs = (cpu.user + cpu.system) / 1e6;
    const wallSecs = (performance.now() - wall0) / 1000;
    const rate = (nodes * ruleCount) / cpuSecs;
    rates.push(rate);
    process.stdout.write(
      `run ${run}: ${Math.round(rate).toLocaleString('en-US')} node×rule evaluations per CPU second ` +
        `(${(cpuSecs * 1000).toFixed(0)} ms CPU, ${(wallSecs * 1000).toFixed(0)} ms wall, ` +
        `${nodes} nodes × ${ruleCount} rules)\n`,
    );
  }
  process.stdout.write(
    `median of ${runs} runs: ${Math.round(median(rates)).toLocaleString('en-US')} node×rule evaluations per CPU second\n`,
  );
}
