/**
 * Upstream publishes `cpu.cpuid` from the CPUID instruction through the klauspost/cpuid
 * library's feature names (`AVX512F`, `SSE42`, `CLMUL`, …). The worker decodes CPUID itself
 * where it can (`cpuid.ts`); where it cannot (no `/dev/cpu/N/cpuid`), it falls back to the flags
 * the kernel derived from CPUID in `/proc/cpuinfo`, translated by the table below. A kernel flag
 * that is not listed has no upstream counterpart and is not published. The kernel hides some
 * CPUID bits (`FP256`, `MOVU`, `PSFD`, …): those are missing on the fallback path.
 */

import { x86Levels } from './cpuid.js';

/** x86 `/proc/cpuinfo` flag → upstream cpuid feature name. */
export const X86_FLAG_NAMES: Readonly<Record<string, string>> = {
  '3dnow': 'AMD3DNOW',
  '3dnowext': 'AMD3DNOWEXT',
  abm: 'LZCNT',
  adx: 'ADX',
  aes: 'AESNI',
  amd_ppin: 'PPIN',
  amx_bf16: 'AMXBF16',
  amx_fp16: 'AMXFP16',
  amx_int8: 'AMXINT8',
  amx_tile: 'AMXTILE',
  arch_capabilities: 'IA32_ARCH_CAP',
  avx: 'AVX',
  avx2: 'AVX2',
  avx512_bf16: 'AVX512BF16',
  avx512_bitalg: 'AVX512BITALG',
  avx512_fp16: 'AVX512FP16',
  avx512_vbmi2: 'AVX512VBMI2',
  avx512_vnni: 'AVX512VNNI',
  avx512_vp2intersect: 'AVX512VP2INTERSECT',
  avx512_vpopcntdq: 'AVX512VPOPCNTDQ',
  avx512bw: 'AVX512BW',
  avx512cd: 'AVX512CD',
  avx512dq: 'AVX512DQ',
  avx512er: 'AVX512ER',
  avx512f: 'AVX512F',
  avx512ifma: 'AVX512IFMA',
  avx512pf: 'AVX512PF',
  avx512vbmi: 'AVX512VBMI',
  avx512vl: 'AVX512VL',
  avx_ifma: 'AVXIFMA',
  avx_vnni: 'AVXVNNI',
  bmi1: 'BMI1',
  bmi2: 'BMI2',
  cldemote: 'CLDEMOTE',
  clzero: 'CLZERO',
  cmov: 'CMOV',
  core_capabilities: 'IA32_CORE_CAP',
  cpb: 'CPBOOST',
  cx16: 'CX16',
  cx8: 'CMPXCHG8',
  decodeassists: 'SVMDA',
  enqcmd: 'ENQCMD',
  erms: 'ERMS',
  f16c: 'F16C',
  flush_l1d: 'FLUSH_L1D',
  flushbyasid: 'SVMFBASID',
  fma: 'FMA3',
  fma4: 'FMA4',
  fpu: 'X87',
  fsrm: 'FSRM',
  fxsr: 'FXSR',
  fxsr_opt: 'FXSROPT',
  gfni: 'GFNI',
  hle: 'HLE',
  hybrid_cpu: 'HYBRID_CPU',
  hypervisor: 'HYPERVISOR',
  ibpb: 'IBPB',
  ibrs: 'IBRS',
  ibt: 'CETIBT',
  intel_ppin: 'PPIN',
  lahf_lm: 'LAHF',
  lam: 'LAM',
  lbrv: 'LBRVIRT',
  md_clear: 'MD_CLEAR',
  mmx: 'MMX',
  mmxext: 'MMXEXT',
  movbe: 'MOVBE',
  movdir64b: 'MOVDIR64B',
  movdiri: 'MOVDIRI',
  mpx: 'MPX',
  npt: 'SVMNP',
  nrip_save: 'NRIPS',
  nx: 'NX',
  osxsave: 'OSXSAVE',
  overflow_recov: 'MCAOVERFLOW',
  pausefilter: 'SVMPF',
  pclmulqdq: 'CLMUL',
  pconfig: 'PCONFIG',
  pfthreshold: 'SVMPFT',
  pni: 'SSE3',
  popcnt: 'POPCNT',
  rdpru: 'RDPRU',
  rdrand: 'RDRAND',
  rdseed: 'RDSEED',
  rdtscp: 'RDTSCP',
  rtm: 'RTM',
  serialize: 'SERIALIZE',
  sev: 'SEV',
  sev_es: 'SEV_ES',
  sev_snp: 'SEV_SNP',
  sgx: 'SGX',
  sgx_lc: 'SGXLC',
  sep: 'SYSEE',
  sha_ni: 'SHA',
  shstk: 'CETSS',
  sme: 'SME',
  sse: 'SSE',
  sse2: 'SSE2',
  sse4_1: 'SSE4',
  sse4_2: 'SSE42',
  sse4a: 'SSE4A',
  ssse3: 'SSSE3',
  stibp: 'STIBP',
  succor: 'SUCCOR',
  svm: 'SVM',
  syscall: 'SYSCALL',
  tbm: 'TBM',
  tdx_guest: 'TDX_GUEST',
  tme: 'TME',
  topoext: 'TOPEXT',
  tsc_scale: 'TSCRATEMSR',
  tsxldtrk: 'TSXLDTRK',
  user_shstk: 'CETSS',
  vaes: 'VAES',
  vmcb_clean: 'VMCBCLEAN',
  vmx: 'VMX',
  vpclmulqdq: 'VPCLMULQDQ',
  waitpkg: 'WAITPKG',
  wbnoinvd: 'WBNOINVD',
  xgetbv1: 'XGETBV1',
  xop: 'XOP',
  xsave: 'XSAVE',
  xsavec: 'XSAVEC',
  xsaveopt: 'XSAVEOPT',
  xsaves: 'XSAVES',
};

/**
 * arm64: upstream publishes the bits of the ELF auxiliary vector's AT_HWCAP and AT_HWCAP2 (the
 * kernel's `hwcap.h` order) under these names; index = bit. The kernel prints the same bits,
 * lower-cased, on the `Features` line of `/proc/cpuinfo`.
 */
export const ARM64_HWCAP: readonly string[] = [
  'FP',
  'ASIMD',
  'EVTSTRM',
  'AES',
  'PMULL',
  'SHA1',
  'SHA2',
  'CRC32',
  'ATOMICS',
  'FPHP',
  'ASIMDHP',
  'CPUID',
  'ASIMDRDM',
  'JSCVT',
  'FCMA',
  'LRCPC',
  'DCPOP',
  'SHA3',
  'SM3',
  'SM4',
  'ASIMDDP',
  'SHA512',
  'SVE',
  'ASIMDFHM',
  'DIT',
  'USCAT',
  'ILRCPC',
  'FLAGM',
  'SSBS',
  'SB',
  'PACA',
  'PACG',
];
export const ARM64_HWCAP2: readonly string[] = [
  'DCPODP',
  'SVE2',
  'SVEAES',
  'SVEPMULL',
  'SVEBITPERM',
  'SVESHA3',
  'SVESM4',
  'FLAGM2',
  'FRINT',
  'SVEI8MM',
  'SVEF32MM',
  'SVEF64MM',
  'SVEBF16',
  'I8MM',
  'BF16',
  'DGH',
  'RNG',
  'BTI',
  'MTE',
  'ECV',
  'AFP',
  'RPRES',
  'MTE3',
  'SME',
  'SMEI16I64',
  'SMEF64F64',
  'SMEI8I32',
  'SMEF16F32',
  'SMEB16F32',
  'SMEF32F32',
  'SMEFA64',
  'WFXT',
  'EBF16',
  'SVEEBF16',
];

/** arm64 `Features` line → upstream cpuid feature name. */
export const ARM64_FLAG_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  [...ARM64_HWCAP, ...ARM64_HWCAP2].map((n) => [n.toLowerCase(), n]),
);

/**
 * Upstream cpuid names for the kernel's flags, sorted. `threadsPerCore` comes from the same
 * file (`siblings` / `cpu cores`): upstream reports `HTT` only with more than one thread per
 * core, while the kernel's `ht` flag only says the CPU could have several.
 */
export function cpuidNames(
  arch: 'x86' | 'arm64',
  kernelFlags: Set<string>,
  threadsPerCore = 1,
): string[] {
  const table = arch === 'x86' ? X86_FLAG_NAMES : ARM64_FLAG_NAMES;
  const out = new Set<string>();
  for (const f of kernelFlags) {
    const n = table[f];
    if (n) out.add(n);
  }
  if (arch === 'x86') {
    // Linux turns XSAVE on in the OS whenever it keeps the flag; the kernel does not print it.
    if (out.has('XSAVE')) out.add('OSXSAVE');
    if (threadsPerCore > 1) out.add('HTT');
    for (const l of x86Levels(out)) out.add(l);
  }
  return [...out].sort();
}

/** Older spellings accepted in configuration (the seed's blacklist uses them). */
const CPUID_ALIASES: Record<string, string> = { 'SSE4.1': 'SSE4', 'SSE4.2': 'SSE42' };

export function canonicalCpuidName(name: string): string {
  return CPUID_ALIASES[name] ?? name;
}

/** klauspost/cpuid vendor names for the `vendor_id` the kernel prints. */
export const CPU_VENDORS: Readonly<Record<string, string>> = {
  GenuineIntel: 'Intel',
  AuthenticAMD: 'AMD',
  HygonGenuine: 'Hygon',
  CentaurHauls: 'VIA',
  '  Shanghai  ': 'Zhaoxin',
  GenuineTMx86: 'Transmeta',
  'Geode by NSC': 'NSC',
};
