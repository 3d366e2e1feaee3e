import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Loose } from '../../api/decode.js';
import type { KernelMapping, Module, ModuleLoaderContainerSpec } from '../../api/kmm.js';
import type { KernelMappingErrorKind } from './errors.js';
import { compileKernelMapper, mergeBuild, mergeSign, resolveKernelMapping } from './mapper.js';
import type { MappableModule, ResolvedMapping } from './types.js';

function moduleWith(
  kernelMappings: Loose<KernelMapping>[],
  container: Loose<ModuleLoaderContainerSpec> = {},
): MappableModule {
  return {
    metadata: { name: 'my-kmod', namespace: 'drivers' },
    spec: {
      moduleLoader: {
        container: { modprobe: { moduleName: 'my_kmod' }, ...container, kernelMappings },
      },
    },
  };
}

function resolved(module: MappableModule, kernel: string): ResolvedMapping {
  const r = resolveKernelMapping(module, kernel);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function failure(module: MappableModule, kernel: string, kind: KernelMappingErrorKind) {
  const r = resolveKernelMapping(module, kernel);
  assert.ok(!r.ok, 'expected an error');
  assert.equal(r.error.kind, kind, r.error.message);
  return r.error;
}

describe('kernel mapping: which entry matches', () => {
  // [mappings, kernel, index of the expected match or -1 for none]
  const cases: Array<[string, Loose<KernelMapping>[], string, number]> = [
    ['one literal mapping', [{ literal: '1.2.3' }], '1.2.3', 0],
    ['literal is exact, not a prefix', [{ literal: '1.2.3' }], '1.2.3-4', -1],
    ['literal is exact, not a pattern', [{ literal: '1.2.*' }], '1.2.3', -1],
    ['one regexp mapping', [{ regexp: '1\\..*' }], '1.2.3', 0],
    ['regexp is unanchored', [{ regexp: '2\\.3' }], '1.2.3', 0],
    ['anchored regexp must match from the start', [{ regexp: '^2\\.3' }], '1.2.3', -1],
    ['anchored regexp must match to the end', [{ regexp: '^1\\.2$' }], '1.2.3', -1],
    ['no mapping works', [{ regexp: '1.2.2' }, { regexp: '0\\..*' }], '1.2.3', -1],
    [
      'first match wins over a later literal',
      [{ regexp: '^.+$' }, { literal: '1.2.3' }],
      '1.2.3',
      0,
    ],
    [
      'literal before a catch-all wins',
      [{ literal: '6.0.15-300.fc37.x86_64' }, { regexp: '^.+$' }],
      '6.0.15-300.fc37.x86_64',
      0,
    ],
    [
      'skips non-matching entries in order',
      [{ literal: '1.0.0' }, { regexp: '^2\\.' }, { regexp: 'el9' }, { regexp: '.' }],
      '5.14.0-284.30.1.el9_2.x86_64',
      2,
    ],
    [
      'the seed regexp with \\f (form feed) does not match a real fc37 kernel',
      [{ regexp: '^.+\\fc37\\.x86_64$' }, { regexp: '^.+$' }],
      '6.0.16-300.fc37.x86_64',
      1,
    ],
    [
      'the corrected regexp with \\. matches it',
      [{ regexp: '^.+\\.fc37\\.x86_64$' }, { regexp: '^.+$' }],
      '6.0.16-300.fc37.x86_64',
      0,
    ],
    [
      'the Japanese seed §4.7 regexp: \\x86 is a hex escape in RE2, so x86_64 never matches',
      [{ regexp: '^.*\\x86_64$' }],
      '4.18.0-348.2.1.el8_5.x86_64',
      -1,
    ],
    ['RE2 syntax: character classes', [{ regexp: '^5\\.14\\.\\d+-\\d+' }], '5.14.0-284.30.1', 0],
    ['a trailing + is ignored (literal)', [{ literal: '5.4.0' }], '5.4.0+', 0],
  ];
  for (const [name, mappings, kernel, want] of cases) {
    it(name, () => {
      const module = moduleWith(
        mappings.map((m, i) => ({ ...m, containerImage: `registry.example/img:${i}` })),
      );
      if (want < 0) {
        const e = failure(module, kernel, 'NoMatch');
        assert.equal(e.field, 'spec.moduleLoader.container.kernelMappings');
        assert.match(e.message, new RegExp(`no entry matches kernel ${kernel.replace(/\+$/, '')}`));
      } else {
        const r = resolved(module, kernel);
        assert.equal(r.mappingIndex, want);
        assert.equal(r.containerImage, `registry.example/img:${want}`);
      }
    });
  }
});

describe('kernel mapping: invalid Modules', () => {
  const cases: Array<[string, MappableModule, string, RegExp]> = [
    [
      'invalid regexp',
      moduleWith([{ regexp: 'invalid)', containerImage: 'a:b' }]),
      'spec.moduleLoader.container.kernelMappings[0].regexp',
      /invalid regexp/,
    ],
    [
      'invalid regexp after a matching entry is still reported (compiled up front)',
      moduleWith([
        { literal: '1.2.3', containerImage: 'a:b' },
        { regexp: '(unclosed', containerImage: 'a:b' },
      ]),
      'spec.moduleLoader.container.kernelMappings[1].regexp',
      /invalid regexp/,
    ],
    [
      'both literal and regexp',
      moduleWith([{ literal: '1.2.3', regexp: '.*', containerImage: 'a:b' }]),
      'spec.moduleLoader.container.kernelMappings[0]',
      /both literal and regexp/,
    ],
    [
      'neither literal nor regexp',
      moduleWith([{ containerImage: 'a:b' }]),
      'spec.moduleLoader.container.kernelMappings[0]',
      /exactly one of literal/,
    ],
    [
      'no image anywhere',
      moduleWith([{ literal: '1.2.3' }]),
      'spec.moduleLoader.container.kernelMappings[0].containerImage',
      /containerImage is not set either/,
    ],
    [
      'unclosed variable in the image',
      moduleWith([{ literal: '1.2.3', containerImage: 'some image:${KERNEL_XYZ' }]),
      'spec.moduleLoader.container.kernelMappings[0].containerImage',
      /closing brace expected/,
    ],
    [
      'unclosed variable in the container-level image',
      moduleWith([{ literal: '1.2.3' }], { containerImage: 'img:${KERNEL_XYZ' }),
      'spec.moduleLoader.container.containerImage',
      /closing brace expected/,
    ],
    [
      'unclosed variable in filesToSign',
      moduleWith([
        { literal: '1.2.3', containerImage: 'a:b', sign: { filesToSign: ['/opt/${X'] } },
      ]),
      'spec.moduleLoader.container.kernelMappings[0].sign.filesToSign[0]',
      /closing brace expected/,
    ],
    [
      'empty kernelMappings',
      moduleWith([]),
      'spec.moduleLoader.container.kernelMappings',
      /at least one/,
    ],
    [
      'no moduleLoader (device plugin only)',
      { metadata: { name: 'x' }, spec: {} },
      'spec.moduleLoader',
      /device plugin/,
    ],
  ];
  for (const [name, module, field, message] of cases) {
    it(name, () => {
      const e = failure(module, '1.2.3', 'InvalidModule');
      assert.equal(e.field, field);
      assert.match(e.message, message);
    });
  }

  it('an invalid kernel version is its own kind', () => {
    const module = moduleWith([{ regexp: '.*', containerImage: 'a:b' }]);
    for (const k of ['tesdt', '', '5.14']) {
      const e = failure(module, k, 'InvalidKernelVersion');
      assert.equal(e.field, 'kernelVersion');
    }
  });
});

describe('kernel mapping: variables', () => {
  const kernel = '5.14.0-284.30.1.el9_2.x86_64';
  const cases: Array<[string, string]> = [
    ['quay.io/org/kmod:${KERNEL_FULL_VERSION}', `quay.io/org/kmod:${kernel}`],
    ['quay.io/org/kmod:$KERNEL_VERSION', `quay.io/org/kmod:${kernel}`],
    ['quay.io/org/kmod:${KERNEL_XYZ}', 'quay.io/org/kmod:5.14.0'],
    ['quay.io/org/kmod:v${KERNEL_X}.${KERNEL_Y}.${KERNEL_Z}', 'quay.io/org/kmod:v5.14.0'],
    ['quay.io/${MOD_NAMESPACE}/${MOD_NAME}:latest', 'quay.io/drivers/my-kmod:latest'],
    ['quay.io/org/kmod:$${KERNEL_X}', 'quay.io/org/kmod:${KERNEL_X}'],
  ];
  for (const [template, want] of cases) {
    it(`${template} → ${want}`, () => {
      const r = resolved(moduleWith([{ regexp: '.', containerImage: template }]), kernel);
      assert.equal(r.containerImage, want);
      assert.deepEqual(r.warnings, []);
    });
  }

  it('normalises the kernel for substitution but matches the raw string', () => {
    const r = resolved(
      moduleWith([{ regexp: '~rc1$', containerImage: 'img:${KERNEL_FULL_VERSION}' }]),
      '6.1.0-0~rc1',
    );
    assert.equal(r.containerImage, 'img:6.1.0-0_rc1');
    assert.equal(r.kernelVersion, '6.1.0-0~rc1');
    assert.equal(r.normalizedKernelVersion, '6.1.0-0_rc1');
  });

  it('an unknown variable becomes empty, with a warning naming the field', () => {
    const r = resolved(
      moduleWith([{ literal: kernel, containerImage: 'img:${KERNEL_FULL_VERSON}' }]),
      kernel,
    );
    assert.equal(r.containerImage, 'img:');
    assert.equal(r.warnings.length, 1);
    assert.match(
      r.warnings[0]!,
      /^spec\.moduleLoader\.container\.kernelMappings\[0\]\.containerImage: unknown variable \$KERNEL_FULL_VERSON/,
    );
  });

  it('substitutes sign.unsignedImage and sign.filesToSign, not build args', () => {
    const r = resolved(
      moduleWith([
        {
          regexp: '.',
          containerImage: 'img:${KERNEL_FULL_VERSION}-signed',
          build: { buildArgs: [{ name: 'KVER', value: '${KERNEL_FULL_VERSION}' }] },
          sign: {
            unsignedImage: 'img:${KERNEL_FULL_VERSION}',
            filesToSign: ['/opt/lib/modules/${KERNEL_FULL_VERSION}/${MOD_NAME}.ko'],
          },
        },
      ]),
      kernel,
    );
    assert.equal(r.containerImage, `img:${kernel}-signed`);
    assert.equal(r.sign?.unsignedImage, `img:${kernel}`);
    assert.deepEqual(r.sign?.filesToSign, [`/opt/lib/modules/${kernel}/my-kmod.ko`]);
    assert.deepEqual(r.build?.buildArgs, [{ name: 'KVER', value: '${KERNEL_FULL_VERSION}' }]);
  });
});

describe('kernel mapping: merging with container-level defaults', () => {
  const kernel = '1.2.3';

  it('takes the container image when the mapping has none (or "")', () => {
    for (const containerImage of [undefined, '']) {
      const m: Loose<KernelMapping> = { literal: kernel };
      if (containerImage !== undefined) m.containerImage = containerImage;
      const r = resolved(moduleWith([m], { containerImage: 'spec:${KERNEL_X}' }), kernel);
      assert.equal(r.containerImage, 'spec:1');
    }
  });

  it("prefers the mapping's image", () => {
    const r = resolved(
      moduleWith([{ literal: kernel, containerImage: 'mapping:1' }], { containerImage: 'spec:1' }),
      kernel,
    );
    assert.equal(r.containerImage, 'mapping:1');
  });

  it('registryTLS: the mapping wins, else the container, else empty', () => {
    const spec = { insecure: true };
    const mapping = { insecureSkipTLSVerify: true };
    assert.deepEqual(
      resolved(
        moduleWith([{ literal: kernel, containerImage: 'a:b', registryTLS: mapping }], {
          registryTLS: spec,
        }),
        kernel,
      ).registryTLS,
      mapping,
    );
    assert.deepEqual(
      resolved(
        moduleWith([{ literal: kernel, containerImage: 'a:b' }], { registryTLS: spec }),
        kernel,
      ).registryTLS,
      spec,
    );
    assert.deepEqual(
      resolved(moduleWith([{ literal: kernel, containerImage: 'a:b' }]), kernel).registryTLS,
      {},
    );
  });

  it('inTreeModulesToRemove: the mapping wins, else the container; the singular form too', () => {
    const base = { literal: kernel, containerImage: 'a:b' };
    const cases: Array<
      [Loose<KernelMapping>, Loose<ModuleLoaderContainerSpec>, string[] | undefined]
    > = [
      [base, {}, undefined],
      [base, { inTreeModulesToRemove: ['a', 'b'] }, ['a', 'b']],
      [{ ...base, inTreeModulesToRemove: ['c'] }, { inTreeModulesToRemove: ['a', 'b'] }, ['c']],
      [{ ...base, inTreeModulesToRemove: [] }, { inTreeModulesToRemove: ['a'] }, []],
      [base, { inTreeModuleToRemove: 'old' }, ['old']],
      [{ ...base, inTreeModuleToRemove: 'mine' }, { inTreeModuleToRemove: 'old' }, ['mine']],
    ];
    for (const [mapping, container, want] of cases) {
      assert.deepEqual(
        resolved(moduleWith([mapping], container), kernel).inTreeModulesToRemove,
        want,
      );
    }
  });

  it('passes modprobe, imagePullPolicy and version through', () => {
    const r = resolved(
      moduleWith([{ literal: kernel, containerImage: 'a:b' }], {
        imagePullPolicy: 'Always',
        version: 'v2',
        modprobe: { moduleName: 'x', parameters: ['p=1'], dirName: '/opt' },
      }),
      kernel,
    );
    assert.equal(r.imagePullPolicy, 'Always');
    assert.equal(r.version, 'v2');
    assert.deepEqual(r.modprobe, { moduleName: 'x', parameters: ['p=1'], dirName: '/opt' });
  });

  const build = { dockerfileConfigMap: { name: 'some name' } };
  const sign = { unsignedImage: 'some unsigned image' };
  // upstream's prepareModuleLoaderData table: [name, mapping build/sign, container build/sign]
  const presence: Array<[string, Loose<KernelMapping>, Loose<ModuleLoaderContainerSpec>]> = [
    ['build in mapping only', { build }, {}],
    ['build in spec only', {}, { build }],
    ['sign in mapping only', { sign }, {}],
    ['sign in spec only', {}, { sign }],
  ];
  for (const [name, m, c] of presence) {
    it(name, () => {
      const r = resolved(moduleWith([{ literal: kernel, containerImage: 'a:b', ...m }], c), kernel);
      assert.deepEqual(r.build, m.build ?? c.build);
      assert.deepEqual(r.sign, m.sign ?? c.sign);
    });
  }

  it('no build and no sign anywhere gives neither', () => {
    const r = resolved(moduleWith([{ literal: kernel, containerImage: 'a:b' }]), kernel);
    assert.equal(r.build, undefined);
    assert.equal(r.sign, undefined);
  });

  it('does not change the Module it reads', () => {
    const module = moduleWith(
      [
        {
          literal: kernel,
          containerImage: 'a:b',
          build: { buildArgs: [{ name: 'A', value: '2' }] },
        },
      ],
      { build: { buildArgs: [{ name: 'A', value: '1' }] } },
    );
    const before = structuredClone(module);
    const r = resolved(module, kernel);
    r.build!.buildArgs!.push({ name: 'Z', value: 'z' });
    r.modprobe.moduleName = 'changed';
    assert.deepEqual(module, before);
  });
});

describe('mergeBuild', () => {
  it('overrides build args by name, appends new ones, appends secrets', () => {
    const out = mergeBuild(
      {
        buildArgs: [
          { name: 'A', value: 'spec-a' },
          { name: 'B', value: 'spec-b' },
        ],
        secrets: [{ name: 's1' }],
        dockerfileConfigMap: { name: 'spec-dockerfile' },
        baseImageRegistryTLS: { insecure: true },
      },
      {
        buildArgs: [
          { name: 'C', value: 'map-c' },
          { name: 'B', value: 'map-b' },
        ],
        secrets: [{ name: 's2' }],
        dockerfileConfigMap: { name: 'map-dockerfile' },
      },
    );
    assert.deepEqual(out, {
      buildArgs: [
        { name: 'A', value: 'spec-a' },
        { name: 'B', value: 'map-b' },
        { name: 'C', value: 'map-c' },
      ],
      secrets: [{ name: 's1' }, { name: 's2' }],
      dockerfileConfigMap: { name: 'map-dockerfile' },
      baseImageRegistryTLS: { insecure: true },
    });
  });

  it("keeps the container's Dockerfile when the mapping names none", () => {
    const out = mergeBuild({ dockerfileConfigMap: { name: 'spec' } }, { buildArgs: [] });
    assert.deepEqual(out, { dockerfileConfigMap: { name: 'spec' } });
  });

  it("a mapping's baseImageRegistryTLS is not ignored", () => {
    const out = mergeBuild(
      { dockerfileConfigMap: { name: 'd' } },
      { baseImageRegistryTLS: { insecureSkipTLSVerify: true } },
    );
    assert.deepEqual(out?.baseImageRegistryTLS, { insecureSkipTLSVerify: true });
  });

  it('nothing from nothing', () => assert.equal(mergeBuild(undefined, undefined), undefined));
});

describe('mergeSign', () => {
  it('mapping wins for image and secrets; files are appended', () => {
    const out = mergeSign(
      {
        unsignedImage: 'spec-unsigned',
        keySecret: { name: 'spec-key' },
        certSecret: { name: 'spec-cert' },
        filesToSign: ['/opt/a.ko'],
      },
      { keySecret: { name: 'map-key' }, filesToSign: ['/opt/b.ko'] },
    );
    assert.deepEqual(out, {
      unsignedImage: 'spec-unsigned',
      keySecret: { name: 'map-key' },
      certSecret: { name: 'spec-cert' },
      filesToSign: ['/opt/a.ko', '/opt/b.ko'],
    });
  });

  it('nothing from nothing', () => assert.equal(mergeSign(undefined, undefined), undefined));
});

describe('compileKernelMapper', () => {
  it('one compiled mapper answers for many kernels', () => {
    const mapper = compileKernelMapper(
      moduleWith([
        { regexp: '\\.el9', containerImage: 'rhel9:${KERNEL_XYZ}' },
        { regexp: '\\.fc\\d+', containerImage: 'fedora:${KERNEL_XYZ}' },
      ]),
    );
    assert.ok(mapper.ok);
    const images = ['5.14.0-284.30.1.el9_2.x86_64', '6.0.15-300.fc37.x86_64', '6.1.0-13-amd64'].map(
      (k) => {
        const r = mapper.value.resolve(k);
        return r.ok ? r.value.containerImage : r.error.kind;
      },
    );
    assert.deepEqual(images, ['rhel9:5.14.0', 'fedora:6.0.15', 'NoMatch']);
  });
});

describe('the shared API type', () => {
  it('a Module of src/api is accepted as it is', () => {
    // Compile-time check: controllers pass the objects they read from the API server.
    const module: Module = {
      kind: 'Module',
      metadata: { name: 'my-kmod', namespace: 'default' },
      spec: {
        selector: { 'node-role.kubernetes.io/worker': '' },
        moduleLoader: {
          container: {
            modprobe: { moduleName: 'my_kmod' },
            containerImage: 'r/${MOD_NAMESPACE}/${MOD_NAME}:${KERNEL_XYZ}',
            kernelMappings: [
              { literal: '6.0.15-300.fc37.x86_64', containerImage: 'r/literal:1' },
              { regexp: '^.+$', containerImage: '' },
            ],
          },
        },
      },
    };
    assert.equal(resolved(module, '6.0.15-300.fc37.x86_64').containerImage, 'r/literal:1');
    assert.equal(
      resolved(module, '5.14.0-284.30.1.el9_2.x86_64').containerImage,
      'r/default/my-kmod:5.14.0',
    );
  });
});
