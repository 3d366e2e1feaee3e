import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergePatch } from '../../runtime/index.js';
import { OWNER_ANNOTATION, RENDERED_HASH_ANNOTATION } from './constants.js';
import type { Operand } from './render.js';
import { desiredState, OwnershipConflict, renderedHash } from './sync.js';

const owner = {
  apiVersion: 'nfd.openshift.io/v1',
  kind: 'NodeFeatureDiscovery',
  name: 'n',
  uid: 'u1',
  controller: true,
  blockOwnerDeletion: true,
};

function ds(image: string, args = ['-a']): Operand {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: 'nfd-worker',
      namespace: 'ns',
      labels: { app: 'nfd-worker' },
      ownerReferences: [owner],
    },
    spec: { template: { spec: { containers: [{ name: 'w', image, args }] } } },
  };
}

/** The object as the apiserver stores it: with defaults the rendering does not carry. */
function stored(o: Operand, hash = renderedHash(o)): Operand {
  const s = structuredClone(o) as Operand & {
    spec: { template: { spec: { containers: Record<string, unknown>[] } } };
  };
  s.metadata = {
    ...s.metadata,
    resourceVersion: '7',
    uid: 'x',
    annotations: { [RENDERED_HASH_ANNOTATION]: hash },
  };
  (s.spec as Record<string, unknown>).revisionHistoryLimit = 10;
  s.spec.template.spec.containers[0]!.terminationMessagePath = '/dev/termination-log';
  (s.spec.template.spec as Record<string, unknown>).dnsPolicy = 'ClusterFirst';
  return s;
}

function patchFor(current: Operand, desired: Operand): unknown {
  const next = structuredClone(current);
  desiredState(next, desired);
  return mergePatch(current, next);
}

test('desiredState: nothing to write when the object is as rendered plus server defaults', () => {
  assert.equal(patchFor(stored(ds('img')), ds('img')), undefined);
});

test('desiredState: a hand edit of a rendered field is undone, defaults kept', () => {
  const cur = stored(ds('img')) as Operand & {
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  cur.spec.template.spec.containers[0]!.image = 'hand-edited';
  assert.deepEqual(patchFor(cur, ds('img')), {
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'w',
              image: 'img',
              args: ['-a'],
              terminationMessagePath: '/dev/termination-log',
            },
          ],
        },
      },
    },
  });
});

test('desiredState: a new rendering replaces the rendered fields whole and records its hash', () => {
  const cur = stored(ds('img', ['-a', '-b']));
  const want = ds('img2', ['-a']);
  const p = patchFor(cur, want) as {
    metadata: { annotations: Record<string, string> };
    spec: Record<string, unknown>;
  };
  assert.equal(p.metadata.annotations[RENDERED_HASH_ANNOTATION], renderedHash(want));
  // Server defaults go (the server sets them again); a removed flag is gone.
  assert.equal(p.spec.revisionHistoryLimit, null);
  assert.deepEqual((p.spec.template as { spec: { containers: unknown } }).spec.containers, [
    { name: 'w', image: 'img2', args: ['-a'] },
  ]);
});

test('desiredState: Service addresses survive a replacement', () => {
  const svc = (port: number): Operand => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'ns' },
    spec: { ports: [{ port }] },
  });
  const cur = structuredClone(svc(80)) as Operand & { spec: Record<string, unknown> };
  cur.metadata.annotations = { [RENDERED_HASH_ANNOTATION]: renderedHash(svc(80)) };
  cur.spec.clusterIP = '10.0.0.5';
  cur.spec.clusterIPs = ['10.0.0.5'];
  assert.deepEqual(patchFor(cur, svc(81)), {
    metadata: { annotations: { [RENDERED_HASH_ANNOTATION]: renderedHash(svc(81)) } },
    spec: { ports: [{ port: 81 }] },
  });
});

test('desiredState: labels and owners others added are kept', () => {
  const cur = stored(ds('img'));
  cur.metadata.labels = { ...cur.metadata.labels, team: 'x' };
  const other = { apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u9' };
  cur.metadata.ownerReferences = [other, owner];
  assert.equal(patchFor(cur, ds('img')), undefined);
});

test('desiredState: an object controlled or annotated by another CR is refused', () => {
  const cur = stored(ds('img'));
  cur.metadata.ownerReferences = [{ ...owner, uid: 'other' }];
  assert.throws(() => desiredState(structuredClone(cur), ds('img')), OwnershipConflict);
  const role = (holder: string): Operand => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'ns:nfd-gc', annotations: { [OWNER_ANNOTATION]: holder } },
    rules: [],
  });
  assert.throws(
    () => desiredState(role('ns/a'), role('ns/b')),
    /ClusterRole ns:nfd-gc belongs to ns\/a/,
  );
  desiredState(role('ns/a'), role('ns/a'));
});

test('desiredState on a bare object gives what to create: the next pass writes nothing', () => {
  const fresh: Operand = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'nfd-worker', namespace: 'ns' },
  };
  desiredState(fresh, ds('img'));
  assert.equal(fresh.metadata.annotations?.[RENDERED_HASH_ANNOTATION], renderedHash(ds('img')));
  assert.equal(
    patchFor(stored(fresh, fresh.metadata.annotations[RENDERED_HASH_ANNOTATION]), ds('img')),
    undefined,
  );
});
