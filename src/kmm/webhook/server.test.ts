import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../runtime/index.js';
import { validateKmmAdmission } from './server.js';
import { testModule } from '../../../test/fixtures/kmm/module.js';

const bad: KubeObject = testModule({
  kernelMappings: [{ regexp: '(', containerImage: 'r/m:1' }],
});

const req = (
  operation: AdmissionRequest['operation'],
  object?: KubeObject,
  oldObject?: KubeObject,
) =>
  ({
    uid: '1',
    kind: { group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', kind: 'Module' },
    resource: { group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', resource: 'modules' },
    operation,
    ...(object ? { object } : {}),
    ...(oldObject ? { oldObject } : {}),
  }) as AdmissionRequest;

test('create of an invalid Module is denied with the field named', () => {
  const r = validateKmmAdmission(req('CREATE', bad));
  assert.equal(r.allowed, false);
  assert.match(r.message!, /spec\.moduleLoader\.container\.kernelMappings\[0\]\.regexp/);
});

test('an update that changes the spec of an invalid Module is denied', () => {
  const changed = structuredClone(bad) as KubeObject & {
    spec: { selector: Record<string, string> };
  };
  changed.spec.selector = { a: 'b' };
  assert.equal(validateKmmAdmission(req('UPDATE', changed, bad)).allowed, false);
});

test('an invalid Module admitted earlier can still get finalizers, labels and be deleted', () => {
  const labelled = structuredClone(bad);
  labelled.metadata.labels = { a: 'b' };
  labelled.metadata.finalizers = [];
  assert.equal(validateKmmAdmission(req('UPDATE', labelled, bad)).allowed, true);
  const deleting = structuredClone(bad) as KubeObject & {
    spec: { selector: Record<string, string> };
  };
  deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  deleting.spec.selector = { changed: 'x' };
  assert.equal(validateKmmAdmission(req('UPDATE', deleting, bad)).allowed, true);
  assert.equal(validateKmmAdmission(req('DELETE', undefined, bad)).allowed, true);
});

test('objects of other kinds are refused as a misrouted request', () => {
  const r = validateKmmAdmission(
    req('CREATE', { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }),
  );
  assert.equal(r.allowed, false);
  assert.equal(r.code, 400);
});
