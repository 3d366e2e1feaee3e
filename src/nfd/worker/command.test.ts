import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, test } from 'node:test';
import { hostFixture } from '../../../test/fixtures/hosts/index.js';
import { runHwe } from '../../../test/support/cli.js';
import type { NodeFeatureObject } from './discover.js';
import { hostName } from './command.js';

const AMD = hostFixture('amd-debian');
const NS = 'feature.node.kubernetes.io/';
const ENV = { NODE_NAME: '', POD_NAME: '', POD_UID: '', POD_NAMESPACE: '' };

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nfd-worker-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('hwe nfd worker', () => {
  it('--oneshot --no-publish -o json prints the NodeFeature it would publish', async () => {
    const config = tempFile('nfd-worker.conf', 'core:\n  sleepInterval: 10s\n');
    const r = await runHwe(
      [
        'nfd',
        'worker',
        '--oneshot',
        '--no-publish',
        '--host-root',
        AMD,
        '--config',
        config,
        '-o',
        'json',
        '--node-name',
        'n1',
        '--namespace',
        'nfd',
      ],
      { env: ENV },
    );
    assert.equal(r.code, 0, r.stderr);
    const nf = JSON.parse(r.stdout) as NodeFeatureObject;
    assert.equal(nf.kind, 'NodeFeature');
    assert.equal(nf.apiVersion, 'nfd.k8s-sigs.io/v1alpha1');
    assert.deepEqual(nf.metadata, {
      name: 'n1',
      namespace: 'nfd',
      labels: { 'nfd.node.kubernetes.io/node-name': 'n1' },
    });
    assert.equal(nf.spec.labels['rdma.capable'], 'true');
    assert.equal(nf.spec.labels[`${NS}system-os_release.ID`], 'debian');
    assert.ok(nf.spec.features.instances['pci.device']!.elements.length === 3);
  });

  it('takes upstream single-dash flags, NODE_NAME and the pod identity', async () => {
    const r = await runHwe(
      [
        'nfd',
        'worker',
        '-oneshot',
        '-no-publish',
        `-host-root=${AMD}`,
        '-config=/nonexistent/nfd-worker.conf',
        '-o',
        'json',
        '-sources=pci,system',
      ],
      {
        env: {
          ...ENV,
          NODE_NAME: 'node-from-env',
          POD_NAME: 'nfd-worker-x1',
          POD_UID: '0b5c4f9e-1111-2222-3333-444455556666',
          POD_NAMESPACE: 'openshift-nfd',
        },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const nf = JSON.parse(r.stdout) as NodeFeatureObject;
    assert.equal(nf.metadata.name, 'node-from-env');
    assert.equal(nf.metadata.namespace, 'openshift-nfd');
    assert.deepEqual(nf.metadata.ownerReferences, [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        name: 'nfd-worker-x1',
        uid: '0b5c4f9e-1111-2222-3333-444455556666',
      },
    ]);
    assert.equal(
      nf.metadata.annotations?.['nfd.node.kubernetes.io/worker.pod.uid'],
      '0b5c4f9e-1111-2222-3333-444455556666',
    );
    const sources = new Set(
      Object.keys(nf.spec.labels).map((k) => k.slice(NS.length).split('-')[0]),
    );
    assert.deepEqual([...sources].sort(), ['pci', 'system']);
  });

  it('flags win over the file', async () => {
    const config = tempFile('c.conf', 'core:\n  labelWhiteList: "^cpu-"\n  sources: [all]\n');
    const r = await runHwe(
      [
        'nfd',
        'worker',
        '-oneshot',
        '-no-publish',
        '-host-root',
        AMD,
        '-config',
        config,
        '-o',
        'json',
        '-label-whitelist',
        '^memory-',
        '-node-name',
        'n',
      ],
      { env: ENV },
    );
    assert.equal(r.code, 0, r.stderr);
    const nf = JSON.parse(r.stdout) as NodeFeatureObject;
    assert.deepEqual(Object.keys(nf.spec.labels).sort(), [
      `${NS}memory-nv.dax`,
      `${NS}memory-nv.present`,
      `${NS}memory-swap`,
    ]);
  });

  it('prints YAML with -o yaml', async () => {
    const r = await runHwe(
      [
        'nfd',
        'worker',
        '--oneshot',
        '--no-publish',
        '--host-root',
        AMD,
        '--config',
        '',
        '-o',
        'yaml',
        '--node-name',
        'n',
      ],
      { env: ENV },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^apiVersion: nfd\.k8s-sigs\.io\/v1alpha1\nkind: NodeFeature\n/);
  });

  const errors: [string, string[], RegExp][] = [
    [
      'an unknown config key',
      ['--options', 'core: {noPublsh: true}'],
      /-options: core\.noPublsh: unknown option/,
    ],
    [
      'an ill-typed config key',
      ['--options', 'sources: {kernel: {configOpts: NO_HZ}}'],
      /sources\.kernel\.configOpts: "NO_HZ" is not a list of strings/,
    ],
    [
      'a bad sleep interval',
      ['-sleep-interval', 'often'],
      /--sleep-interval: "often" is not a duration/,
    ],
    [
      'a misspelt key in a custom rule',
      [
        '--options',
        'sources: {custom: [{name: r, matchFeatures: [{feature: pci.device, matchExpresions: {}}]}]}',
      ],
      /sources\.custom\[0\]\.matchFeatures\[0\]\.matchExpresions: unknown key; use feature, matchExpressions, matchName/,
    ],
    ['an unknown source', ['-sources', 'pci,gpu'], /core\.labelSources: unknown source "gpu"/],
    ['an unknown output format', ['-o', 'xml'], /-o: "xml" is not an output format/],
  ];
  for (const [what, args, msg] of errors) {
    it(`exits 2 and names the problem for ${what}`, async () => {
      const r = await runHwe(
        [
          'nfd',
          'worker',
          '-oneshot',
          '-no-publish',
          '-host-root',
          AMD,
          '-config',
          '',
          '-node-name',
          'n',
          ...args,
        ],
        { env: ENV },
      );
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, msg);
      assert.equal(r.stdout, '');
    });
  }
});

test('the default node name is the host name, as gethostname(2) gives it', () => {
  assert.equal(hostName(), hostname());
});
