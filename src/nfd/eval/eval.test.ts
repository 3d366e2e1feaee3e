import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runHwe } from '../../../test/support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hwe-nfd-eval-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A worker's NodeFeature: veth loaded, an Intel NIC and an NVIDIA GPU, RHEL 9 kernel. */
const NODE_FEATURE = `
apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeature
metadata:
  name: worker-0
  namespace: node-feature-discovery
  labels:
    nfd.node.kubernetes.io/node-name: worker-0
spec:
  labels:
    cpu-model.vendor_id: Intel
    kubernetes.io/hostname-spoof: "x"
  features:
    flags:
      kernel.loadedmodule:
        elements:
          veth: {}
          e1000e: {}
      cpu.cpuid:
        elements:
          AVX2: {}
          AVX512F: {}
    attributes:
      kernel.version:
        elements:
          full: 5.14.0-284.30.1.el9_2.x86_64
          major: "5"
          minor: "14"
    instances:
      pci.device:
        elements:
          - attributes: {vendor: "8086", class: "0200", device: "1521"}
          - attributes: {vendor: "10de", class: "0300", device: "20b0"}
`;

/** The seed's NodeFeatureRule (OpenShift group), verbatim. */
const SEED_RULE = `
apiVersion: nfd.openshift.io/v1
kind: NodeFeatureRule
metadata:
  name: example-rule
spec:
  rules:
    - name: "example rule"
      labels:
        "example-custom-feature": "true"
      # Label is created if all of the rules below match
      matchFeatures:
        # Match if "veth" kernel module is loaded
        - feature: kernel.loadedmodule
          matchExpressions:
            veth: {op: Exists}
        # Match if any PCI device with vendor 8086 exists in the system
        - feature: pci.device
          matchExpressions:
            vendor: {op: In, value: ["8086"]}
`;

const MORE_RULES = `
apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeatureRule
metadata:
  name: b-gpu
spec:
  rules:
    - name: gpu
      labelsTemplate: |
        {{ range .pci.device }}gpu-{{ .vendor }}-{{ .device }}=present
        {{ end }}
      vars:
        has-gpu: "yes"
      matchFeatures:
        - feature: pci.device
          matchExpressions:
            class: {op: InRegexp, value: ["^03"]}
    - name: broken
      labels: {never: "x"}
      matchFeatures:
        - feature: kernel.version
          matchExpressions:
            major: {op: GtLt, value: ["9", "1"]}
    - name: needs-gpu-var
      labels: {gpu-node: "true"}
      annotations: {gpu-note: "checked"}
      extendedResources: {kernel-major: "@kernel.version.major"}
      taints:
        - {key: example.com/gpu, value: "true", effect: NoSchedule}
      matchFeatures:
        - feature: rule.matched
          matchExpressions:
            has-gpu: {op: In, value: ["yes"]}
        - feature: kernel.version
          matchExpressions:
            full: {op: Gt, value: ["5.9"], type: version}
---
apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeatureRule
metadata:
  name: a-cpu
spec:
  rules:
    - name: avx512
      labels: {avx512: "true", gpu-node: "overwritten-later"}
      matchFeatures:
        - feature: cpu.cpuid
          matchName: {op: InRegexp, value: ["^AVX512"]}
`;

interface Output {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  extendedResources: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
}

async function evalJson(args: string[], input?: string): Promise<{ out: Output; stderr: string }> {
  const r = await runHwe(['nfd', 'eval', ...args], input === undefined ? {} : { input });
  assert.equal(r.code, 0, r.stderr);
  return { out: JSON.parse(r.stdout) as Output, stderr: r.stderr };
}

describe('hwe nfd eval', () => {
  const nf = file('nf.yaml', NODE_FEATURE);
  const seed = file('seed.yaml', SEED_RULE);
  const more = file('more.yaml', MORE_RULES);

  it('labels the seed example: veth loaded and a PCI device of vendor 8086', async () => {
    const { out, stderr } = await evalJson(['--features', nf, '--rules', seed]);
    assert.deepEqual(out, {
      labels: {
        'feature.node.kubernetes.io/cpu-model.vendor_id': 'Intel',
        'feature.node.kubernetes.io/example-custom-feature': 'true',
      },
      annotations: {},
      extendedResources: {},
      taints: [],
    });
    assert.match(stderr, /ignoring label kubernetes.io\/hostname-spoof/);
  });

  it('does not label a node without veth', async () => {
    const noVeth = file('noveth.yaml', NODE_FEATURE.replace('veth: {}', 'tun: {}'));
    const { out } = await evalJson(['--features', noVeth, '--rules', seed]);
    assert.equal(out.labels['feature.node.kubernetes.io/example-custom-feature'], undefined);
  });

  it('applies rules in name order with templates, vars, back-references, annotations, resources; reports the broken rule', async () => {
    const r = await runHwe(['nfd', 'eval', '--features', nf, '--rules', seed, '--rules', more]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Output;
    assert.deepEqual(out.labels, {
      'feature.node.kubernetes.io/avx512': 'true',
      'feature.node.kubernetes.io/cpu-model.vendor_id': 'Intel',
      'feature.node.kubernetes.io/example-custom-feature': 'true',
      'feature.node.kubernetes.io/gpu-10de-20b0': 'present',
      'feature.node.kubernetes.io/gpu-node': 'true',
    });
    assert.deepEqual(out.annotations, { 'feature.node.kubernetes.io/gpu-note': 'checked' });
    assert.deepEqual(out.extendedResources, { 'feature.node.kubernetes.io/kernel-major': '5' });
    assert.deepEqual(out.taints, [], 'taints need --enable-taints');
    assert.match(
      r.stderr,
      /NodeFeatureRule "b-gpu": rule "broken": matchFeatures\[0\]\.matchExpressions\.major\.value: value\[0\] must be less than value\[1\].*skipped/,
    );
    assert.equal(r.stderr.match(/skipped/g)?.length, 1);
  });

  it('a mistake evaluation does not reach is a warning, and the rule applies as upstream', async () => {
    const rules = file(
      'warn.yaml',
      `apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeatureRule
metadata: {name: w}
spec:
  rules:
    - name: unreached
      labels: {unreached: "true"}
      matchAny:
        - matchFeatures: [{feature: kernel.loadedmodule, matchExpressions: {veth: {op: Exists}}}]
        - matchFeatures: [{feature: kernel.loadedmodule, matchExpressions: {veth: {op: In}}}]
`,
    );
    const { out, stderr } = await evalJson(['--features', nf, '--rules', rules]);
    assert.equal(out.labels['feature.node.kubernetes.io/unreached'], 'true');
    assert.match(
      stderr,
      /warning: NodeFeatureRule "w": rule "unreached": matchAny\[1\]\.matchFeatures\[0\]\.matchExpressions\.veth\.value: must have at least one element/,
    );
    assert.doesNotMatch(stderr, /skipped/);
  });

  it('--enable-taints applies taints', async () => {
    const { out } = await evalJson(['--features', nf, '--rules', more, '--enable-taints']);
    assert.deepEqual(out.taints, [{ key: 'example.com/gpu', value: 'true', effect: 'NoSchedule' }]);
  });

  it('honours the master policy flags in their Go spellings', async () => {
    const rules = file(
      'ns.yaml',
      `apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeatureRule
metadata: {name: ns}
spec:
  rules:
    - name: namespaces
      labels:
        vendor.kubernetes.io/a: "1"
        denied.example.com/b: "1"
        feature.node.kubernetes.io/keep-me: "1"
        feature.node.kubernetes.io/drop-me: "1"
      taints: [{key: example.com/t, effect: NoExecute}]
`,
    );
    const { out, stderr } = await evalJson([
      '--features',
      nf,
      '--rules',
      rules,
      '-extra-label-ns=vendor.kubernetes.io',
      '-deny-label-ns',
      'denied.example.com',
      '-label-whitelist',
      '^(keep|a|cpu)',
      '-enable-taints',
    ]);
    assert.deepEqual(Object.keys(out.labels), [
      'feature.node.kubernetes.io/cpu-model.vendor_id',
      'feature.node.kubernetes.io/keep-me',
      'vendor.kubernetes.io/a',
    ]);
    assert.deepEqual(out.taints, [{ key: 'example.com/t', effect: 'NoExecute' }]);
    assert.match(
      stderr,
      /ignoring label denied\.example\.com\/b: namespace "denied\.example\.com" is not allowed/,
    );
    assert.match(
      stderr,
      /ignoring label feature\.node\.kubernetes\.io\/drop-me: "drop-me" does not match the label whitelist/,
    );
  });

  it('merges several NodeFeature objects of one node, the master namespace first', async () => {
    const extra = file(
      'extra.yaml',
      `apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeature
metadata:
  name: aaa-vendor-agent
  namespace: vendor
  labels: {nfd.node.kubernetes.io/node-name: worker-0}
spec:
  labels: {cpu-model.vendor_id: Overridden, vendor.example.com/agent: "yes"}
  features:
    flags:
      kernel.loadedmodule: {elements: {vendor_mod: {}}}
`,
    );
    const rules = file(
      'mods.yaml',
      `apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeatureRule
metadata: {name: mods}
spec:
  rules:
    - name: both-modules
      labels: {both: "true"}
      matchFeatures:
        - feature: kernel.loadedmodule
          matchExpressions: {veth: {op: Exists}, vendor_mod: {op: Exists}}
`,
    );
    const { out } = await evalJson(['--features', `${extra},${nf}`, '--rules', rules]);
    assert.equal(out.labels['feature.node.kubernetes.io/both'], 'true');
    assert.equal(out.labels['feature.node.kubernetes.io/cpu-model.vendor_id'], 'Overridden');
    assert.equal(out.labels['vendor.example.com/agent'], 'yes');
    // With the vendor namespace as the master's, the worker's object merges last and wins.
    const swapped = await evalJson([
      '--features',
      extra,
      '--features',
      nf,
      '--rules',
      rules,
      '--namespace',
      'vendor',
    ]);
    assert.equal(swapped.out.labels['feature.node.kubernetes.io/cpu-model.vendor_id'], 'Intel');
  });

  it('reads standard input for "-" and unpacks a List', async () => {
    const list = `apiVersion: v1
kind: List
items:
${SEED_RULE.trim()
  .split('\n')
  .map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`))
  .join('\n')}
`;
    const { out } = await evalJson(['--features', nf, '--rules', '-'], list);
    assert.equal(out.labels['feature.node.kubernetes.io/example-custom-feature'], 'true');
  });

  it('asks for --node when the objects describe several nodes', async () => {
    const other = file(
      'other.yaml',
      NODE_FEATURE.replace(/worker-0/g, 'worker-1').replace('veth: {}', 'tun: {}'),
    );
    const r = await runHwe(['nfd', 'eval', '--features', nf, '--features', other, '--rules', seed]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /several nodes \(worker-0, worker-1\); choose one with --node/);
    const one = await evalJson([
      '--features',
      nf,
      '--features',
      other,
      '--rules',
      seed,
      '--node',
      'worker-1',
    ]);
    assert.equal(one.out.labels['feature.node.kubernetes.io/example-custom-feature'], undefined);
  });

  const invalid: [string, () => string[], RegExp][] = [
    ['a missing --features', () => ['--rules', seed], /--features FILE is required/],
    ['an unreadable file', () => ['--features', join(dir, 'nope.yaml')], /nope\.yaml: cannot read/],
    [
      'invalid YAML',
      () => ['--features', file('bad.yaml', 'kind: [unclosed\n')],
      /bad\.yaml: document 1: invalid YAML/,
    ],
    [
      'an unknown kind',
      () => ['--features', nf, '--rules', file('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\n')],
      /cm\.yaml: document 1: kind: expected NodeFeature or NodeFeatureRule/,
    ],
    [
      'a wrong apiVersion',
      () => [
        '--features',
        file('v.yaml', NODE_FEATURE.replace('nfd.k8s-sigs.io/v1alpha1', 'nfd.k8s-sigs.io/v9')),
      ],
      /apiVersion: must be nfd\.k8s-sigs\.io\/v1alpha1/,
    ],
    [
      'a feature value that is not a string',
      () => ['--features', file('num.yaml', NODE_FEATURE.replace('major: "5"', 'major: 5'))],
      /spec\.features\.attributes\.kernel\.version\.elements\.major: must be a string/,
    ],
    [
      'a NodeFeatureRule without rules',
      () => [
        '--features',
        nf,
        '--rules',
        file(
          'norules.yaml',
          'apiVersion: nfd.k8s-sigs.io/v1alpha1\nkind: NodeFeatureRule\nmetadata: {name: x}\nspec: {}\n',
        ),
      ],
      /spec\.rules: must be a list/,
    ],
    ['no NodeFeature at all', () => ['--features', seed], /holds no NodeFeature object/],
    [
      'an unknown --node',
      () => ['--features', nf, '--node', 'ghost'],
      /no NodeFeature object is for node "ghost"/,
    ],
    [
      'a bad --label-whitelist',
      () => ['--features', nf, '--label-whitelist', '('],
      /--label-whitelist: invalid regular expression/,
    ],
  ];
  for (const [what, args, message] of invalid) {
    it(`exits 2 on ${what}`, async () => {
      const r = await runHwe(['nfd', 'eval', ...args()]);
      assert.equal(r.code, 2, r.stdout);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
    });
  }
});
