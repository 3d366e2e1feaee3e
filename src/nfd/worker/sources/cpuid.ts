/**
 * x86 CPUID leaves → the feature names upstream publishes in `cpu.cpuid`.
 *
 * Upstream executes CPUID through the klauspost/cpuid library and publishes its feature names;
 * this decoder gives the same names from the same leaves, so that a rule written against
 * upstream's flags (`OSXSAVE`, `FP256`, `STIBP_ALWAYSON`, …) matches here too. The decoder is
 * pure: it asks a `CpuidQuery` for leaves, which is the processor itself
 * (`/dev/cpu/N/cpuid`, see `withCpuidDevice`) or a recording (`parseCpuidDump`).
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** EAX, EBX, ECX, EDX of one leaf/sub-leaf. */
export type CpuidRegs = readonly [number, number, number, number];
export type CpuidQuery = (leaf: number, subleaf: number) => CpuidRegs;

export interface CpuidDecoded {
  /** klauspost/cpuid vendor name (`AMD`, `Intel`, …), or the raw vendor string. */
  vendor: string;
  family: number;
  model: number;
  /** Lower-case hypervisor name as upstream's `cpu.model.hypervisor`; `none` without one. */
  hypervisor: string;
  /** Upstream's flag names, sorted, with the x86-64 micro-architecture levels. */
  flags: string[];
  /** AVX10 version (`cpu.cpuid` attribute `AVX10_VERSION`); 0 without AVX10. */
  avx10Level: number;
}

const EAX = 0;
const EBX = 1;
const ECX = 2;
const EDX = 3;

/** Vendor strings from leaf 0 and 0x40000000 → klauspost/cpuid vendor names. */
const VENDORS: Readonly<Record<string, string>> = {
  'AMDisbetter!': 'AMD',
  AuthenticAMD: 'AMD',
  CentaurHauls: 'VIA',
  GenuineIntel: 'Intel',
  TransmetaCPU: 'Transmeta',
  GenuineTMx86: 'Transmeta',
  'Geode by NSC': 'NSC',
  'VIA VIA VIA ': 'VIA',
  KVMKVMKVM: 'KVM',
  'Linux KVM Hv': 'KVM',
  TCGTCGTCGTCG: 'QEMU',
  'Microsoft Hv': 'MSVM',
  VMwareVMware: 'VMware',
  XenVMMXenVMM: 'XenHVM',
  'bhyve bhyve ': 'Bhyve',
  HygonGenuine: 'Hygon',
  'Vortex86 SoC': 'SiS',
  'SiS SiS SiS ': 'SiS',
  RiseRiseRise: 'SiS',
  'Genuine  RDC': 'RDC',
  QNXQVMBSQG: 'QNX',
  ACRNACRNACRN: 'ACRN',
  SRESRESRESRE: 'SRE',
  'Apple VZ': 'Apple',
};

/** Registers as little-endian ASCII, ending at the first NUL byte. */
function regsText(...values: number[]): string {
  let s = '';
  for (const v of values) {
    for (let i = 0; i < 4; i++) {
      const c = (v >>> (8 * i)) & 0xff;
      if (c === 0) return s;
      s += String.fromCharCode(c);
    }
  }
  return s;
}

/** One bit of one register of one leaf, and the name it sets. */
type Bit = readonly [leaf: number, subleaf: number, reg: number, bit: number, name: string];

/** Bits read as they are, once the leaf is within the processor's range. */
const PLAIN_BITS: readonly Bit[] = [
  [1, 0, EDX, 0, 'X87'],
  [1, 0, EDX, 8, 'CMPXCHG8'],
  [1, 0, EDX, 11, 'SYSEE'],
  [1, 0, EDX, 15, 'CMOV'],
  [1, 0, EDX, 23, 'MMX'],
  [1, 0, EDX, 24, 'FXSR'],
  [1, 0, EDX, 25, 'FXSROPT'],
  [1, 0, EDX, 25, 'SSE'],
  [1, 0, EDX, 26, 'SSE2'],
  [1, 0, ECX, 0, 'SSE3'],
  [1, 0, ECX, 1, 'CLMUL'],
  [1, 0, ECX, 5, 'VMX'],
  [1, 0, ECX, 9, 'SSSE3'],
  [1, 0, ECX, 13, 'CX16'],
  [1, 0, ECX, 19, 'SSE4'],
  [1, 0, ECX, 20, 'SSE42'],
  [1, 0, ECX, 22, 'MOVBE'],
  [1, 0, ECX, 23, 'POPCNT'],
  [1, 0, ECX, 25, 'AESNI'],
  [1, 0, ECX, 26, 'XSAVE'],
  [1, 0, ECX, 27, 'OSXSAVE'],
  [1, 0, ECX, 29, 'F16C'],
  [1, 0, ECX, 30, 'RDRAND'],
  [1, 0, ECX, 31, 'HYPERVISOR'],
  [7, 0, EBX, 2, 'SGX'],
  [7, 0, EBX, 4, 'HLE'],
  [7, 0, EBX, 9, 'ERMS'],
  [7, 0, EBX, 11, 'RTM'],
  [7, 0, EBX, 14, 'MPX'],
  [7, 0, EBX, 18, 'RDSEED'],
  [7, 0, EBX, 19, 'ADX'],
  [7, 0, EBX, 29, 'SHA'],
  [7, 0, ECX, 5, 'WAITPKG'],
  [7, 0, ECX, 7, 'CETSS'],
  [7, 0, ECX, 8, 'GFNI'],
  [7, 0, ECX, 9, 'VAES'],
  [7, 0, ECX, 10, 'VPCLMULQDQ'],
  [7, 0, ECX, 13, 'TME'],
  [7, 0, ECX, 23, 'KEYLOCKER'],
  [7, 0, ECX, 25, 'CLDEMOTE'],
  [7, 0, ECX, 27, 'MOVDIRI'],
  [7, 0, ECX, 28, 'MOVDIR64B'],
  [7, 0, ECX, 29, 'ENQCMD'],
  [7, 0, ECX, 30, 'SGXLC'],
  [7, 0, EDX, 4, 'FSRM'],
  [7, 0, EDX, 9, 'SRBDS_CTRL'],
  [7, 0, EDX, 10, 'MD_CLEAR'],
  [7, 0, EDX, 11, 'RTM_ALWAYS_ABORT'],
  [7, 0, EDX, 14, 'SERIALIZE'],
  [7, 0, EDX, 15, 'HYBRID_CPU'],
  [7, 0, EDX, 16, 'TSXLDTRK'],
  [7, 0, EDX, 18, 'PCONFIG'],
  [7, 0, EDX, 20, 'CETIBT'],
  [7, 0, EDX, 26, 'IBPB'],
  [7, 0, EDX, 27, 'STIBP'],
  [7, 0, EDX, 28, 'FLUSH_L1D'],
  [7, 0, EDX, 29, 'IA32_ARCH_CAP'],
  [7, 0, EDX, 30, 'IA32_CORE_CAP'],
  [7, 0, EDX, 31, 'SPEC_CTRL_SSBD'],
  [7, 1, EAX, 1, 'SM3_X86'],
  [7, 1, EAX, 2, 'SM4_X86'],
  [7, 1, EAX, 7, 'CMPCCXADD'],
  [7, 1, EAX, 10, 'MOVSB_ZL'],
  [7, 1, EAX, 11, 'STOSB_SHORT'],
  [7, 1, EAX, 12, 'CMPSB_SCADBS_SHORT'],
  [7, 1, EAX, 17, 'FRED'],
  [7, 1, EAX, 22, 'HRESET'],
  [7, 1, EAX, 23, 'AVXIFMA'],
  [7, 1, EAX, 26, 'LAM'],
  [7, 1, EDX, 4, 'AVXVNNIINT8'],
  [7, 1, EDX, 5, 'AVXNECONVERT'],
  [7, 1, EDX, 6, 'AMXTRANSPOSE'],
  [7, 1, EDX, 7, 'AMXTF32'],
  [7, 1, EDX, 8, 'AMXCOMPLEX'],
  [7, 1, EDX, 10, 'AVXVNNIINT16'],
  [7, 1, EDX, 14, 'PREFETCHI'],
  [7, 1, EDX, 19, 'AVX10'],
  [7, 1, EDX, 21, 'APX_F'],
  [7, 2, EDX, 0, 'PSFD'],
  [7, 2, EDX, 1, 'IDPRED_CTRL'],
  [7, 2, EDX, 2, 'RRSBA_CTRL'],
  [7, 2, EDX, 4, 'BHI_CTRL'],
  [7, 2, EDX, 5, 'MCDT_NO'],
  [0x80000001, 0, ECX, 0, 'LAHF'],
  [0x80000001, 0, ECX, 2, 'SVM'],
  [0x80000001, 0, ECX, 6, 'SSE4A'],
  [0x80000001, 0, ECX, 10, 'IBS'],
  [0x80000001, 0, ECX, 22, 'TOPEXT'],
  [0x80000001, 0, EDX, 11, 'SYSCALL'],
  [0x80000001, 0, EDX, 20, 'NX'],
  [0x80000001, 0, EDX, 22, 'MMXEXT'],
  [0x80000001, 0, EDX, 23, 'MMX'],
  [0x80000001, 0, EDX, 24, 'FXSR'],
  [0x80000001, 0, EDX, 25, 'FXSROPT'],
  [0x80000001, 0, EDX, 27, 'RDTSCP'],
  [0x80000001, 0, EDX, 30, 'AMD3DNOWEXT'],
  [0x80000001, 0, EDX, 31, 'AMD3DNOW'],
  [0x80000007, 0, EBX, 0, 'MCAOVERFLOW'],
  [0x80000007, 0, EBX, 1, 'SUCCOR'],
  [0x80000007, 0, EBX, 2, 'HWA'],
  [0x80000007, 0, EDX, 9, 'CPBOOST'],
  [0x80000008, 0, EBX, 0, 'CLZERO'],
  [0x80000008, 0, EBX, 1, 'MSRIRC'],
  [0x80000008, 0, EBX, 3, 'INVLPGB'],
  [0x80000008, 0, EBX, 4, 'RDPRU'],
  [0x80000008, 0, EBX, 8, 'MCOMMIT'],
  [0x80000008, 0, EBX, 9, 'WBNOINVD'],
  [0x80000008, 0, EBX, 12, 'IBPB'],
  [0x80000008, 0, EBX, 13, 'INT_WBINVD'],
  [0x80000008, 0, EBX, 14, 'IBRS'],
  [0x80000008, 0, EBX, 15, 'STIBP'],
  [0x80000008, 0, EBX, 17, 'STIBP_ALWAYSON'],
  [0x80000008, 0, EBX, 18, 'IBRS_PREFERRED'],
  [0x80000008, 0, EBX, 19, 'IBRS_PROVIDES_SMP'],
  [0x80000008, 0, EBX, 20, 'EFER_LMSLE_UNS'],
  [0x80000008, 0, EBX, 21, 'TLB_FLUSH_NESTED'],
  [0x80000008, 0, EBX, 23, 'PPIN'],
  [0x80000008, 0, EBX, 24, 'SPEC_CTRL_SSBD'],
  [0x80000008, 0, EBX, 27, 'CPPC'],
  [0x80000008, 0, EBX, 28, 'PSFD'],
  [0x8000001a, 0, EAX, 0, 'FP128'],
  [0x8000001a, 0, EAX, 1, 'MOVU'],
  [0x8000001a, 0, EAX, 2, 'FP256'],
];

/** SVM details (leaf 0x8000000A EDX), read only when SVM is present. */
const SVM_BITS: readonly [number, string][] = [
  [0, 'SVMNP'],
  [1, 'LBRVIRT'],
  [2, 'SVML'],
  [3, 'NRIPS'],
  [4, 'TSCRATEMSR'],
  [5, 'VMCBCLEAN'],
  [6, 'SVMFBASID'],
  [7, 'SVMDA'],
  [10, 'SVMPF'],
  [12, 'SVMPFT'],
];

/** Instruction-based sampling details (leaf 0x8000001B EAX), only with IBS. */
const IBS_BITS = [
  'IBSFFV',
  'IBSFETCHSAM',
  'IBSOPSAM',
  'IBSRDWROPCNT',
  'IBSOPCNT',
  'IBSBRNTRGT',
  'IBSOPCNTEXT',
  'IBSRIPINVALIDCHK',
  'IBS_OPFUSE',
  'IBS_FETCH_CTLX',
  'IBS_OPDATA4',
  'IBS_ZEN4',
];

/** AMD memory encryption (leaf 0x8000001F EAX), AMD only. */
const AMD_ENCRYPTION_BITS: readonly [number, string][] = [
  [0, 'SME'],
  [1, 'SEV'],
  [2, 'MSR_PAGEFLUSH'],
  [3, 'SEV_ES'],
  [4, 'SEV_SNP'],
  [5, 'VMPL'],
  [10, 'SME_COHERENT'],
  [11, 'SEV_64BIT'],
  [12, 'SEV_RESTRICTED'],
  [13, 'SEV_ALTERNATIVE'],
  [14, 'SEV_DEBUGSWAP'],
  [15, 'IBS_PREVENTHOST'],
  [16, 'VTE'],
  [24, 'VMSA_REGPROT'],
];

/** AVX-512 and AMX bits, set only when the OS saves the ZMM and opmask state. */
const AVX512_BITS: readonly Bit[] = [
  [7, 0, EBX, 16, 'AVX512F'],
  [7, 0, EBX, 17, 'AVX512DQ'],
  [7, 0, EBX, 21, 'AVX512IFMA'],
  [7, 0, EBX, 26, 'AVX512PF'],
  [7, 0, EBX, 27, 'AVX512ER'],
  [7, 0, EBX, 28, 'AVX512CD'],
  [7, 0, EBX, 30, 'AVX512BW'],
  [7, 0, EBX, 31, 'AVX512VL'],
  [7, 0, ECX, 1, 'AVX512VBMI'],
  [7, 0, ECX, 3, 'AMXFP8'],
  [7, 0, ECX, 6, 'AVX512VBMI2'],
  [7, 0, ECX, 11, 'AVX512VNNI'],
  [7, 0, ECX, 12, 'AVX512BITALG'],
  [7, 0, ECX, 14, 'AVX512VPOPCNTDQ'],
  [7, 0, EDX, 8, 'AVX512VP2INTERSECT'],
  [7, 0, EDX, 22, 'AMXBF16'],
  [7, 0, EDX, 23, 'AVX512FP16'],
  [7, 0, EDX, 24, 'AMXTILE'],
  [7, 0, EDX, 25, 'AMXINT8'],
  [7, 1, EAX, 5, 'AVX512BF16'],
  [7, 1, EAX, 19, 'WRMSRNS'],
  [7, 1, EAX, 21, 'AMXFP16'],
  [7, 1, EAX, 27, 'MSRLIST'],
];

/** psABI levels: each needs every flag of its own list and of the lists before it. */
const X86_64_LEVELS: readonly (readonly string[])[] = [
  ['CMOV', 'CMPXCHG8', 'X87', 'FXSR', 'MMX', 'SSE', 'SSE2'],
  ['CX16', 'LAHF', 'POPCNT', 'SSE3', 'SSE4', 'SSE42', 'SSSE3'],
  ['AVX', 'AVX2', 'BMI1', 'BMI2', 'F16C', 'FMA3', 'LZCNT', 'MOVBE', 'OSXSAVE'],
  ['AVX512F', 'AVX512BW', 'AVX512CD', 'AVX512DQ', 'AVX512VL'],
];

/** `X86_64_V1`… for the highest level every lower level's flags reach (64-bit mode: SYSCALL or SYSENTER). */
export function x86Levels(flags: ReadonlySet<string>): string[] {
  if (!flags.has('SYSEE') && !flags.has('SYSCALL')) return [];
  const out: string[] = [];
  for (const [i, level] of X86_64_LEVELS.entries()) {
    if (!level.every((f) => flags.has(f))) break;
    out.push(`X86_64_V${i + 1}`);
  }
  return out;
}

const bit = (v: number, n: number) => ((v >>> n) & 1) === 1;

/** Family and model as the CPU reports them, with the extended fields where they apply. */
function familyModel(eax: number): { family: number; model: number } {
  let family = (eax >>> 8) & 0xf;
  let model = (eax >>> 4) & 0xf;
  let extended = family === 6;
  if (family === 0xf) {
    family += (eax >>> 20) & 0xff;
    extended = true;
  }
  if (extended) model += (eax >>> 12) & 0xf0;
  return { family, model };
}

/** Threads per core: leaf 0xB level 0, or on AMD Zen and later leaf 0x8000001E, else 1. */
function threadsPerCore(q: CpuidQuery, maxLeaf: number, maxExt: number, vendor: string): number {
  if (maxLeaf < 4 || (vendor !== 'Intel' && vendor !== 'AMD')) return 1;
  const edx1 = q(1, 0)[EDX];
  if (maxLeaf < 0xb) {
    if (vendor !== 'Intel' || !bit(edx1, 28)) return 1;
    const logical = (q(1, 0)[EBX] >>> 16) & 0xff;
    if (logical <= 1) return 1;
    return Math.trunc(logical / ((q(4, 0)[EAX] >>> 26) + 1));
  }
  const perCore = q(0xb, 0)[EBX] & 0xffff;
  if (perCore !== 0) return perCore;
  if (vendor === 'AMD' && bit(edx1, 28) && familyModel(q(1, 0)[EAX]).family >= 23) {
    return maxExt >= 0x8000001e ? ((q(0x8000001e, 0)[EBX] >>> 8) & 0xff) + 1 : 2;
  }
  return 1;
}

/**
 * Decodes the leaves into upstream's names. `xcr0` is the OS's enabled state (XGETBV 0): only
 * with AVX state enabled are AVX and its successors reported, only with ZMM state AVX-512.
 */
export function decodeCpuid(q: CpuidQuery, xcr0: number): CpuidDecoded {
  const [maxLeaf, b0, c0, d0] = q(0, 0);
  const vendorString = regsText(b0, d0, c0);
  const vendor = VENDORS[vendorString] ?? vendorString;
  const maxExt = q(0x80000000, 0)[EAX] >>> 0;
  const fs = new Set<string>();
  const empty: CpuidDecoded = {
    vendor,
    family: 0,
    model: 0,
    hypervisor: 'none',
    flags: [],
    avx10Level: 0,
  };
  if (maxLeaf < 1) return empty;
  const { family, model } = familyModel(q(1, 0)[EAX]);
  const inRange = (leaf: number) => (leaf >= 0x80000000 ? maxExt >= leaf : maxLeaf >= leaf);
  const set = (cond: boolean, ...names: string[]) => {
    if (cond) for (const n of names) fs.add(n);
  };
  for (const [leaf, sub, reg, n, name] of PLAIN_BITS) {
    if (inRange(leaf)) set(bit(q(leaf, sub)[reg]!, n), name);
  }
  const [, , ecx1, edx1] = q(1, 0);
  if ((vendor === 'Intel' || vendor === 'AMD') && bit(edx1, 28) && maxLeaf >= 4) {
    set(threadsPerCore(q, maxLeaf, maxExt, vendor) > 1, 'HTT');
  }
  // AVX needs XSAVE, OSXSAVE and AVX in CPUID and the XMM and YMM state enabled by the OS.
  if (bit(ecx1, 26) && bit(ecx1, 27) && bit(ecx1, 28) && (xcr0 & 0x6) === 0x6) {
    fs.add('AVX');
    if (vendor === 'Intel') set(family === 6 && model < 60, 'AVXSLOW');
    if (vendor === 'AMD') set(family < 23 || (family === 23 && model < 49), 'AVXSLOW');
  }
  set(bit(ecx1, 12) && bit(ecx1, 27), 'FMA3');
  if (maxLeaf >= 7) {
    const ebx7 = q(7, 0)[EBX];
    set(fs.has('AVX') && bit(ebx7, 5), 'AVX2');
    if (bit(ebx7, 3)) {
      fs.add('BMI1');
      set(bit(ebx7, 8), 'BMI2');
    }
    set(fs.has('AVX') && bit(q(7, 1)[EAX], 4), 'AVXVNNI');
    const osZmm = ((xcr0 >>> 5) & 7) === 7 && ((xcr0 >>> 1) & 3) === 3;
    if (bit(ecx1, 26) && bit(ecx1, 27) && osZmm) {
      for (const [leaf, sub, reg, n, name] of AVX512_BITS) set(bit(q(leaf, sub)[reg]!, n), name);
    }
    if (fs.has('SGX')) set(bit(q(0x12, 0)[EAX], 12), 'SGXPQC');
    if (fs.has('KEYLOCKER') && maxLeaf >= 0x19) set((q(0x19, 0)[EBX] & 5) === 5, 'KEYLOCKERW');
    if (fs.has('AVX10') && maxLeaf >= 0x24) {
      const ebx = q(0x24, 0)[EBX];
      set(bit(ebx, 16), 'AVX10_128');
      set(bit(ebx, 17), 'AVX10_256');
      set(bit(ebx, 18), 'AVX10_512');
    }
  }
  if (maxLeaf >= 0xd && fs.has('XSAVE')) {
    const eax = q(0xd, 1)[EAX];
    set(bit(eax, 0), 'XSAVEOPT');
    set(bit(eax, 1), 'XSAVEC');
    set(bit(eax, 2), 'XGETBV1');
    set(bit(eax, 3), 'XSAVES');
  }
  if (maxExt >= 0x80000001) {
    const c = q(0x80000001, 0)[ECX];
    set(bit(c, 5), 'LZCNT', 'POPCNT');
    // XOP and FMA4 use the AVX encoding: usable only with AVX state enabled.
    if (fs.has('AVX')) {
      set(bit(c, 11), 'XOP');
      set(bit(c, 16), 'FMA4');
    }
  }
  if (fs.has('SVM') && maxExt >= 0x8000000a) {
    const edx = q(0x8000000a, 0)[EDX];
    for (const [n, name] of SVM_BITS) set(bit(edx, n), name);
  }
  if (fs.has('IBS') && maxExt >= 0x8000001b) {
    const eax = q(0x8000001b, 0)[EAX];
    IBS_BITS.forEach((name, n) => set(bit(eax, n), name));
  }
  if (vendor === 'AMD' && maxExt >= 0x8000001f) {
    const eax = q(0x8000001f, 0)[EAX];
    for (const [n, name] of AMD_ENCRYPTION_BITS) set(bit(eax, n), name);
  }
  if (vendor === 'AMD' && maxExt >= 0x80000021) {
    const [a, , c] = q(0x80000021, 0);
    set(bit(a, 31), 'SRSO_MSR_FIX');
    set(bit(a, 30), 'SRSO_USER_KERNEL_NO');
    set(bit(a, 29), 'SRSO_NO');
    set(bit(a, 28), 'IBPB_BRTYPE');
    set(bit(a, 27), 'SBPB');
    set(bit(a, 23), 'AVX512BMM');
    set(bit(a, 5), 'TSA_VERW_CLEAR');
    set(bit(c, 1), 'TSA_L1_NO');
    set(bit(c, 2), 'TSA_SQ_NO');
  }
  // AMD parts known not to be affected by TSA that do not say so in CPUID.
  if (vendor === 'AMD') {
    const notAffected =
      family < 0x19 || (family === 0x1a && (model <= 0x4f || (model >= 0x60 && model <= 0x7f)));
    set(notAffected, 'TSA_L1_NO', 'TSA_SQ_NO');
  }
  // TDX guests: Hyper-V hides the TEE but reports it in 0x4000000C; otherwise leaf 0x21.
  if (maxLeaf >= 0x20) set(q(0x4000000c, 0)[EBX] >>> 0 === 0xbe3, 'TDX_GUEST');
  if (maxLeaf >= 0x21) {
    const [, b, c, d] = q(0x21, 0);
    set(regsText(b, d, c) === 'IntelTDX    ', 'TDX_GUEST');
  }
  let hypervisor = 'none';
  if (fs.has('HYPERVISOR')) {
    const [, hb, hc, hd] = q(0x40000000, 0);
    const raw = regsText(hb, hc, hd);
    const known = VENDORS[raw];
    hypervisor = known ? known.toLowerCase() : raw.replace(/[^-A-Za-z0-9_.]+/g, '_') || 'unknown';
  }
  const avx10Level = fs.has('AVX10') && maxLeaf >= 0x24 ? q(0x24, 0)[EBX] & 0xff : 0;
  const flags = [...fs, ...x86Levels(fs)].sort();
  return { vendor, family, model, hypervisor, flags, avx10Level };
}

/**
 * The leaves of a `cpuid -r` dump (Debian's `cpuid` tool): lines
 * `0x00000007 0x00: eax=0x… ebx=0x… ecx=0x… edx=0x…`, first CPU only. A leaf that is not in
 * the dump reads as zeros, as an unused leaf does on the processor.
 */
export function parseCpuidDump(text: string): CpuidQuery {
  const leaves = new Map<string, CpuidRegs>();
  let cpus = 0;
  for (const line of text.split('\n')) {
    if (/^CPU\b/.test(line) && ++cpus > 1) break;
    const m =
      /^\s*(0x[0-9a-f]+) (0x[0-9a-f]+): eax=(0x[0-9a-f]+) ebx=(0x[0-9a-f]+) ecx=(0x[0-9a-f]+) edx=(0x[0-9a-f]+)/i.exec(
        line,
      );
    if (!m) continue;
    const key = `${Number(m[1]!)}:${Number(m[2]!)}`;
    leaves.set(key, [Number(m[3]!), Number(m[4]!), Number(m[5]!), Number(m[6]!)]);
  }
  return (leaf, sub) => leaves.get(`${leaf}:${sub}`) ?? [0, 0, 0, 0];
}

/**
 * The state components the OS may enable, from leaf 0xD: used as XCR0 where XGETBV cannot be
 * executed. Linux enables every user state component the processor offers.
 */
export function xcr0FromLeaves(q: CpuidQuery): number {
  if (q(0, 0)[EAX] < 0xd || !bit(q(1, 0)[ECX], 27)) return 0;
  return q(0xd, 0)[EAX];
}

/**
 * Runs `decode` over the processor's leaves read through the Linux cpuid driver
 * (`/dev/cpu/N/cpuid`, module `cpuid`): a 16-byte read at offset `leaf | subleaf << 32`
 * executes CPUID on that CPU. Only the leaves `decode` asks for are read, each once (about
 * twenty; each read may interrupt CPU N). Undefined when the device cannot be opened (module
 * not loaded, no permission, not x86) or a read fails.
 */
export function withCpuidDevice<T>(path: string, decode: (q: CpuidQuery) => T): T | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  const leaves = new Map<number, CpuidRegs>();
  const buf = Buffer.alloc(16);
  const q: CpuidQuery = (leaf, sub) => {
    // Leaves are below 2^32 and sub-leaves small: one number keys both exactly. (A literal:
    // V8's parser folds `2 ** 32` with libm's pow, which pages in libm's tables for it.)
    const key = sub * 0x1_0000_0000 + leaf;
    let regs = leaves.get(key);
    if (!regs) {
      const n = readSync(fd, buf, 0, 16, (BigInt(sub) << 32n) | BigInt(leaf));
      if (n !== 16) throw new Error(`short read from ${path}`);
      regs = [buf.readUInt32LE(0), buf.readUInt32LE(4), buf.readUInt32LE(8), buf.readUInt32LE(12)];
      leaves.set(key, regs);
    }
    return regs;
  };
  try {
    return decode(q);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
