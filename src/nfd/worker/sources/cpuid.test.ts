import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../../../test/fixtures/hosts/index.js';
import { arm64FlagsFromAuxv } from './cpu.js';
import { cpuidNames } from './cpuid-names.js';
import {
  decodeCpuid,
  parseCpuidDump,
  x86Levels,
  withCpuidDevice,
  xcr0FromLeaves,
  type CpuidQuery,
  type CpuidRegs,
} from './cpuid.js';

const PARITY = join(repoRoot(), 'test/fixtures/parity');

/** Hosts recorded with upstream's NodeFeature, their CPUID leaves and `/proc/cpuinfo`. */
const hosts = readdirSync(PARITY).filter((h) => !h.includes('.'));

function upstream(host: string) {
  const nf = JSON.parse(
    readFileSync(join(PARITY, host, 'upstream-v0.19.0-nodefeature.json'), 'utf8'),
  ) as {
    spec: {
      features: {
        flags: Record<string, { elements: Record<string, object> }>;
        attributes: Record<string, { elements: Record<string, string> }>;
      };
    };
  };
  return nf.spec.features;
}

describe('CPUID decoding against upstream on recorded hosts', () => {
  assert.ok(hosts.length > 0, `hosts recorded in ${PARITY}`);
  for (const host of hosts) {
    const q = parseCpuidDump(readFileSync(join(PARITY, host, 'cpuid-raw.txt'), 'utf8'));
    const want = upstream(host);
    const d = decodeCpuid(q, xcr0FromLeaves(q));
    it(`${host}: the cpu.cpuid flags upstream published`, () =>
      assert.deepEqual(d.flags, Object.keys(want.flags['cpu.cpuid']!.elements).sort()));
    it(`${host}: the cpu.model upstream published`, () => {
      const m = want.attributes['cpu.model']!.elements;
      assert.deepEqual(
        {
          vendor_id: d.vendor,
          family: String(d.family),
          id: String(d.model),
          hypervisor: d.hypervisor,
        },
        { vendor_id: m.vendor_id, family: m.family, id: m.id, hypervisor: m.hypervisor },
      );
    });
  }
});

/** Leaves given as a table; everything else reads as zeros. */
function leaves(t: Record<string, [number, number, number, number]>): CpuidQuery {
  return (leaf: number, sub: number): CpuidRegs => t[`${leaf}:${sub}`] ?? [0, 0, 0, 0];
}

// "AuthenticAMD" / "GenuineIntel" as EBX, EDX, ECX of leaf 0.
const AMD: [number, number, number, number] = [0x10, 0x68747541, 0x444d4163, 0x69746e65];
const INTEL: [number, number, number, number] = [0x1f, 0x756e6547, 0x6c65746e, 0x49656e69];
const HTT_BIT = 1 << 28;

describe('CPUID decoding rules', () => {
  it('HTT only with more than one thread per core (leaf 0xB level 0)', () => {
    for (const [perCore, want] of [
      [1, false],
      [2, true],
    ] as const) {
      const q = leaves({
        '0:0': INTEL,
        '1:0': [0x806f8, 0, 0, HTT_BIT],
        '11:0': [1, perCore, 0, 0],
      });
      assert.equal(decodeCpuid(q, 0).flags.includes('HTT'), want, `${perCore} per core`);
    }
  });

  it('HTT on AMD Zen without leaf 0xB topology comes from 0x8000001E', () => {
    const base = {
      '0:0': AMD,
      '1:0': [0xa10f11, 0, 0, HTT_BIT] as [number, number, number, number],
      '2147483648:0': [0x8000001e, 0, 0, 0] as [number, number, number, number],
    };
    assert.ok(
      decodeCpuid(leaves({ ...base, '2147483678:0': [0, 0x100, 0, 0] }), 0).flags.includes('HTT'),
    );
    assert.ok(
      !decodeCpuid(leaves({ ...base, '2147483678:0': [0, 0, 0, 0] }), 0).flags.includes('HTT'),
    );
  });

  it('AVX and AVX-512 only with the state the OS enabled in XCR0', () => {
    const avxBits = (1 << 26) | (1 << 27) | (1 << 28);
    const q = leaves({
      '0:0': INTEL,
      '1:0': [0x806f8, 0, avxBits, 0],
      '7:0': [0, (1 << 5) | (1 << 16), 0, 0],
    });
    assert.deepEqual(decodeCpuid(q, 0x7).flags, ['AVX', 'AVX2', 'OSXSAVE', 'XSAVE']);
    assert.deepEqual(decodeCpuid(q, 0xe7).flags, ['AVX', 'AVX2', 'AVX512F', 'OSXSAVE', 'XSAVE']);
    assert.deepEqual(decodeCpuid(q, 0x3).flags, ['OSXSAVE', 'XSAVE']);
  });

  it('AMD before family 19h is not affected by TSA even without the CPUID bits', () => {
    const zen2 = decodeCpuid(leaves({ '0:0': AMD, '1:0': [0x830f10, 0, 0, 0] }), 0);
    assert.equal(zen2.family, 23);
    assert.ok(zen2.flags.includes('TSA_L1_NO') && zen2.flags.includes('TSA_SQ_NO'));
    const zen3 = decodeCpuid(leaves({ '0:0': AMD, '1:0': [0xa00f11, 0, 0, 0] }), 0);
    assert.ok(!zen3.flags.includes('TSA_L1_NO'));
  });

  it('names the hypervisor from leaf 0x40000000, cleaning an unknown one', () => {
    const hv = (b: number, c: number, d: number) =>
      decodeCpuid(
        leaves({ '0:0': INTEL, '1:0': [0x806f8, 0, 1 << 31, 0], '1073741824:0': [0, b, c, d] }),
        0,
      ).hypervisor;
    assert.equal(hv(0x7263694d, 0x666f736f, 0x76482074), 'msvm'); // "Microsoft Hv"
    assert.equal(hv(0x21212121, 0x2020, 0), '_'); // "!!!!  ": a run of other characters becomes _
    assert.equal(hv(0, 0, 0), 'unknown');
    assert.equal(
      decodeCpuid(leaves({ '0:0': INTEL, '1:0': [0x806f8, 0, 0, 0] }), 0).hypervisor,
      'none',
    );
  });

  it('x86-64 levels need SYSCALL or SYSENTER and every lower level', () => {
    const v1 = ['CMOV', 'CMPXCHG8', 'X87', 'FXSR', 'MMX', 'SSE', 'SSE2'];
    const v2 = ['CX16', 'LAHF', 'POPCNT', 'SSE3', 'SSE4', 'SSE42', 'SSSE3'];
    assert.deepEqual(x86Levels(new Set(v1)), []);
    assert.deepEqual(x86Levels(new Set([...v1, 'SYSEE'])), ['X86_64_V1']);
    assert.deepEqual(x86Levels(new Set([...v1, ...v2, 'SYSCALL'])), ['X86_64_V1', 'X86_64_V2']);
    assert.deepEqual(x86Levels(new Set([...v2, 'SYSCALL'])), []);
  });
});

describe('the /proc/cpuinfo fallback on recorded hosts', () => {
  for (const host of hosts) {
    it(`${host}: upstream's flags except the CPUID bits the kernel does not print`, () => {
      const text = readFileSync(join(PARITY, host, 'cpuinfo.txt'), 'utf8');
      const first = text.split('\n\n')[0]!;
      const field = (k: string) => new RegExp(`^${k}\\s*: (.*)$`, 'm').exec(first)?.[1] ?? '';
      const perCore = Number(field('siblings')) / Number(field('cpu cores'));
      const got = cpuidNames('x86', new Set(field('flags').split(' ')), perCore);
      const want = Object.keys(upstream(host).flags['cpu.cpuid']!.elements);
      assert.deepEqual(
        got.filter((f) => !want.includes(f)),
        [],
        'no flag upstream does not publish',
      );
      // What only the instruction shows: AMD's FPU width bits, predictive store forwarding
      // control, STIBP always-on, TSA immunity, and shadow stacks (printed only when the kernel
      // uses them). The kernel also hides RDSEED on AMD family 1Ah (Zen 5), whose 16- and 32-bit
      // forms have an erratum, while CPUID still sets the bit.
      const hidden = new Set([
        'CETSS',
        'FP256',
        'MOVU',
        'PSFD',
        'STIBP_ALWAYSON',
        'TSA_L1_NO',
        'TSA_SQ_NO',
        ...(field('vendor_id') === 'AuthenticAMD' && field('cpu family') === '26'
          ? ['RDSEED']
          : []),
      ]);
      assert.deepEqual(
        want.filter((f) => !got.includes(f) && !hidden.has(f)),
        [],
        'every other upstream flag',
      );
    });
  }
});

describe('arm64 flags from the auxiliary vector', () => {
  it('decodes AT_HWCAP and AT_HWCAP2 bits into upstream names', () => {
    const auxv = Buffer.alloc(16 * 4);
    const put = (i: number, type: bigint, value: bigint) => {
      auxv.writeBigUInt64LE(type, i * 16);
      auxv.writeBigUInt64LE(value, i * 16 + 8);
    };
    put(0, 6n, 4096n); // AT_PAGESZ, ignored
    put(1, 16n, (1n << 0n) | (1n << 3n) | (1n << 22n)); // FP, AES, SVE
    put(2, 26n, (1n << 1n) | (1n << 33n)); // SVE2, SVEEBF16
    put(3, 0n, 0n);
    assert.deepEqual(arm64FlagsFromAuxv(auxv), ['AES', 'FP', 'SVE', 'SVE2', 'SVEEBF16']);
  });
});

describe('reading CPUID on this machine', { skip: arch() !== 'x64' && 'not x86' }, () => {
  const helper = join(repoRoot(), 'dist/nfd-worker/hwe-cpuid');
  it('npm run build built the helper, and it prints the leaves and XCR0', () => {
    assert.ok(existsSync(helper), `${helper} (needs a C compiler: scripts/apt-packages.txt)`);
    const out = execFileSync(helper, { encoding: 'utf8' });
    assert.match(out, /^ {3}0x00000001 0x00: eax=0x[0-9a-f]{8} /m);
    assert.match(out, /^xcr0=0x[0-9a-f]{8}$/m);
  });

  it('the helper and the cpuid driver give the same flags', (t) => {
    const fromDevice = withCpuidDevice('/dev/cpu/0/cpuid', (q) =>
      decodeCpuid(q, xcr0FromLeaves(q)),
    );
    if (!fromDevice) return t.skip('no /dev/cpu/0/cpuid here');
    const out = execFileSync(helper, { encoding: 'utf8' });
    const xcr0 = Number(/^xcr0=(0x[0-9a-f]+)$/m.exec(out)![1]);
    assert.deepEqual(decodeCpuid(parseCpuidDump(out), xcr0), fromDevice);
  });
});
