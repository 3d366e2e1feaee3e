import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  controllerOf,
  isOwnedBy,
  OwnerError,
  setControllerReference,
  setOwnerReference,
} from './owner.js';

const owner = (uid: string, name = 'm') => ({
  apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
  kind: 'Module',
  metadata: { name, uid },
});

test('setControllerReference adds one controller reference and keeps others', () => {
  const obj = {
    metadata: {
      name: 'ds',
      ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'x' }],
    },
  };
  setControllerReference(obj, owner('u1'));
  setControllerReference(obj, owner('u1'));
  assert.equal(obj.metadata.ownerReferences.length, 2);
  assert.deepEqual(controllerOf(obj), {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    name: 'm',
    uid: 'u1',
    controller: true,
    blockOwnerDeletion: true,
  });
  assert.ok(isOwnedBy(obj, owner('u1')));
});

test('a second controller is refused', () => {
  const obj = { kind: 'DaemonSet', metadata: { name: 'ds' } };
  setControllerReference(obj, owner('u1'));
  assert.throws(() => setControllerReference(obj, owner('u2', 'other')), OwnerError);
  setOwnerReference(obj, owner('u2', 'other'));
  assert.equal(controllerOf(obj)!.uid, 'u1');
  assert.equal(isOwnedBy(obj, owner('u2')), true);
});

test('an owner without uid is refused with the fields named', () => {
  assert.throws(
    () => setControllerReference({ metadata: {} }, { kind: 'Module', metadata: { name: 'm' } }),
    /apiVersion, kind, metadata.name and metadata.uid/,
  );
});
