import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../version.js';
import { validateDocuments } from './command.js';
import {
  hasTagOrDigest,
  isUnder,
  kernelVersionProblem,
  validateKmmObject,
  validateNamespaceDeletion,
  type FieldError,
} from './index.js';

type Json = Record<string, unknown>;

function module(container: Json = {}, spec: Json = {}): Json {
  return {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name: 'm', namespace: 'ns' },
    spec: {
      selector: { a: 'b' },
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'kmod' },
          kernelMappings: [{ regexp: '^.+$', containerImage: 'reg/kmod:${KERNEL_FULL_VERSION}' }],
          ...container,
        },
      },
      ...spec,
    },
  };
}

function errorsOf(obj: Json, old?: Json): FieldError[] {
  const r = validateKmmObject(obj, old);
  assert.ok(r, 'a KMM kind');
  return r.errors;
}

const sign = (extra: Json = {}) => ({
  keySecret: { name: 'k' },
  certSecret: { name: 'c' },
  unsignedImage: 'reg/u:1',
  filesToSign: ['/opt/lib/modules/x/kmod.ko'],
  ...extra,
});

// [name, object, expected field of the first error (undefined = valid), text in its message]
const cases: [string, Json, string | undefined, string?][] = [
  ['minimal valid Module', module(), undefined],
  [
    'literal and regexp both set',
    module({ kernelMappings: [{ literal: '6.0.0', regexp: 'x', containerImage: 'r/i:1' }] }),
    'spec.moduleLoader.container.kernelMappings[0]',
    'exactly one',
  ],
  [
    'neither literal nor regexp',
    module({ kernelMappings: [{ containerImage: 'r/i:1' }] }),
    'spec.moduleLoader.container.kernelMappings[0]',
    'exactly one',
  ],
  [
    'regexp that does not compile',
    module({ kernelMappings: [{ regexp: '(unclosed', containerImage: 'r/i:1' }] }),
    'spec.moduleLoader.container.kernelMappings[0].regexp',
    'RE2',
  ],
  [
    'Perl-only regexp (backreference)',
    module({ kernelMappings: [{ regexp: '(a)\\1', containerImage: 'r/i:1' }] }),
    'spec.moduleLoader.container.kernelMappings[0].regexp',
    'RE2',
  ],
  [
    'repetition count over 1000',
    module({ kernelMappings: [{ regexp: 'a{1001}', containerImage: 'r/i:1' }] }),
    'spec.moduleLoader.container.kernelMappings[0].regexp',
    'repeat',
  ],
  [
    'regexp too long',
    module({ kernelMappings: [{ regexp: 'a'.repeat(2000), containerImage: 'r/i:1' }] }),
    'spec.moduleLoader.container.kernelMappings[0].regexp',
    'at most 1024',
  ],
  [
    'no kernel mappings',
    module({ kernelMappings: [] }),
    'spec.moduleLoader.container.kernelMappings',
    'at least one',
  ],
  [
    'mapping without image and no default',
    module({ kernelMappings: [{ literal: '6.0.0-1', containerImage: '' }] }),
    'spec.moduleLoader.container.kernelMappings[0].containerImage',
    'not set either',
  ],
  [
    'mapping without image uses the default',
    module({
      containerImage: 'r/i:tag',
      kernelMappings: [{ literal: '6.0.0-1', containerImage: '' }],
    }),
    undefined,
  ],
  [
    'default image without tag',
    module({
      containerImage: 'r:5000/i',
      kernelMappings: [{ literal: '6.0.0-1', containerImage: '' }],
    }),
    'spec.moduleLoader.container.containerImage',
    'no tag or digest',
  ],
  [
    'mapping image without tag (registry port is not a tag)',
    module({ kernelMappings: [{ literal: '6.0.0-1', containerImage: 'reg:5000/org/kmod' }] }),
    'spec.moduleLoader.container.kernelMappings[0].containerImage',
    'no tag or digest',
  ],
  [
    'image by digest',
    module({ kernelMappings: [{ literal: '6.0.0-1', containerImage: 'r/i@sha256:abc' }] }),
    undefined,
  ],
  [
    'neither moduleName nor rawArgs',
    module({ modprobe: {} }),
    'spec.moduleLoader.container.modprobe.moduleName',
    'required',
  ],
  [
    'moduleName and rawArgs together',
    module({ modprobe: { moduleName: 'a', rawArgs: { load: ['a'], unload: ['a'] } } }),
    'spec.moduleLoader.container.modprobe.rawArgs',
    'not both',
  ],
  [
    'rawArgs without unload',
    module({ modprobe: { rawArgs: { load: ['-v', 'a'] } } }),
    'spec.moduleLoader.container.modprobe.rawArgs.unload',
    'required',
  ],
  [
    'rawArgs with load and unload',
    module({ modprobe: { rawArgs: { load: ['a'], unload: ['-r', 'a'] } } }),
    undefined,
  ],
  [
    'modulesLoadingOrder not starting with moduleName',
    module({ modprobe: { moduleName: 'a', modulesLoadingOrder: ['b', 'a'] } }),
    'spec.moduleLoader.container.modprobe.modulesLoadingOrder[0]',
    'must be moduleName',
  ],
  [
    'modulesLoadingOrder with a duplicate',
    module({ modprobe: { moduleName: 'a', modulesLoadingOrder: ['a', 'b', 'a'] } }),
    'spec.moduleLoader.container.modprobe.modulesLoadingOrder[2]',
    'duplicate',
  ],
  [
    'modulesLoadingOrder of one',
    module({ modprobe: { moduleName: 'a', modulesLoadingOrder: ['a'] } }),
    'spec.moduleLoader.container.modprobe.modulesLoadingOrder',
    'at least two',
  ],
  ['sign valid', module({ sign: sign() }), undefined],
  [
    'sign without files',
    module({ sign: sign({ filesToSign: [] }) }),
    'spec.moduleLoader.container.sign.filesToSign',
    'empty',
  ],
  [
    'file to sign outside dirName',
    module({ sign: sign({ filesToSign: ['/lib/modules/x.ko'] }) }),
    'spec.moduleLoader.container.sign.filesToSign[0]',
    'not under modprobe.dirName "/opt"',
  ],
  [
    'file to sign escaping dirName with ..',
    module({ sign: sign({ filesToSign: ['/opt/../etc/shadow'] }) }),
    'spec.moduleLoader.container.sign.filesToSign[0]',
    'not under',
  ],
  [
    'file under a custom dirName',
    module({
      modprobe: { moduleName: 'kmod', dirName: '/mods' },
      sign: sign({ filesToSign: ['/mods/lib/x.ko'] }),
    }),
    undefined,
  ],
  [
    'sign in the mapping without key secret',
    module({
      kernelMappings: [
        {
          regexp: 'x',
          containerImage: 'r/i:1',
          sign: { certSecret: { name: 'c' }, unsignedImage: 'r/u:1', filesToSign: ['/opt/a.ko'] },
        },
      ],
    }),
    'spec.moduleLoader.container.kernelMappings[0].sign.keySecret.name',
    'required',
  ],
  [
    'sign without unsignedImage or build',
    module({ sign: sign({ unsignedImage: undefined }) }),
    'spec.moduleLoader.container.sign.unsignedImage',
    'without a build',
  ],
  [
    'build without Dockerfile ConfigMap name',
    module({ build: { dockerfileConfigMap: { name: '' } } }),
    'spec.moduleLoader.container.build.dockerfileConfigMap.name',
    'required',
  ],
  [
    'both in-tree fields',
    module({ inTreeModuleToRemove: 'a', inTreeModulesToRemove: ['a'] }),
    'spec.moduleLoader.container.inTreeModuleToRemove',
    'not both',
  ],
  [
    'toleration with an empty key and Equal',
    module({}, { tolerations: [{ operator: 'Equal', value: 'x' }] }),
    'spec.tolerations[0].operator',
    'must be Exists',
  ],
  [
    'toleration with a bad key',
    module({}, { tolerations: [{ key: 'bad key!', operator: 'Exists' }] }),
    'spec.tolerations[0].key',
    'name part',
  ],
  [
    'toleration with a bad prefix',
    module({}, { tolerations: [{ key: 'Bad_Prefix/k', operator: 'Exists' }] }),
    'spec.tolerations[0].key',
    'prefix part',
  ],
  [
    'tolerationSeconds without NoExecute',
    module({}, { tolerations: [{ key: 'k', tolerationSeconds: 5, effect: 'NoSchedule' }] }),
    'spec.tolerations[0].effect',
    'NoExecute',
  ],
  [
    'Exists with a value',
    module({}, { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }),
    'spec.tolerations[0].value',
    'must be empty',
  ],
  [
    'unknown operator',
    module({}, { tolerations: [{ key: 'k', operator: 'In' }] }),
    'spec.tolerations[0].operator',
    'unsupported',
  ],
  [
    'unknown effect',
    module({}, { tolerations: [{ key: 'k', effect: 'NoRun' }] }),
    'spec.tolerations[0].effect',
    'unsupported',
  ],
  [
    'value not a label value',
    module({}, { tolerations: [{ key: 'k', value: 'a b' }] }),
    'spec.tolerations[0].value',
    'label value',
  ],
  [
    'valid tolerations',
    module(
      {},
      {
        tolerations: [
          { operator: 'Exists' },
          {
            key: 'example.com/gpu',
            operator: 'Equal',
            value: 'x',
            effect: 'NoExecute',
            tolerationSeconds: 3,
          },
        ],
      },
    ),
    undefined,
  ],
  [
    'device plugin host path /etc',
    module(
      {},
      {
        devicePlugin: {
          container: { image: 'r/p:1' },
          volumes: [{ name: 'v', hostPath: { path: '/etc/kubernetes' } }],
        },
      },
    ),
    'spec.devicePlugin.volumes[0].hostPath.path',
    'not allowed',
  ],
  [
    'device plugin host path escaping /dev with ..',
    module(
      {},
      {
        devicePlugin: {
          container: { image: 'r/p:1' },
          volumes: [{ name: 'v', hostPath: { path: '/dev/../root' } }],
        },
      },
    ),
    'spec.devicePlugin.volumes[0].hostPath.path',
    'not allowed',
  ],
  [
    'device plugin under /var/lib/kubelet',
    module(
      {},
      {
        devicePlugin: {
          container: { image: 'r/p:1' },
          volumes: [{ name: 'v', hostPath: { path: '/var/lib/kubelet/device-plugins' } }],
        },
      },
    ),
    undefined,
  ],
  [
    'device plugin only (in-tree driver)',
    { ...module(), spec: { selector: {}, devicePlugin: { container: { image: 'r/p:1' } } } },
    undefined,
  ],
  [
    'neither loader nor plugin',
    { ...module(), spec: { selector: {} } },
    'spec.moduleLoader',
    'neither',
  ],
  [
    'wrong type names the field',
    module({ kernelMappings: 'all' }),
    'spec.moduleLoader.container.kernelMappings',
    'must be a list',
  ],
];

for (const [name, obj, field, text] of cases) {
  test(`Module: ${name}`, () => {
    const errors = errorsOf(obj);
    if (field === undefined) {
      assert.deepEqual(errors, []);
      return;
    }
    const e = errors.find((x) => x.field === field);
    assert.ok(e, `expected an error at ${field}, got ${JSON.stringify(errors)}`);
    if (text) assert.ok(e.message.includes(text), e.message);
  });
}

test('Module update: version may not switch between empty and set', () => {
  const withVersion = module({ version: 'v1' });
  const field = 'spec.moduleLoader.container.version';
  assert.equal(errorsOf(withVersion, module())[0]?.field, field);
  assert.equal(errorsOf(module(), withVersion)[0]?.field, field);
  assert.deepEqual(errorsOf(module({ version: 'v2' }), withVersion), []);
  assert.deepEqual(errorsOf(module(), module()), []);
});

const pfv = (kernelVersion: unknown, kind = 'PreflightValidation', extra: Json = {}) => ({
  apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
  kind,
  metadata: { name: 'p' },
  spec: { kernelVersion, ...extra },
});

test('PreflightValidation: kernel versions', () => {
  for (const good of ['5.14.0-284.30.1.el9_2.x86_64', '6.0.15-300.fc37.x86_64', '4.18.0']) {
    assert.deepEqual(errorsOf(pfv(good)), [], good);
    assert.deepEqual(errorsOf(pfv(good, 'PreflightValidationOCP')), [], good);
  }
  for (const bad of [
    'tesdt',
    '',
    '5.14',
    'a.b.c',
    '5 .14.0',
    'x'.repeat(65),
    '5.14.0-' + 'x'.repeat(60),
  ]) {
    const e = errorsOf(pfv(bad));
    assert.equal(e[0]?.field, 'spec.kernelVersion', bad);
  }
  assert.ok(errorsOf(pfv('tesdt'))[0]!.message.includes('tesdt'));
  assert.equal(errorsOf(pfv(5))[0]?.field, 'spec.kernelVersion');
  assert.equal(errorsOf(pfv(undefined))[0]?.field, 'spec.kernelVersion');
  assert.equal(
    errorsOf(pfv('5.14.0', 'PreflightValidationOCP', { dtkImage: 'quay.io/dtk' }))[0]?.field,
    'spec.dtkImage',
  );
  assert.equal(kernelVersionProblem('5.14.0-1.el9.x86_64'), undefined);
});

test('ManagedClusterModule: moduleSpec is checked like a Module', () => {
  const mcm = (moduleSpec: unknown, extra: Json = {}) => ({
    apiVersion: 'hub.kmm.sigs.x-k8s.io/v1beta1',
    kind: 'ManagedClusterModule',
    metadata: { name: 'mcm' },
    spec: { moduleSpec, spokeNamespace: 'kmm', selector: { a: 'b' }, ...extra },
  });
  const good = module()['spec'];
  assert.deepEqual(errorsOf(mcm(good)), []);
  const bad = module({ kernelMappings: [{ regexp: '(', containerImage: 'r/i:1' }] })['spec'];
  assert.equal(
    errorsOf(mcm(bad))[0]?.field,
    'spec.moduleSpec.moduleLoader.container.kernelMappings[0].regexp',
  );
  assert.equal(errorsOf(mcm(good, { spokeNamespace: '' }))[0]?.field, 'spec.spokeNamespace');
  const versioned = module({ version: 'v1' })['spec'];
  assert.equal(
    errorsOf(mcm(good), mcm(versioned))[0]?.field,
    'spec.moduleSpec.moduleLoader.container.version',
  );
});

test('other kinds are not KMM objects', () => {
  assert.equal(validateKmmObject({ apiVersion: 'v1', kind: 'ConfigMap' }), undefined);
  assert.equal(validateKmmObject({ apiVersion: 'other.io/v1', kind: 'Module' }), undefined);
  assert.equal(validateKmmObject('text'), undefined);
});

test('namespace deletion is refused while Modules remain', () => {
  assert.deepEqual(validateNamespaceDeletion('ns', []), []);
  const e = validateNamespaceDeletion('ns', ['a', 'b']);
  assert.equal(e.length, 1);
  assert.ok(e[0]!.message.includes('a, b'));
});

test('helpers: tag or digest, paths under roots', () => {
  assert.ok(hasTagOrDigest('quay.io/a/b:1'));
  assert.ok(hasTagOrDigest('b@sha256:00'));
  assert.ok(!hasTagOrDigest('localhost:5000/b'));
  assert.ok(isUnder('/dev', ['/dev']));
  assert.ok(isUnder('/dev//dri/', ['/dev']));
  assert.ok(!isUnder('/device', ['/dev']));
  assert.ok(!isUnder('dev/x', ['/dev']));
  assert.ok(!isUnder('/var/../etc', ['/var']));
});

test('every KMM example of examples/ is valid', () => {
  const dir = join(PACKAGE_ROOT, 'examples/kmm');
  let seen = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    for (const r of validateDocuments(readFileSync(join(dir, f), 'utf8'), f)) {
      seen++;
      assert.deepEqual(r.errors, [], `${f}: ${r.kind} ${r.name}`);
    }
  }
  assert.ok(seen >= 5, `only ${seen} KMM objects found`);
});
