/**
 * Upstream publishes `cpu.cpuid` from the CPUID instruction through the klauspost/cpuid
 * library's feature names (`AVX512F`, `SSE42`, `CLMUL`, …). A Node.js process cannot execute
 * CPUID, so we read the flags the kernel derived from it in `/proc/cpuinfo` and translate each
 * one to the name upstream publishes. The table below is that translation: a kernel flag that is
 * not listed has no upstream counterpart and is not published. Where the kernel hides a CPUID
 * bit (for example `OSXSAVE` on some kernels), the name is absent here too: the feature set is
 * what the kernel reports, never more.
 */

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
  ht: 'HTT',
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

/** arm64 `Features` line → upstream cpuid feature name. */
export const ARM64_FLAG_NAMES: Readonly<Record<string, string>> = {
  aes: 'AESARM',
  asimd: 'ASIMD',
  asimddp: 'ASIMDDP',
  asimdhp: 'ASIMDHP',
  asimdrdm: 'ASIMDRDM',
  atomics: 'ATOMICS',
  crc32: 'CRC32',
  dcpop: 'DCPOP',
  evtstrm: 'EVTSTRM',
  fcma: 'FCMA',
  fp: 'FP',
  fphp: 'FPHP',
  gpa: 'GPA',
  jscvt: 'JSCVT',
  lrcpc: 'LRCPC',
  pmull: 'PMULL',
  sha1: 'SHA1',
  sha2: 'SHA2',
  sha3: 'SHA3',
  sha512: 'SHA512',
  sm3: 'SM3',
  sm4: 'SM4',
  sve: 'SVE',
};

/**
 * x86-64 micro-architecture levels (psABI), published as `X86_64_V1`…`X86_64_V4` when every
 * kernel flag of the level and the levels below it is present.
 */
const X86_64_LEVELS: string[][] = [
  ['cmov', 'cx8', 'fpu', 'fxsr', 'mmx', 'syscall', 'sse', 'sse2'],
  ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3'],
  ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'],
  ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'],
];

/** Upstream cpuid names for the kernel's flags, sorted. */
export function cpuidNames(arch: 'x86' | 'arm64', kernelFlags: Set<string>): string[] {
  const table = arch === 'x86' ? X86_FLAG_NAMES : ARM64_FLAG_NAMES;
  const out = new Set<string>();
  for (const f of kernelFlags) {
    const n = table[f];
    if (n) out.add(n);
  }
  if (arch === 'x86') {
    for (let i = 0; i < X86_64_LEVELS.length; i++) {
      if (!X86_64_LEVELS[i]!.every((f) => kernelFlags.has(f))) break;
      out.add(`X86_64_V${i + 1}`);
    }
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
