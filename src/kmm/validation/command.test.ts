import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runHwe } from '../../../test/support/cli.js';
import { PACKAGE_ROOT } from '../../version.js';

const EXAMPLES = join(PACKAGE_ROOT, 'examples', 'kmm');

const MIXED = `apiVersion: v1
kind: ConfigMap
metadata: {name: skipped}
---
apiVersion: kmm.sigs.x-k8s.io/v1beta1
kind: Module
metadata: {name: good, namespace: ns}
spec:
  selector: {}
  moduleLoader:
    container:
      modprobe: {moduleName: good}
      kernelMappings: [{regexp: '^.+$', containerImage: 'r.example/good:\${KERNEL_XYZ}'}]
---
apiVersion: kmm.sigs.x-k8s.io/v1beta1
kind: Module
metadata: {name: bad, namespace: ns}
spec:
  selector: {}
  moduleLoader:
    container:
      modprobe: {moduleName: bad}
      kernelMappings: [{regexp: '(', containerImage: 'r.example/bad'}]
---
apiVersion: kmm.sigs.x-k8s.io/v1beta2
kind: PreflightValidation
metadata: {name: pfv}
spec: {kernelVersion: tesdt}
`;

test("hwe kmm validate: the seeds' examples are valid (exit 0)", async () => {
  const r = await runHwe([
    'kmm',
    'validate',
    join(EXAMPLES, 'module.yaml'),
    join(EXAMPLES, 'module-build-sign.yaml'),
    join(EXAMPLES, 'managedclustermodule.yaml'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { valid: boolean; objects: { kind: string }[] };
  assert.equal(out.valid, true);
  assert.deepEqual(
    out.objects.map((o) => o.kind),
    ['Module', 'Module', 'ManagedClusterModule'],
  );
});

test('hwe kmm validate: one message per invalid object naming the field (exit 1)', async () => {
  const r = await runHwe(['kmm', 'validate', '-'], { input: MIXED });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(
    lines[0]!,
    /^-: Module ns\/bad: .*kernelMappings\[0\]\.regexp: .*kernelMappings\[0\]\.containerImage: /,
  );
  assert.match(lines[1]!, /^-: PreflightValidation pfv: spec\.kernelVersion: "tesdt"/);
  const out = JSON.parse(r.stdout) as {
    valid: boolean;
    objects: { name: string; valid: boolean }[];
  };
  assert.equal(out.valid, false);
  assert.deepEqual(
    out.objects.map((o) => [o.name, o.valid]),
    [
      ['good', true],
      ['bad', false],
      ['pfv', false],
    ],
  );
});

test('hwe kmm validate: unreadable input or no KMM object (exit 2)', async () => {
  assert.equal((await runHwe(['kmm', 'validate', '/nonexistent.yaml'])).code, 2);
  assert.equal((await runHwe(['kmm', 'validate', '-'], { input: 'a: [' })).code, 2);
  const none = await runHwe(['kmm', 'validate', join(EXAMPLES, 'signing-secrets.yaml')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no KMM object/);
  assert.equal((await runHwe(['kmm', 'validate'])).code, 2);
});
