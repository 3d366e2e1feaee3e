import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runHwe } from '../../../test/support/cli.js';
import { PACKAGE_ROOT } from '../../version.js';

const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'kmm');

async function resolve(fixture: string, kernel: string, extra: string[] = []) {
  return runHwe([
    'kmm',
    'resolve',
    '--module',
    join(FIXTURES, fixture),
    '--kernel',
    kernel,
    ...extra,
  ]);
}

async function resolveJson(fixture: string, kernel: string, extra: string[] = []) {
  const r = await resolve(fixture, kernel, extra);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const SEED_BUILD = {
  buildArgs: [{ name: 'ARG_NAME', value: 'some_value' }],
  secrets: [{ name: 'some-kubernetes-secret' }],
  baseImageRegistryTLS: { insecure: false, insecureSkipTLSVerify: false },
  dockerfileConfigMap: { name: 'my-kmod-dockerfile' },
};

function seedSign(kernel: string) {
  return {
    certSecret: { name: 'cert-secret' },
    keySecret: { name: 'key-secret' },
    filesToSign: [`/opt/lib/modules/${kernel}/my_kmod.ko`],
  };
}

describe('hwe kmm resolve: the Modules of the seed (§4.3.3)', () => {
  it('the literal entry for 6.0.15-300.fc37.x86_64 (both editions)', async () => {
    for (const fixture of ['seed-ko-module.yaml', 'seed-ja-module.yaml']) {
      assert.deepEqual(await resolveJson(fixture, '6.0.15-300.fc37.x86_64'), {
        containerImage: 'some.registry/org/my-kmod:6.0.15-300.fc37.x86_64',
        build: null,
        sign: null,
        registryTLS: {},
        inTreeModulesToRemove: [],
      });
    }
  });

  it('Korean edition: the \\f regexp never matches, so another fc37 kernel is built and signed', async () => {
    const kernel = '6.0.16-300.fc37.x86_64';
    assert.deepEqual(await resolveJson('seed-ko-module.yaml', kernel), {
      containerImage: `some.registry/org/my-kmod:${kernel}`,
      build: SEED_BUILD,
      sign: seedSign(kernel),
      registryTLS: { insecure: false, insecureSkipTLSVerify: false },
      inTreeModulesToRemove: [],
    });
  });

  it('Japanese edition: the \\.fc37 regexp takes another fc37 kernel to the other registry', async () => {
    const kernel = '6.0.16-300.fc37.x86_64';
    assert.deepEqual(await resolveJson('seed-ja-module.yaml', kernel), {
      containerImage: `some.other.registry/org/my-kmod:${kernel}`,
      build: null,
      sign: null,
      registryTLS: {},
      inTreeModulesToRemove: [],
    });
  });

  it('any other kernel falls through to the catch-all with build and sign', async () => {
    const kernel = '5.14.0-284.30.1.el9_2.x86_64';
    for (const fixture of ['seed-ko-module.yaml', 'seed-ja-module.yaml']) {
      const out = await resolveJson(fixture, kernel);
      assert.equal(out.containerImage, `some.registry/org/my-kmod:${kernel}`);
      assert.deepEqual(out.build, SEED_BUILD);
      assert.deepEqual(out.sign, seedSign(kernel));
    }
  });

  it('§4.7: signing a prebuilt image for an x86_64 kernel', async () => {
    const kernel = '4.18.0-348.2.1.el8_5.x86_64';
    assert.deepEqual(await resolveJson('seed-sign-module.yaml', kernel), {
      containerImage: `quay.io/myuser/my-driver:${kernel}-signed`,
      build: null,
      sign: {
        unsignedImage: `quay.io/myuser/my-driver:${kernel}`,
        keySecret: { name: 'my-signing-key' },
        certSecret: { name: 'my-signing-key-pub' },
        filesToSign: ['/opt/lib/modules/4.18.0-348.2.1.el8_5.x86_64/kmm_ci_a.ko'],
      },
      registryTLS: {},
      inTreeModulesToRemove: [],
    });
  });

  it('§4.7: an aarch64 kernel has no mapping (exit 3)', async () => {
    const r = await resolve('seed-sign-module.yaml', '4.18.0-348.2.1.el8_5.aarch64');
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no entry matches kernel 4\.18\.0-348\.2\.1\.el8_5\.aarch64/);
    assert.match(r.stderr, /regexp "\^\.\*\\\.x86_64\$"/);
  });

  it('§4.8: picks the Module out of a file that also holds its ConfigMap', async () => {
    const out = await resolveJson('seed-build-sign.yaml', '4.18.0-348.2.1.el8_5.x86_64');
    assert.equal(out.containerImage, 'example.org/repository/minimal-driver:final');
    assert.deepEqual(out.build, { dockerfileConfigMap: { name: 'example-module-dockerfile' } });
    assert.deepEqual((out.sign as { keySecret: unknown }).keySecret, { name: 'my-signing-key' });
  });
});

describe('hwe kmm resolve: defaults merging', () => {
  it('an el9 kernel: the mapping overrides and extends the container defaults', async () => {
    const kernel = '5.14.0-284.30.1.el9_2.x86_64';
    assert.deepEqual(await resolveJson('defaults-module.yaml', kernel), {
      containerImage: 'registry.example/drivers/defaults:5.14.0',
      build: {
        dockerfileConfigMap: { name: 'el9-dockerfile' },
        buildArgs: [
          { name: 'ARCH', value: 'x86_64' },
          { name: 'FLAVOUR', value: 'rhel' },
          { name: 'EXTRA', value: '1' },
        ],
        secrets: [{ name: 'default-secret' }, { name: 'el9-secret' }],
      },
      sign: {
        unsignedImage: 'registry.example/drivers/defaults:5.14.0-unsigned',
        keySecret: { name: 'default-key' },
        certSecret: { name: 'default-cert' },
        filesToSign: [
          `/opt/lib/modules/${kernel}/defaults.ko`,
          `/opt/lib/modules/${kernel}/defaults-extra.ko`,
        ],
      },
      registryTLS: { insecureSkipTLSVerify: true },
      inTreeModulesToRemove: ['intree_c'],
    });
  });

  it('a mapping with containerImage "" takes every default', async () => {
    const kernel = '6.1.0-13-amd64';
    assert.deepEqual(await resolveJson('defaults-module.yaml', kernel), {
      containerImage: 'registry.example/drivers/defaults:6.1.0',
      build: {
        dockerfileConfigMap: { name: 'default-dockerfile' },
        buildArgs: [
          { name: 'ARCH', value: 'x86_64' },
          { name: 'FLAVOUR', value: 'generic' },
        ],
        secrets: [{ name: 'default-secret' }],
      },
      sign: {
        keySecret: { name: 'default-key' },
        certSecret: { name: 'default-cert' },
        filesToSign: [`/opt/lib/modules/${kernel}/defaults.ko`],
      },
      registryTLS: { insecure: true },
      inTreeModulesToRemove: ['intree_a', 'intree_b'],
    });
  });

  it('reads the Module from standard input with --module -', async () => {
    const yaml = [
      'kind: Module',
      'apiVersion: kmm.sigs.x-k8s.io/v1beta1',
      'metadata: {name: piped, namespace: ns1}',
      'spec:',
      '  moduleLoader:',
      '    container:',
      '      modprobe: {moduleName: piped}',
      '      kernelMappings:',
      "        - regexp: '.'",
      '          containerImage: r.example/${MOD_NAMESPACE}/${MOD_NAME}:${KERNEL_X}.${KERNEL_Y}',
    ].join('\n');
    const r = await runHwe(['kmm', 'resolve', '--module', '-', '--kernel', '6.8.0-1-generic'], {
      input: yaml,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { containerImage: string }).containerImage,
      'r.example/ns1/piped:6.8',
    );
  });

  it('warns about an unknown variable but still answers', async () => {
    const yaml =
      'kind: Module\nmetadata: {name: typo}\nspec:\n  moduleLoader:\n    container:\n' +
      "      modprobe: {moduleName: typo}\n      kernelMappings:\n        - regexp: '.'\n" +
      '          containerImage: r.example/typo:${KERNEL_FULL_VERSON}\n';
    const r = await runHwe(['kmm', 'resolve', '--module', '-', '--kernel', '6.8.0'], {
      input: yaml,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { containerImage: string }).containerImage,
      'r.example/typo:',
    );
    assert.match(
      r.stderr,
      /warning: .*kernelMappings\[0\]\.containerImage: unknown variable \$KERNEL_FULL_VERSON/,
    );
  });
});

describe('hwe kmm resolve: errors', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'an invalid kernel version names --kernel',
      ['--module', join(FIXTURES, 'seed-ko-module.yaml'), '--kernel', 'tesdt'],
      /--kernel: "tesdt" is not a kernel release/,
    ],
    [
      'an invalid regexp names its field, even after a matching literal',
      [
        '--module',
        join(FIXTURES, 'invalid-regexp-module.yaml'),
        '--kernel',
        '5.14.0-284.30.1.el9_2.x86_64',
      ],
      /spec\.moduleLoader\.container\.kernelMappings\[1\]\.regexp: invalid regexp/,
    ],
    [
      'an unquoted numeric literal names its field',
      ['--module', join(FIXTURES, 'unquoted-literal-module.yaml'), '--kernel', '6.1.0'],
      /kernelMappings\[0\]\.literal: must be a string, not number 6\.1; quote it/,
    ],
    [
      'a Module without moduleLoader',
      ['--module', join(FIXTURES, 'device-plugin-only-module.yaml'), '--kernel', '6.1.0'],
      /spec\.moduleLoader: not set/,
    ],
    [
      'a missing file',
      ['--module', join(FIXTURES, 'no-such-file.yaml'), '--kernel', '6.1.0'],
      /--module .*no-such-file\.yaml: cannot read/,
    ],
    ['no --module', ['--kernel', '6.1.0'], /--module FILE is required/],
    [
      'no --kernel',
      ['--module', join(FIXTURES, 'seed-ko-module.yaml')],
      /--kernel VERSION is required/,
    ],
    [
      'a file with no Module',
      ['--module', join(FIXTURES, 'seed-build-sign.yaml'), '--kernel', '6.1.0', '--name', 'other'],
      /no Module named "other"/,
    ],
  ];
  for (const [name, args, message] of cases) {
    it(`${name} (exit 2)`, async () => {
      const r = await runHwe(['kmm', 'resolve', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
    });
  }

  it('several Modules need --name', async () => {
    const two =
      'kind: Module\nmetadata: {name: a}\nspec: {moduleLoader: {container: {modprobe: {}, ' +
      "kernelMappings: [{regexp: '.', containerImage: 'a:1'}]}}}\n---\n" +
      'kind: Module\nmetadata: {name: b}\nspec: {moduleLoader: {container: {modprobe: {}, ' +
      "kernelMappings: [{regexp: '.', containerImage: 'b:1'}]}}}\n";
    const r = await runHwe(['kmm', 'resolve', '--module', '-', '--kernel', '6.1.0'], {
      input: two,
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /2 Modules \(a, b\); choose one with --name/);
    const b = await runHwe(
      ['kmm', 'resolve', '--module', '-', '--kernel', '6.1.0', '--name', 'b'],
      {
        input: two,
      },
    );
    assert.equal(b.code, 0, b.stderr);
    assert.equal((JSON.parse(b.stdout) as { containerImage: string }).containerImage, 'b:1');
  });
});
