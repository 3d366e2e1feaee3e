import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hostFixture } from '../../../test/fixtures/hosts/index.js';
import { buildConfig, parseConfigText } from './config.js';
import { buildNodeFeature, discover, labelProblem, NODE_NAME_LABEL } from './discover.js';
import { resolveHostPaths } from './hostfs.js';
import { loadConfig } from './worker.js';

const NS = 'feature.node.kubernetes.io/';
const NOW = new Date('2026-06-01T00:00:00Z');

async function run(host: 'intel-rhcos' | 'amd-debian', configYaml = '', root?: string) {
  const config = buildConfig(configYaml ? await parseConfigText(configYaml) : {});
  return discover({
    paths: resolveHostPaths(root ?? hostFixture(host)),
    config,
    nodeName: `node-${host}`,
    now: NOW,
  });
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nfd-worker-test-'));
  after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const INTEL_CPUID = [
  'ADX',
  'AESNI',
  'AVX',
  'AVX2',
  'AVX512BW',
  'AVX512CD',
  'AVX512DQ',
  'AVX512F',
  'AVX512VL',
  'AVX512VNNI',
  'CMPXCHG8',
  'FLUSH_L1D',
  'FMA3',
  'FXSR',
  'HLE',
  'IA32_ARCH_CAP',
  'IBPB',
  'IBRS',
  'LAHF',
  'MD_CLEAR',
  'MOVBE',
  'MPX',
  'OSXSAVE',
  'PPIN',
  'RTM',
  'STIBP',
  'SYSCALL',
  'SYSEE',
  'VMX',
  'X86_64_V1',
  'X86_64_V2',
  'X86_64_V3',
  'X86_64_V4',
  'X87',
  'XGETBV1',
  'XSAVE',
  'XSAVEC',
  'XSAVEOPT',
  'XSAVES',
];

describe('discovery on the intel-rhcos host', async () => {
  const r = await run('intel-rhcos');

  it('publishes exactly the expected labels', () => {
    const want: Record<string, string> = {
      'custom-intel.nic.e1000e': 'true',
      'custom-nvidia.gpu': 'a100',
      'example-custom-feature': 'true',
      [`${NS}cpu-cstate.enabled`]: 'true',
      [`${NS}cpu-hardware_multithreading`]: 'true',
      [`${NS}cpu-model.family`]: '6',
      [`${NS}cpu-model.hypervisor`]: 'none',
      [`${NS}cpu-model.id`]: '85',
      [`${NS}cpu-model.vendor_id`]: 'Intel',
      [`${NS}cpu-power.sst_bf.enabled`]: 'true',
      [`${NS}cpu-pstate.scaling_governor`]: 'performance',
      [`${NS}cpu-pstate.status`]: 'active',
      [`${NS}cpu-pstate.turbo`]: 'true',
      [`${NS}kernel-config.NO_HZ`]: 'true',
      [`${NS}kernel-config.NO_HZ_FULL`]: 'true',
      [`${NS}kernel-config.NO_HZ_IDLE`]: 'true',
      [`${NS}kernel-selinux.enabled`]: 'true',
      [`${NS}kernel-version.full`]: '4.18.0-372.46.1.el8_6.x86_64',
      [`${NS}kernel-version.major`]: '4',
      [`${NS}kernel-version.minor`]: '18',
      [`${NS}kernel-version.revision`]: '0',
      [`${NS}memory-numa`]: 'true',
      [`${NS}network-sriov.capable`]: 'true',
      [`${NS}network-sriov.configured`]: 'true',
      [`${NS}pci-0302_10de.present`]: 'true',
      [`${NS}storage-nonrotationaldisk`]: 'true',
      [`${NS}system-os_release.ID`]: 'rhcos',
      [`${NS}system-os_release.VERSION_ID`]: '4.12',
      [`${NS}system-os_release.VERSION_ID.major`]: '4',
      [`${NS}system-os_release.VERSION_ID.minor`]: '12',
      [`${NS}usb-ff_0403_6001.present`]: 'true',
      'future.example.com/kept': 'true',
      'gpu-present': 'true',
      'kernel.example.com/new-enough': 'true',
      'vendor.example.com/gpu-driver': '535.129.03',
      'vendor.example.com/label-only': 'yes',
      'vendor.example.com/numa-kernel': 'true',
    };
    for (const f of INTEL_CPUID) want[`${NS}cpu-cpuid.${f}`] = 'true';
    assert.deepEqual(r.labels, Object.fromEntries(Object.entries(want).sort()));
    assert.deepEqual(r.warnings, []);
  });

  it('records cpu features', () => {
    assert.deepEqual(r.features.attributes['cpu.topology']!.elements, {
      hardware_multithreading: 'true',
      socket_count: '2',
    });
    assert.deepEqual(r.features.attributes['cpu.rdt']!.elements, {
      RDTCMT: 'true',
      RDTL3CA: 'true',
      RDTL3CA_NUM_CLOSID: '16',
      RDTMBA: 'true',
      RDTMBM: 'true',
      RDTMON: 'true',
    });
    // Blacklisted names are features even though they are not labels.
    assert.ok(r.features.flags['cpu.cpuid']!.elements.SSE42);
    assert.ok(r.features.flags['cpu.cpuid']!.elements.AVX512F);
  });

  it('records kernel features', () => {
    const loaded = Object.keys(r.features.flags['kernel.loadedmodule']!.elements);
    assert.deepEqual(loaded, [
      'br_netfilter',
      'bridge',
      'e1000e',
      'i40e',
      'nf_conntrack',
      'nvidia',
      'nvidia_uvm',
      'overlay',
      'veth',
    ]);
    const enabled = Object.keys(r.features.flags['kernel.enabledmodule']!.elements);
    assert.ok(enabled.includes('xfs') && enabled.includes('loop') && enabled.includes('veth'));
    const config = r.features.attributes['kernel.config']!.elements;
    assert.equal(config.NO_HZ_FULL, 'y');
    assert.equal(config.VETH, 'm');
    assert.equal(config.MODULE_SIG_HASH, 'sha256');
    assert.equal(config.PREEMPT, undefined);
    assert.deepEqual(r.features.attributes['kernel.selinux']!.elements, { enabled: 'true' });
  });

  it('records devices with sysfs symlinks followed', () => {
    const gpu = r.features.instances['pci.device']!.elements.find(
      (d) => d.attributes.vendor === '10de',
    );
    assert.deepEqual(gpu?.attributes, {
      class: '0302',
      device: '20b0',
      'iommu_group/type': 'DMA',
      subsystem_device: '134f',
      subsystem_vendor: '10de',
      vendor: '10de',
    });
    assert.equal(r.features.instances['pci.device']!.elements.length, 5);
    assert.deepEqual(
      r.features.instances['network.device']!.elements.map((d) => d.attributes),
      [
        { mtu: '1500', name: 'eno1', operstate: 'up', speed: '1000' },
        {
          mtu: '9000',
          name: 'ens1f0',
          operstate: 'up',
          speed: '10000',
          sriov_numvfs: '8',
          sriov_totalvfs: '64',
        },
      ],
    );
    assert.deepEqual(
      r.features.instances['network.virtual']!.elements.map((d) => d.attributes.name),
      ['cni0', 'lo', 'veth3a9c1f2e'],
    );
    assert.deepEqual(
      r.features.instances['usb.device']!.elements.map((d) => d.attributes),
      [
        { class: 'ff', device: '6001', serial: 'A9J1WXYZ', vendor: '0403' },
        { class: '03', device: 'c31c', vendor: '046d' },
        { class: '09', device: '0002', vendor: '1d6b' },
      ],
    );
    assert.deepEqual(
      r.features.instances['storage.block']!.elements.map((d) => [
        d.attributes.name,
        d.attributes.rotational,
      ]),
      [
        ['nvme0n1', '0'],
        ['sda', '1'],
      ],
    );
    assert.deepEqual(r.features.attributes['memory.hugepages']!.elements, {
      enabled: 'true',
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '1024',
    });
    assert.deepEqual(r.features.attributes['memory.numa']!.elements, {
      is_numa: 'true',
      node_count: '2',
    });
    assert.deepEqual(r.features.attributes['memory.swap']!.elements, { enabled: 'false' });
  });

  it('records system and local features', () => {
    assert.equal(r.features.attributes['system.osrelease']!.elements.OPENSHIFT_VERSION, '4.12');
    assert.deepEqual(r.features.attributes['system.name']!.elements, {
      nodename: 'node-intel-rhcos',
    });
    assert.deepEqual(r.features.attributes['system.dmiid']!.elements, {
      product_name: 'PowerEdge R740',
      sys_vendor: 'Dell Inc.',
    });
    const local = r.features.attributes['local.feature']!.elements;
    assert.equal(local['gpu.internal.serial'], '1324321000151', '# +no-label keeps the feature');
    assert.equal(local['vendor.example.com/label-only'], undefined, '# +no-feature drops it');
    assert.equal(local['expired.example.com/old'], undefined);
    assert.equal(local['hidden.example.com/never'], undefined);
    assert.equal(r.features.attributes['local.label']!.elements['gpu.internal.serial'], undefined);
  });
});

describe('discovery on the amd-debian host', async () => {
  const r = await run('amd-debian');
  it('publishes exactly the expected labels', () => {
    const cpuid = Object.keys(r.labels)
      .filter((k) => k.includes('cpu-cpuid.'))
      .map((k) => k.slice(k.lastIndexOf('.') + 1));
    assert.ok(cpuid.includes('SEV') && cpuid.includes('SVM') && cpuid.includes('X86_64_V3'));
    assert.ok(
      !cpuid.includes('X86_64_V4') && !cpuid.includes('SSE42') && !cpuid.includes('AVX512F'),
    );
    const rest = Object.fromEntries(
      Object.entries(r.labels).filter(([k]) => !k.includes('cpu-cpuid.')),
    );
    assert.deepEqual(rest, {
      [`${NS}cpu-hardware_multithreading`]: 'false',
      [`${NS}cpu-model.family`]: '25',
      [`${NS}cpu-model.hypervisor`]: 'none',
      [`${NS}cpu-model.id`]: '1',
      [`${NS}cpu-model.vendor_id`]: 'AMD',
      [`${NS}cpu-security.sev.enabled`]: 'true',
      [`${NS}cpu-security.sev.es.enabled`]: 'true',
      [`${NS}kernel-config.NO_HZ`]: 'true',
      [`${NS}kernel-config.NO_HZ_IDLE`]: 'true',
      [`${NS}kernel-version.full`]: '6.1.0-18-amd64',
      [`${NS}kernel-version.major`]: '6',
      [`${NS}kernel-version.minor`]: '1',
      [`${NS}kernel-version.revision`]: '0',
      [`${NS}memory-nv.dax`]: 'true',
      [`${NS}memory-nv.present`]: 'true',
      [`${NS}memory-swap`]: 'true',
      [`${NS}network-sriov.capable`]: 'true',
      [`${NS}pci-0300_1a03.present`]: 'true',
      [`${NS}system-os_release.ID`]: 'debian',
      [`${NS}system-os_release.VERSION_ID`]: '12',
      [`${NS}system-os_release.VERSION_ID.major`]: '12',
      'rdma.available': 'true',
      'rdma.capable': 'true',
    });
  });
  it('keeps the SEV counts as features for rules', () => {
    assert.deepEqual(r.features.attributes['cpu.security']!.elements, {
      'sev.asids': '509',
      'sev.enabled': 'true',
      'sev.encrypted_state_ids': '14',
      'sev.es.enabled': 'true',
    });
    assert.equal(
      r.features.attributes['kernel.config']!.elements.MLX5_CORE,
      'm',
      'read from /proc/config.gz',
    );
    assert.deepEqual(r.features.instances['usb.device']!.elements, [], 'no USB bus is no devices');
  });
});

describe('configuration options', () => {
  it('labelSources limits labels; featureSources limits published features', async () => {
    const r = await run(
      'intel-rhcos',
      'core: {labelSources: [pci, system], featureSources: [all, -cpu, -local]}',
    );
    assert.deepEqual(
      Object.keys(r.labels)
        .map((k) => k.split('/')[1]!.split('-')[0])
        .filter((v, i, a) => a.indexOf(v) === i),
      ['pci', 'system'],
    );
    assert.equal(r.features.flags['cpu.cpuid'], undefined);
    assert.equal(r.features.attributes['local.label'], undefined);
    assert.ok(r.features.instances['pci.device']);
  });

  it('labelWhiteList filters on the name after the prefix', async () => {
    const { config, labelFilter } = await loadConfig({
      optionsText: 'core: {labelWhiteList: "^(cpu-model|rdma)"}',
    });
    const r = await discover({
      paths: resolveHostPaths(hostFixture('amd-debian')),
      config,
      nodeName: 'n',
      labelFilter,
    });
    assert.deepEqual(Object.keys(r.labels).sort(), [
      `${NS}cpu-model.family`,
      `${NS}cpu-model.hypervisor`,
      `${NS}cpu-model.id`,
      `${NS}cpu-model.vendor_id`,
      'rdma.available',
      'rdma.capable',
    ]);
  });

  it('an invalid labelWhiteList is an error naming the option', async () => {
    await assert.rejects(
      loadConfig({ optionsText: 'core: {labelWhiteList: "(unclosed"}' }),
      /core\.labelWhiteList: invalid regular expression/,
    );
  });

  it('pci and usb label fields and class whitelists', async () => {
    const r = await run(
      'intel-rhcos',
      'core: {labelSources: [pci, usb]}\nsources:\n  pci: {deviceClassWhitelist: ["02"], deviceLabelFields: [class, vendor, device]}\n  usb: {deviceClassWhitelist: ["03", "09"], deviceLabelFields: [vendor]}',
    );
    assert.deepEqual(r.labels, {
      [`${NS}pci-0200_8086_1572.present`]: 'true',
      [`${NS}pci-0200_8086_1572.sriov.capable`]: 'true',
      [`${NS}pci-0200_8086_15b8.present`]: 'true',
      [`${NS}usb-046d.present`]: 'true',
      [`${NS}usb-1d6b.present`]: 'true',
    });
  });

  it('kernel configOpts label raw values and y/m as true', async () => {
    const r = await run(
      'intel-rhcos',
      'core: {labelSources: [kernel]}\nsources: {kernel: {configOpts: [X86, MODULE_SIG_HASH, NR_CPUS, E1000E, PREEMPT]}}',
    );
    const config = Object.fromEntries(
      Object.entries(r.labels).filter(([k]) => k.includes('kernel-config.')),
    );
    assert.deepEqual(config, {
      [`${NS}kernel-config.E1000E`]: 'true',
      [`${NS}kernel-config.MODULE_SIG_HASH`]: 'sha256',
      [`${NS}kernel-config.NR_CPUS`]: '8192',
      [`${NS}kernel-config.X86`]: 'true',
    });
  });

  it('kconfigFile is read before the search path', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'kconfig'), 'CONFIG_NO_HZ=y\nCONFIG_ONLY_HERE=m\n');
    const r = await run(
      'intel-rhcos',
      `sources: {kernel: {kconfigFile: "${join(dir, 'kconfig')}"}}`,
    );
    assert.deepEqual(r.features.attributes['kernel.config']!.elements, {
      NO_HZ: 'y',
      ONLY_HERE: 'm',
    });
    assert.equal(r.labels[`${NS}kernel-config.NO_HZ_FULL`], undefined);
  });

  it('custom rules from the config, both forms, see earlier rules through rule.matched', async () => {
    const { config } = await loadConfig({
      optionsText: `
sources:
  custom:
    - name: seed.example
      matchOn:
        - loadedKMod: ["e1000e"]
        - pciId: {class: ["0200"], vendor: ["8086"]}
    - name: legacy.nomatch
      matchOn:
        - pciId: {vendor: ["15b3"]}
    - name: modern
      labels: {modern.example.com/gpu: "true"}
      vars: {has.gpu: "yes"}
      matchFeatures:
        - feature: pci.device
          matchExpressions: {vendor: "10de"}
    - name: chained
      labels: {chained.example.com/after-gpu: "true"}
      matchFeatures:
        - feature: rule.matched
          matchExpressions: {has.gpu: {op: In, value: ["yes"]}}
    - name: kconfig.legacy
      value: kconfig-ok
      matchOn:
        - kConfig: {NO_HZ_FULL: "true"}
    - name: kconfig-modern
      labels: {kconfig.example.com/modern: "true"}
      matchFeatures:
        - feature: kernel.config
          matchExpressions: {NO_HZ_FULL: "y"}
    - name: bad name
      matchOn: [{loadedKMod: [veth]}]
`,
    });
    const r = await discover({
      paths: resolveHostPaths(hostFixture('intel-rhcos')),
      config,
      nodeName: 'worker-1',
      now: NOW,
    });
    assert.equal(r.labels['custom-seed.example'], 'true');
    assert.equal(r.labels['custom-legacy.nomatch'], undefined);
    assert.equal(r.labels['modern.example.com/gpu'], 'true');
    assert.equal(r.labels['has.gpu'], undefined, 'vars are not labels');
    assert.equal(r.labels['chained.example.com/after-gpu'], 'true');
    assert.equal(r.labels['custom-kconfig.legacy'], 'kconfig-ok', 'legacy kConfig sees y as true');
    assert.equal(r.labels['kconfig.example.com/modern'], 'true', 'kernel.config keeps y');
    assert.equal(r.labels['custom-bad name'], undefined, 'invalid label name left out');
    assert.ok(r.warnings.some((w) => w.source === 'custom' && /custom-bad name/.test(w.message)));
  });

  it('a custom rule with a wrong value count fails where evaluation reaches it, as upstream', async () => {
    const yaml =
      'sources:\n  custom:\n    - name: bad\n      labels: {bad: "true"}\n      matchFeatures:\n        - feature: kernel.version\n          matchExpressions: {major: {op: Gt, value: [a, b]}}\n    - name: missing\n      labels: {missing: "true"}\n      matchAny:\n        - matchFeatures: [{feature: kernel.version, matchExpressions: {nokey: {op: Gt, value: [a, b]}}}]\n        - matchFeatures: [{feature: kernel.version, matchExpressions: {major: {op: Exists}}}]\n';
    await loadConfig({ optionsText: yaml });
    const r = await run('intel-rhcos', yaml);
    assert.ok(
      r.warnings.some((w) =>
        /"bad".*matchFeatures\[0\]\.matchExpressions\.major\.value/.test(w.message),
      ),
    );
    assert.equal(r.labels['bad'], undefined);
    assert.equal(r.labels['missing'], 'true', 'not reached on a missing key');
  });

  it('a custom rule the API would refuse is a configuration error naming its field', async () => {
    await assert.rejects(
      loadConfig({
        optionsText:
          'sources:\n  custom:\n    - name: bad\n      matchOn: [{pciID: {vendor: [1]}}]\n',
      }),
      /sources\.custom\[0\]\.matchOn\[0\]\.pciID: unknown matcher/,
    );
  });
});

describe('inputs that change or are missing', () => {
  it('reads features.d and custom.d again on every pass', async () => {
    const root = tempDir();
    cpSync(hostFixture('intel-rhcos'), root, { recursive: true, verbatimSymlinks: true });
    const before = await run('intel-rhcos', '', root);
    assert.equal(before.labels['gpu-present'], 'true');
    const fd = join(root, 'etc/kubernetes/node-feature-discovery/features.d');
    writeFileSync(
      join(fd, 'vendor-gpu'),
      'gpu-present=false\n# +expiry-time=2026-05-01T00:00:00Z\nnew.example.com/expired=x\n',
    );
    writeFileSync(
      join(root, 'etc/kubernetes/node-feature-discovery/custom.d/legacy.yaml'),
      '- {name: replaced, matchOn: [{loadedKMod: [veth]}]}\n',
    );
    const after = await run('intel-rhcos', '', root);
    assert.equal(after.labels['gpu-present'], 'false');
    assert.equal(after.labels['new.example.com/expired'], undefined);
    assert.equal(after.labels['custom-replaced'], 'true');
    assert.equal(after.labels['custom-intel.nic.e1000e'], undefined);
  });

  it('skips executables in features.d (hooks) with a warning', async () => {
    const root = tempDir();
    cpSync(hostFixture('intel-rhcos'), root, { recursive: true, verbatimSymlinks: true });
    const fd = join(root, 'etc/kubernetes/node-feature-discovery/features.d');
    writeFileSync(join(fd, 'hook'), '#!/bin/sh\necho hook.example.com/ran\n', { mode: 0o755 });
    writeFileSync(join(fd, 'plain'), 'plain.example.com/read=yes\n', { mode: 0o644 });
    const r = await run('intel-rhcos', '', root);
    assert.equal(r.labels['plain.example.com/read'], 'yes');
    assert.deepEqual(
      Object.keys(r.labels).filter((k) => k.includes('hook')),
      [],
      'nothing from the executable',
    );
    assert.ok(
      r.warnings.some((w) => w.source === 'local' && /hook: executable, skipped/.test(w.message)),
    );
  });

  it('skips a broken custom.d file and reports it', async () => {
    const root = tempDir();
    cpSync(hostFixture('intel-rhcos'), root, { recursive: true, verbatimSymlinks: true });
    writeFileSync(
      join(root, 'etc/kubernetes/node-feature-discovery/custom.d/legacy.yaml'),
      '- name: x\n  matchOn: [{loadedKmod: [veth]}]\n',
    );
    const r = await run('intel-rhcos', '', root);
    assert.equal(r.labels['example-custom-feature'], 'true', 'other files still apply');
    assert.ok(
      r.warnings.some((w) =>
        /legacy\.yaml: rules\[0\]\.matchOn\[0\]\.loadedKmod: unknown matcher/.test(w.message),
      ),
    );
  });

  it('an empty host root gives warnings, not a crash', async () => {
    const r = await run('intel-rhcos', '', tempDir());
    assert.ok(r.warnings.length > 0);
    assert.deepEqual(r.features.attributes['system.name']!.elements, {
      nodename: 'node-intel-rhcos',
    });
    assert.deepEqual(Object.keys(r.labels), []);
  });

  it('publishes the feature sets upstream publishes when empty, and leaves out dmiid', async () => {
    const r = await run('intel-rhcos', '', tempDir());
    assert.deepEqual(r.features.flags['cpu.cpuid'], { elements: {} });
    assert.deepEqual(r.features.attributes['cpu.coprocessor'], { elements: {} });
    assert.equal(r.features.attributes['system.dmiid'], undefined);
    assert.deepEqual(r.features.attributes['kernel.kvm']!.elements, { enabled: 'false' });
  });

  it('kernel.kvm is enabled when the kernel created the kvm device', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'sys/devices/virtual/misc/kvm'), { recursive: true });
    const r = await run('intel-rhcos', '', root);
    assert.deepEqual(r.features.attributes['kernel.kvm']!.elements, { enabled: 'true' });
  });
});

describe('NodeFeature object', () => {
  it('carries the node-name label, pod annotation and owner references', () => {
    const nf = buildNodeFeature({
      nodeName: 'n1',
      namespace: 'nfd',
      result: { features: { flags: {}, attributes: {}, instances: {} }, labels: { a: 'b' } },
      podUid: 'u1',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u1' }],
    });
    assert.equal(nf.apiVersion, 'nfd.k8s-sigs.io/v1alpha1');
    assert.equal(nf.metadata.labels[NODE_NAME_LABEL], 'n1');
    assert.equal(nf.metadata.annotations?.['nfd.node.kubernetes.io/worker.pod.uid'], 'u1');
    assert.equal(nf.metadata.ownerReferences?.[0]?.uid, 'u1');
    assert.deepEqual(nf.spec.labels, { a: 'b' });
  });

  it('labelProblem follows Kubernetes label syntax', () => {
    assert.equal(labelProblem('feature.node.kubernetes.io/cpu-model.id', '85'), undefined);
    assert.equal(labelProblem('rdma.capable', 'true'), undefined);
    assert.equal(labelProblem('a', ''), undefined);
    assert.match(labelProblem('has space', 'x') ?? '', /name/);
    assert.match(labelProblem('Bad_Prefix/x', 'x') ?? '', /prefix/);
    assert.match(labelProblem('x', 'ends-') ?? '', /value/);
    assert.match(labelProblem('x', 'v'.repeat(64)) ?? '', /value/);
  });
});
