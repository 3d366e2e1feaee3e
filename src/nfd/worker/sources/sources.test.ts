import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../../../test/fixtures/hosts/index.js';
import { buildConfig } from '../config.js';
import type { DiscoverContext } from '../source.js';
import { emptyFeatures, flagSet, type SourceFeatures } from '../types.js';
import { cpuLabels, parseCpuinfo } from './cpu.js';
import { ARM64_FLAG_NAMES, canonicalCpuidName, cpuidNames, X86_FLAG_NAMES } from './cpuid-names.js';
import { toCustomRule, CustomRuleError } from './custom-rules.js';
import {
  legacyKconfig,
  parseBuiltinModules,
  parseKconfig,
  parseKernelVersion,
  parseModules,
} from './kernel.js';
import { parseFeatureFile } from './local.js';
import { hugepageQuantity } from './memory.js';
import { classAllowed, pciLabels } from './pci.js';
import { parseOsRelease } from './system.js';

function ctx(options: Parameters<typeof buildConfig>[0] = {}): DiscoverContext {
  return {
    paths: {} as DiscoverContext['paths'],
    config: buildConfig(options),
    nodeName: 'n',
    now: new Date('2026-01-01T00:00:00Z'),
    features: emptyFeatures(),
    warn: () => undefined,
    note: () => undefined,
  };
}

describe('cpuid names from /proc/cpuinfo', () => {
  const cases: [string, string[], string[]][] = [
    [
      'SSE4.x spelled as upstream publishes them',
      ['sse4_1', 'sse4_2', 'pni'],
      ['SSE3', 'SSE4', 'SSE42'],
    ],
    [
      'renamed flags',
      ['pclmulqdq', 'sha_ni', 'abm', 'ht', 'fma', 'aes', 'sep'],
      ['AESNI', 'CLMUL', 'FMA3', 'LZCNT', 'SHA', 'SYSEE'],
    ],
    [
      'AVX-512 family',
      ['avx512f', 'avx512_vnni', 'avx512_bf16'],
      ['AVX512BF16', 'AVX512F', 'AVX512VNNI'],
    ],
    ['flags without an upstream name are dropped', ['tsc', 'msr', 'constant_tsc', 'avx'], ['AVX']],
  ];
  for (const [what, flags, want] of cases) {
    it(what, () => assert.deepEqual(cpuidNames('x86', new Set(flags)), want));
  }

  it('adds x86-64 levels only when every lower level holds', () => {
    const v1 = ['cmov', 'cx8', 'fpu', 'fxsr', 'mmx', 'syscall', 'sse', 'sse2'];
    const v2 = ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3'];
    const v3 = ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'];
    const v4 = ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'];
    const levels = (f: string[]) =>
      cpuidNames('x86', new Set(f)).filter((n) => n.startsWith('X86_64'));
    assert.deepEqual(levels(v1), ['X86_64_V1']);
    assert.deepEqual(levels([...v1, ...v2, ...v3]), ['X86_64_V1', 'X86_64_V2', 'X86_64_V3']);
    assert.deepEqual(levels([...v1, ...v2, ...v3, ...v4]).length, 4);
    assert.deepEqual(levels([...v2, ...v3, ...v4]), []);
  });

  it('accepts the seed spellings SSE4.1/SSE4.2 in configuration', () => {
    assert.equal(canonicalCpuidName('SSE4.1'), 'SSE4');
    assert.equal(canonicalCpuidName('SSE4.2'), 'SSE42');
    assert.equal(canonicalCpuidName('AVX'), 'AVX');
  });

  it('parses the first processor block and maps the vendor', () => {
    const info = parseCpuinfo(
      'processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nflags\t\t: fpu sse2 avx2\n\nprocessor\t: 1\nflags\t\t: other\n',
    );
    assert.equal(info.arch, 'x86');
    assert.equal(info.vendorId, 'AuthenticAMD');
    assert.equal(info.family, '25');
    assert.equal(info.model, '1');
    assert.deepEqual([...info.flags], ['fpu', 'sse2', 'avx2']);
  });

  it('parses arm64 cpuinfo', () => {
    const info = parseCpuinfo(
      'processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\n',
    );
    assert.equal(info.arch, 'arm64');
    assert.equal(info.vendorId, 'ARM');
    assert.equal(info.model, String(0xd0c));
    assert.deepEqual(cpuidNames('arm64', info.flags), [
      'AES',
      'ASIMD',
      'ATOMICS',
      'CPUID',
      'CRC32',
      'EVTSTRM',
      'FP',
      'PMULL',
      'SHA1',
      'SHA2',
    ]);
  });
});

describe('cpu labels', () => {
  const own: SourceFeatures = {
    flags: { cpuid: flagSet(['AVX512F', 'SSE4', 'SSE42', 'BMI1', 'AVX']) },
    attributes: {
      model: { elements: { vendor_id: 'Intel', family: '6', id: '85', hypervisor: 'none' } },
      security: { elements: { 'sgx.enabled': 'true', 'sgx.epc': '1234' } },
      sst: { elements: { 'bf.enabled': 'true' } },
      topology: { elements: { hardware_multithreading: 'true', socket_count: '2' } },
    },
  };
  it('applies the default blacklist', () => {
    const l = cpuLabels(own, ctx());
    assert.equal(l['cpuid.AVX512F'], 'true');
    assert.equal(l['cpuid.AVX'], 'true');
    assert.equal(l['cpuid.SSE4'], undefined);
    assert.equal(l['cpuid.BMI1'], undefined);
    assert.equal(l['model.vendor_id'], 'Intel');
    assert.equal(l['security.sgx.enabled'], 'true');
    assert.equal(l['security.sgx.epc'], undefined, 'EPC size is for rules, not a label');
    assert.equal(l['power.sst_bf.enabled'], 'true');
    assert.equal(l.hardware_multithreading, 'true');
    assert.equal(l['topology.socket_count'], undefined);
  });
  it('a whitelist wins over the blacklist, in either spelling', () => {
    const l = cpuLabels(
      own,
      ctx({ sources: { cpu: { cpuid: { attributeWhitelist: ['SSE4.2', 'BMI1'] } } } }),
    );
    assert.deepEqual(
      Object.keys(l)
        .filter((k) => k.startsWith('cpuid.'))
        .sort(),
      ['cpuid.BMI1', 'cpuid.SSE42'],
    );
  });
  it('a blacklist in the seed spelling hides the current name', () => {
    const l = cpuLabels(
      own,
      ctx({ sources: { cpu: { cpuid: { attributeBlacklist: ['SSE4.1'] } } } }),
    );
    assert.equal(l['cpuid.SSE4'], undefined);
    assert.equal(l['cpuid.SSE42'], 'true');
    assert.equal(l['cpuid.BMI1'], 'true');
  });
});

describe('kernel parsing', () => {
  const versions: [string, Record<string, string>][] = [
    [
      '5.14.0-284.30.1.el9_2.x86_64',
      { full: '5.14.0-284.30.1.el9_2.x86_64', major: '5', minor: '14', revision: '0' },
    ],
    ['6.1.0-18-amd64', { full: '6.1.0-18-amd64', major: '6', minor: '1', revision: '0' }],
    ['6.18.44-fc', { full: '6.18.44-fc', major: '6', minor: '18', revision: '44' }],
    ['6.8', { full: '6.8', major: '6', minor: '8' }],
    ['weird', { full: 'weird' }],
  ];
  for (const [v, want] of versions) it(v, () => assert.deepEqual(parseKernelVersion(v), want));

  it('parses kconfig and the legacy y/m → true view', () => {
    const real = parseKconfig(
      '# c\nCONFIG_A=y\nCONFIG_B=m\nCONFIG_C="str"\nCONFIG_D=100\n# CONFIG_E is not set\nNOTCONFIG=1\n',
    );
    assert.deepEqual(real, { A: 'y', B: 'm', C: 'str', D: '100' });
    assert.deepEqual(legacyKconfig(real), { A: 'true', B: 'true', C: 'str', D: '100' });
    assert.deepEqual(parseKconfig('CONFIG_E=\nCONFIG_F=""\nCONFIG_G="a"b"\nCONFIG_H\nCONFIG_I=x'), {
      E: '',
      F: '',
      G: 'a"b',
      I: 'x',
    });
  });

  it('parses /proc/modules and modules.builtin', () => {
    assert.deepEqual(parseModules('veth 28672 0 - Live 0x0\ne1000e 290816 0 - Live 0x0\n'), [
      'veth',
      'e1000e',
    ]);
    assert.deepEqual(
      parseBuiltinModules('kernel/fs/xfs/xfs.ko\nkernel/drivers/net/dummy.ko.xz\n'),
      ['xfs', 'dummy'],
    );
  });
});

describe('os-release', () => {
  it('unquotes values and splits VERSION_ID', () => {
    const o = parseOsRelease(
      'NAME="Red Hat Enterprise Linux CoreOS"\nID="rhcos"\nVERSION_ID="4.12"\nVARIANT_ID=coreos\n# comment\n',
    );
    assert.equal(o.ID, 'rhcos');
    assert.equal(o.NAME, 'Red Hat Enterprise Linux CoreOS');
    assert.equal(o['VERSION_ID.major'], '4');
    assert.equal(o['VERSION_ID.minor'], '12');
    assert.equal(o.VARIANT_ID, 'coreos');
    const d = parseOsRelease("ID=debian\nVERSION_ID='12'\n");
    assert.equal(d['VERSION_ID.major'], '12');
    assert.equal(d['VERSION_ID.minor'], undefined);
  });
});

describe('hugepage sizes', () => {
  for (const [kb, q] of [
    [2048, '2Mi'],
    [1048576, '1Gi'],
    [64, '64Ki'],
    [1536, '1536Ki'],
  ] as const) {
    it(`${kb}kB → ${q}`, () => assert.equal(hugepageQuantity(kb), q));
  }
});

describe('local feature files', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  it('reads name[=value] lines and the directives', () => {
    const r = parseFeatureFile(
      [
        'plain',
        'with.value=x=y',
        '# ordinary comment',
        '# +no-label',
        'feature.only=1',
        '# +no-feature',
        'label.only=2',
        'both=3',
        '# +expiry-time=2030-01-01T00:00:00Z',
        'future=4',
        '# +expiry-time=2020-01-01T00:00:00Z',
        'past=5',
      ].join('\n'),
      now,
    );
    assert.deepEqual(r.features, {
      plain: 'true',
      'with.value': 'x=y',
      'feature.only': '1',
      both: '3',
      future: '4',
    });
    assert.deepEqual(r.labels, {
      plain: 'true',
      'with.value': 'x=y',
      'label.only': '2',
      both: '3',
      future: '4',
    });
    assert.deepEqual(r.errors, []);
  });
  it('reports unknown directives and bad times, and goes on', () => {
    const r = parseFeatureFile('# +colour=blue\n# +expiry-time=tomorrow\na=1\n', now);
    assert.equal(r.errors.length, 2);
    assert.match(r.errors[0]!, /unknown directive "colour"/);
    assert.match(r.errors[1]!, /RFC 3339/);
    assert.deepEqual(r.labels, { a: '1' });
  });
});

describe('pci labels', () => {
  it('matches whole classes and subclasses', () => {
    assert.ok(classAllowed('0300', ['03']));
    assert.ok(classAllowed('0302', ['03']));
    assert.ok(!classAllowed('0302', ['0300']));
    assert.ok(classAllowed('0b40', ['0b40']));
    assert.ok(!classAllowed('0200', ['03', '0b40', '12']));
  });
  it('builds names from deviceLabelFields and marks SR-IOV capability', () => {
    const own: SourceFeatures = {
      instances: {
        device: {
          elements: [
            {
              attributes: {
                class: '0300',
                vendor: '10de',
                device: '20b0',
                subsystem_vendor: '10de',
                subsystem_device: '134f',
                sriov_totalvfs: '0',
              },
            },
            {
              attributes: {
                class: '0200',
                vendor: '8086',
                device: '1572',
                subsystem_vendor: '8086',
                subsystem_device: '0006',
              },
            },
          ],
        },
      },
    };
    assert.deepEqual(pciLabels(own, ctx()), {
      '0300_10de.present': 'true',
      '0300_10de.sriov.capable': 'true',
    });
    assert.deepEqual(
      pciLabels(
        own,
        ctx({
          sources: {
            pci: { deviceClassWhitelist: ['02'], deviceLabelFields: ['vendor', 'device'] },
          },
        }),
      ),
      { '8086_1572.present': 'true' },
    );
  });
});

describe('custom rules', () => {
  it('turns a legacy matchOn rule into matchAny terms', () => {
    const { rule, legacy } = toCustomRule({
      name: 'my.custom.feature',
      matchOn: [
        { loadedKMod: ['e1000e'] },
        { pciId: { class: ['0200'], vendor: ['8086'] }, nodename: ['^worker-'] },
      ],
    });
    assert.equal(legacy, true);
    assert.deepEqual(rule, {
      name: 'my.custom.feature',
      labels: { 'custom-my.custom.feature': 'true' },
      matchAny: [
        {
          matchFeatures: [
            { feature: 'kernel.loadedmodule', matchExpressions: { e1000e: { op: 'Exists' } } },
          ],
        },
        {
          matchFeatures: [
            {
              feature: 'pci.device',
              matchExpressions: {
                class: { op: 'In', value: ['0200'] },
                vendor: { op: 'In', value: ['8086'] },
              },
            },
            {
              feature: 'system.name',
              matchExpressions: { nodename: { op: 'InRegexp', value: ['^worker-'] } },
            },
          ],
        },
      ],
    });
  });
  it('keeps a namespaced legacy name and its value', () => {
    const { rule } = toCustomRule({
      name: 'vendor.io/x',
      value: 'v1',
      matchOn: [{ cpuId: ['AVX'] }],
    });
    assert.deepEqual(rule.labels, { 'vendor.io/x': 'v1' });
  });
  it('expands shorthand in the current form', () => {
    const { rule, legacy } = toCustomRule({
      name: 'r',
      labels: { a: 'b' },
      matchFeatures: [
        { feature: 'kernel.loadedmodule', matchExpressions: ['veth', 'e1000e'] },
        { feature: 'pci.device', matchExpressions: { vendor: '8086' }, matchName: 'x' },
      ],
    });
    assert.equal(legacy, false);
    assert.deepEqual(rule.matchFeatures, [
      {
        feature: 'kernel.loadedmodule',
        matchExpressions: { veth: { op: 'Exists' }, e1000e: { op: 'Exists' } },
      },
      {
        feature: 'pci.device',
        matchExpressions: { vendor: { op: 'In', value: ['8086'] } },
        matchName: { op: 'In', value: ['x'] },
      },
    ]);
  });
  const bad: [unknown, string][] = [
    [{ name: 'x', matchOn: [{ gpuId: ['1'] }] }, 'matchOn[0].gpuId'],
    [{ name: 'x', matchOn: [{ loadedKMod: ['a'] }], labels: {} }, 'labels'],
    [{ matchOn: [] }, 'name'],
    [{ name: 'x', matchFeature: [] }, 'matchFeature'],
    [
      { name: 'x', matchFeatures: [{ feature: 'a.b', matchExpression: {} }] },
      'matchFeatures[0].matchExpression',
    ],
    [
      {
        name: 'x',
        matchFeatures: [{ feature: 'a.b', matchExpressions: { k: { op: 'In', vlaue: ['1'] } } }],
      },
      'matchFeatures[0].matchExpressions.k.vlaue',
    ],
  ];
  it('lists the keys a rule may have, the legacy form included', () => {
    assert.throws(
      () => toCustomRule({ name: 'x', matchFeature: [] }),
      (e: unknown) =>
        e instanceof CustomRuleError &&
        /^unknown key; use name, labels, .*matchAny \(or name, value, matchOn\)$/.test(e.detail),
    );
    assert.throws(
      () => toCustomRule({ name: 'x', matchAny: [{ matchFeatures: [], extra: 1 }] }),
      (e: unknown) =>
        e instanceof CustomRuleError &&
        e.field === 'matchAny[0].extra' &&
        e.detail === 'unknown key; use matchFeatures',
    );
  });
  for (const [raw, field] of bad) {
    it(`names ${field} when it is wrong`, () => {
      assert.throws(
        () => toCustomRule(raw),
        (e: unknown) => e instanceof CustomRuleError && e.field === field,
      );
    });
  }
});

describe('the documented cpuid mapping', () => {
  const readme = readFileSync(join(repoRoot(), 'src/nfd/worker/README.md'), 'utf8');
  function table(heading: string): Record<string, string> {
    const start = readme.indexOf(`### ${heading}\n`);
    assert.ok(start >= 0, `README has a "### ${heading}" section`);
    const rest = readme.slice(start + heading.length + 5);
    const section = rest.slice(0, rest.search(/\n#|$/));
    const out: Record<string, string> = {};
    for (const m of section.matchAll(/^\| `([^`]+)` +\| `([^`]+)` +\|$/gm)) out[m[1]!] = m[2]!;
    return out;
  }
  it('README lists exactly the x86 table of the code', () =>
    assert.deepEqual(table('x86'), { ...X86_FLAG_NAMES }));
  it('README lists exactly the arm64 table of the code', () =>
    assert.deepEqual(table('arm64'), { ...ARM64_FLAG_NAMES }));
});
