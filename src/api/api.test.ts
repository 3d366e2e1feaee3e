import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Nodes } from '../runtime/resources.js';
import { PACKAGE_ROOT } from '../version.js';
import { CRD_DIR, renderCrdFiles } from './generate.js';
import {
  ALL_RESOURCES,
  HWE_RESOURCES,
  Modules,
  NodeFeatureRules,
  PreflightValidations,
  apiResource,
  apiVersionOf,
  crdName,
  customResourceDefinition,
  resourcePath,
  structuralProblems,
  type Module,
} from './index.js';

describe('generated CRDs', () => {
  it('config/crd matches src/api (run `npm run gen:crds` after changing a definition)', () => {
    const root = join(PACKAGE_ROOT, CRD_DIR);
    const files = renderCrdFiles();
    for (const [rel, text] of files) {
      const p = join(root, rel);
      assert.ok(existsSync(p), `${CRD_DIR}/${rel} is missing`);
      assert.equal(readFileSync(p, 'utf8'), text, `${CRD_DIR}/${rel} is out of date`);
    }
    for (const sub of ['bases', 'test-only'])
      for (const f of readdirSync(join(root, sub)))
        assert.ok(files.has(`${sub}/${f}`), `${CRD_DIR}/${sub}/${f} has no definition in src/api`);
  });

  it('keeps the test-only stand-ins for foreign APIs out of the installable set', () => {
    for (const d of HWE_RESOURCES) assert.ok(!d.foreign, d.kind);
    const kustomization = renderCrdFiles().get('kustomization.yaml') ?? '';
    assert.doesNotMatch(kustomization, /test-only/);
  });

  for (const def of ALL_RESOURCES) {
    it(`${crdName(def)}: structural schemas, one storage version, status as declared`, () => {
      const crd = customResourceDefinition(def);
      assert.equal(crd.spec.versions.filter((v) => v.storage).length, 1);
      for (const v of crd.spec.versions) {
        assert.deepEqual(structuralProblems(v.schema.openAPIV3Schema), [], v.name);
        assert.equal(v.subresources !== undefined, def.status);
        const cols = v.additionalPrinterColumns ?? [];
        for (const c of cols)
          assert.match(c.jsonPath, /^\./, `${c.name}: JSONPath starts with a dot`);
        // A printer column prints only the first value a path yields; [*] would mislead.
        for (const c of cols) assert.doesNotMatch(c.jsonPath, /\[\*\]/, c.name);
      }
    });
  }

  it('short names of the issue exist', () => {
    const short = new Map(
      ALL_RESOURCES.flatMap((d) => (d.shortNames ?? []).map((s) => [s, d.kind])),
    );
    const want: Array<[string, string]> = [
      ['nfr', 'NodeFeatureRule'],
      ['nfg', 'NodeFeatureGroup'],
      ['nmc', 'NodeModulesConfig'],
      ['mic', 'ModuleImagesConfig'],
      ['mbsc', 'ModuleBuildSignConfig'],
      ['pfv', 'PreflightValidation'],
      ['pfvo', 'PreflightValidationOCP'],
      ['mcm', 'ManagedClusterModule'],
    ];
    for (const [s, kind] of want) assert.equal(short.get(s), kind, s);
  });

  it('carries the upstream defaults and the exactly-one-of rule of kernel mappings', () => {
    const crd = customResourceDefinition(HWE_RESOURCES.find((d) => d.kind === 'Module')!);
    const text = JSON.stringify(crd);
    assert.match(text, /"default":"\/opt"/);
    assert.match(text, /has both literal and regexp; keep exactly one of them/);
    assert.match(text, /needs exactly one of literal \(a kernel release/);
  });
});

describe('structuralProblems', () => {
  const cases: Array<[string, unknown, RegExp | null]> = [
    ['typed object', { type: 'object', properties: { a: { type: 'string' } } }, null],
    ['missing type', { properties: { a: {} } }, /\.a: no type/],
    ['anyOf without int-or-string', { type: 'object', properties: { a: { anyOf: [] } } }, /anyOf/],
    [
      'int-or-string',
      { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
      null,
    ],
    ['const', { type: 'string', const: 'x' }, /uses const/],
    ['patternProperties', { type: 'object', patternProperties: {} }, /patternProperties/],
    ['nested in items', { type: 'array', items: { properties: {} } }, /\[\]: no type/],
    ['preserved', { 'x-kubernetes-preserve-unknown-fields': true }, null],
  ];
  for (const [name, schema, problem] of cases)
    it(name, () => {
      const p = structuralProblems(schema).join('\n');
      if (problem) assert.match(p, problem);
      else assert.equal(p, '');
    });
});

describe('resourcePath', () => {
  const cases: Array<[string, string]> = [
    [
      resourcePath(Modules, { namespace: 'ns', name: 'm' }),
      '/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/ns/modules/m',
    ],
    [
      resourcePath(Modules, { namespace: 'ns' }),
      '/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/ns/modules',
    ],
    [resourcePath(Modules), '/apis/kmm.sigs.x-k8s.io/v1beta1/modules'],
    [
      resourcePath(Modules, { namespace: 'ns', name: 'm', subresource: 'status' }),
      '/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/ns/modules/m/status',
    ],
    // Cluster-scoped: a namespace is ignored.
    [
      resourcePath(NodeFeatureRules, { namespace: 'x', name: 'r' }),
      '/apis/nfd.k8s-sigs.io/v1alpha1/nodefeaturerules/r',
    ],
    [
      resourcePath(PreflightValidations, { name: 'p' }),
      '/apis/kmm.sigs.x-k8s.io/v1beta2/preflightvalidations/p',
    ],
    [resourcePath(Nodes, { name: 'n 1' }), '/api/v1/nodes/n%201'],
  ];
  for (const [got, want] of cases) it(want, () => assert.equal(got, want));

  it('gives the storage version unless asked for another', () => {
    const nrt = ALL_RESOURCES.find((d) => d.kind === 'NodeResourceTopology')!;
    assert.equal(apiResource(nrt).version, 'v1alpha2');
    assert.equal(apiResource(nrt, 'v1alpha1').version, 'v1alpha1');
    assert.throws(() => apiResource(nrt, 'v1'), /no version v1/);
    assert.equal(apiVersionOf(Modules), 'kmm.sigs.x-k8s.io/v1beta1');
  });
});

describe('types', () => {
  it('describe the seed Module as the code sees it', () => {
    // Compile-time check that the static type follows the schema; the values are then read back.
    const m: Module = {
      apiVersion: apiVersionOf(Modules),
      kind: 'Module',
      metadata: { name: 'my-kmod', namespace: 'default' },
      spec: {
        selector: { 'node-role.kubernetes.io/worker': '' },
        moduleLoader: {
          container: {
            modprobe: { moduleName: 'my-kmod', firmwarePath: '/firmware' },
            kernelMappings: [
              { regexp: '^.+$', containerImage: 'r/my-kmod:${KERNEL_FULL_VERSION}' },
            ],
            imagePullPolicy: 'Always',
          },
        },
      },
    };
    assert.equal(m.spec.moduleLoader?.container.kernelMappings[0]?.regexp, '^.+$');
  });
});
