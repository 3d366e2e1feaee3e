import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InvalidInputError,
  mergeNodeFeatures,
  type NodeFeatureObject,
  readNodeFeature,
} from './merge.js';

function nf(name: string, namespace: string, spec: Record<string, unknown>): NodeFeatureObject {
  return readNodeFeature(
    {
      metadata: { name, namespace, labels: { 'nfd.node.kubernetes.io/node-name': 'node-1' } },
      spec,
    },
    '',
  );
}

describe('mergeNodeFeatures', () => {
  it("merges the master's namespace first, then by name: flags union, attributes overwrite, instances append, labels overwrite", () => {
    const worker = nf('node-1', 'nfd', {
      features: {
        flags: { 'kernel.loadedmodule': { elements: { veth: {} } } },
        attributes: { 'cpu.model': { elements: { vendor_id: 'Intel', family: '6' } } },
        instances: { 'pci.device': { elements: [{ attributes: { vendor: '8086' } }] } },
      },
      labels: { owner: 'worker', 'example.com/x': 'w' },
    });
    const a = nf('a-extra', 'other', {
      features: {
        flags: { 'kernel.loadedmodule': { elements: { nvidia: {} } } },
        attributes: { 'cpu.model': { elements: { vendor_id: 'AMD' } } },
        instances: { 'pci.device': { elements: [{ attributes: { vendor: '10de' } }] } },
      },
      labels: { owner: 'a' },
    });
    const b = nf('b-extra', 'other', { labels: { 'feature.node.kubernetes.io/owner': 'b' } });
    for (const order of [
      [worker, a, b],
      [b, a, worker],
      [a, worker, b],
    ]) {
      const m = mergeNodeFeatures(order, 'nfd');
      assert.deepEqual(m.features.flags['kernel.loadedmodule']?.elements, { veth: {}, nvidia: {} });
      assert.deepEqual(m.features.attributes['cpu.model']?.elements, {
        vendor_id: 'AMD',
        family: '6',
      });
      assert.deepEqual(
        m.features.instances['pci.device']?.elements.map((e) => e.attributes['vendor']),
        ['8086', '10de'],
      );
      assert.deepEqual(m.labels, { 'feature.node.kubernetes.io/owner': 'b', 'example.com/x': 'w' });
    }
  });

  it('without an object in the master namespace, sorts by name', () => {
    const x = nf('x', 'ns1', { features: { attributes: { 'a.b': { elements: { k: 'x' } } } } });
    const y = nf('y', 'ns0', { features: { attributes: { 'a.b': { elements: { k: 'y' } } } } });
    assert.equal(mergeNodeFeatures([y, x], 'nfd').features.attributes['a.b']?.elements['k'], 'y');
  });

  it('does not modify its inputs', () => {
    const x = nf('x', 'nfd', { features: { flags: { 'a.b': { elements: { f: {} } } } } });
    const y = nf('y', 'nfd', { features: { flags: { 'a.b': { elements: { g: {} } } } } });
    mergeNodeFeatures([x, y], 'nfd');
    assert.deepEqual(x.features.flags['a.b']?.elements, { f: {} });
  });
});

describe('readNodeFeature', () => {
  const bad: [string, Record<string, unknown>, string][] = [
    ['no name', { metadata: {} }, 'metadata.name'],
    [
      'a number attribute',
      {
        metadata: { name: 'n' },
        spec: { features: { attributes: { 'k.v': { elements: { major: 5 } } } } },
      },
      'spec.features.attributes.k.v.elements.major',
    ],
    [
      'instances not a list',
      { metadata: { name: 'n' }, spec: { features: { instances: { 'p.d': { elements: {} } } } } },
      'spec.features.instances.p.d.elements',
    ],
    [
      'a label that is not a string',
      { metadata: { name: 'n' }, spec: { labels: { a: true } } },
      'spec.labels.a',
    ],
    [
      'flags not a map',
      { metadata: { name: 'n' }, spec: { features: { flags: [] } } },
      'spec.features.flags',
    ],
  ];
  for (const [what, doc, path] of bad) {
    it(`rejects ${what}, naming ${path}`, () => {
      assert.throws(
        () => readNodeFeature(doc, ''),
        (e: unknown) => e instanceof InvalidInputError && e.path === path,
      );
    });
  }
  it('takes the node from the node-name label, else the object name', () => {
    assert.equal(readNodeFeature({ metadata: { name: 'n' } }, '').node, 'n');
    assert.equal(nf('other-name', 'x', {}).node, 'node-1');
  });
});
