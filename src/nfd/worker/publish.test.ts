import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildNodeFeature, type NodeFeatureObject, NODE_NAME_LABEL } from './discover.js';
import { canonical, desiredFrom, needsUpdate } from './publish.js';
import { resolveHostPaths } from './hostfs.js';

function want(labels: Record<string, string> = { a: '1' }, podUid?: string): NodeFeatureObject {
  return buildNodeFeature({
    nodeName: 'n1',
    namespace: 'nfd',
    result: {
      features: {
        flags: { 'kernel.loadedmodule': { elements: { veth: {} } } },
        attributes: {},
        instances: {},
      },
      labels,
    },
    podUid,
    ownerReferences: podUid ? [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: podUid }] : [],
  });
}

/** What the apiserver returns: our object plus server fields and other writers' metadata. */
function stored(
  nf: NodeFeatureObject,
  extra: Partial<NodeFeatureObject['metadata']> = {},
): NodeFeatureObject {
  const copy = JSON.parse(JSON.stringify(nf)) as NodeFeatureObject;
  copy.metadata = { ...copy.metadata, resourceVersion: '42', ...extra };
  return copy;
}

describe('deciding whether to write', () => {
  it('nothing changed: no write, whatever the key order', () => {
    const cur = stored(want({ b: '2', a: '1' }));
    assert.equal(needsUpdate(cur, want({ a: '1', b: '2' })), false);
  });
  it('labels or features changed: write', () => {
    assert.equal(needsUpdate(stored(want({ a: '1' })), want({ a: '2' })), true);
    const other = want();
    other.spec.features.flags['kernel.loadedmodule']!.elements = { e1000e: {} };
    assert.equal(needsUpdate(stored(want()), other), true);
  });
  it('labels and annotations of others are kept and do not count as a change', () => {
    const cur = stored(want(), {
      labels: { [NODE_NAME_LABEL]: 'n1', 'team/owner': 'infra' },
      annotations: { 'note/x': 'y' },
    });
    assert.equal(needsUpdate(cur, want()), false);
    const d = desiredFrom(cur, want({ a: '9' }, 'uid-2'));
    assert.equal(d.metadata.labels['team/owner'], 'infra');
    assert.equal(d.metadata.annotations?.['note/x'], 'y');
    assert.equal(d.metadata.annotations?.['nfd.node.kubernetes.io/worker.pod.uid'], 'uid-2');
    assert.equal(d.metadata.resourceVersion, '42', 'the update is conditional on what was read');
    assert.deepEqual(d.spec.labels, { a: '9' });
  });
  it('a removed node-name label or a new worker pod is a change', () => {
    assert.equal(needsUpdate(stored(want(), { labels: {} }), want()), true);
    assert.equal(needsUpdate(stored(want({ a: '1' }, 'uid-1')), want({ a: '1' }, 'uid-2')), true);
  });
  it('canonical JSON ignores key order only', () => {
    assert.equal(
      canonical({ b: 1, a: { d: 1, c: [2, 1] } }),
      canonical({ a: { c: [2, 1], d: 1 }, b: 1 }),
    );
    assert.notEqual(canonical({ a: [1, 2] }), canonical({ a: [2, 1] }));
  });
});

describe('host paths', () => {
  it('--host-root puts every path under the root', () => {
    const p = resolveHostPaths('/fx');
    assert.equal(p.sys, '/fx/sys');
    assert.equal(p.proc, '/fx/proc');
    assert.equal(p.featuresDir, '/fx/etc/kubernetes/node-feature-discovery/features.d');
    assert.equal(p.customDir, '/fx/etc/kubernetes/node-feature-discovery/custom.d');
  });
  it('in a pod, the /host-* mounts replace the directories that are mounted', () => {
    const mounted = new Set(['/host-sys', '/host-etc', '/host-lib']);
    const p = resolveHostPaths(undefined, (d) => mounted.has(d));
    assert.equal(p.sys, '/host-sys');
    assert.equal(p.etc, '/host-etc');
    assert.equal(p.lib, '/host-lib');
    assert.equal(p.proc, '/proc');
    assert.equal(p.usr, '/usr');
    assert.equal(
      p.featuresDir,
      '/etc/kubernetes/node-feature-discovery/features.d',
      'mounted by the manifest',
    );
  });
});
