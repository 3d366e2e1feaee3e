import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageStreamResource } from '../../../src/api/foreign.js';
import { installCrds } from '../../../src/api/install.js';
import { createSimNodes, deleteSimNodes } from '../../../src/cluster/nodes.js';
import { runHwe } from '../../support/cli.js';
import { onCleanup, testCluster, testNamespace, uniqueName } from '../../support/cluster.js';

const DTK_412 = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'1'.repeat(64)}`;
const DTK_413 = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'2'.repeat(64)}`;

const cluster = await testCluster();
const client = cluster.client;
await installCrds(client, [ImageStreamResource]);
// A namespace of our own stands in for `openshift`, which other tests may also fill.
const ns = await testNamespace(client, 'dtk');
await client.request(`/apis/image.openshift.io/v1/namespaces/${ns}/imagestreams`, {
  method: 'POST',
  body: {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name: 'driver-toolkit', namespace: ns },
    spec: {
      tags: [
        { name: '412.86.202302211547-0', from: { kind: 'DockerImage', name: DTK_412 } },
        { name: '413.92.202305021736-0', from: { kind: 'DockerImage', name: DTK_413 } },
        {
          name: 'latest',
          from: { kind: 'ImageStreamTag', name: 'driver-toolkit:413.92.202305021736-0' },
        },
      ],
    },
  },
});
const nodes = {
  old: uniqueName('dtk-412'),
  upgraded: uniqueName('dtk-413'),
  future: uniqueName('dtk-414'),
};
await createSimNodes(client, [
  { name: nodes.old, osImage: 'Red Hat Enterprise Linux CoreOS 412.86.202302211547-0 (Ootpa)' },
  {
    name: nodes.upgraded,
    osImage: 'Red Hat Enterprise Linux CoreOS 413.92.202305021736-0 (Plow)',
    kernelVersion: '5.14.0-284.13.1.el9_2.x86_64',
  },
  { name: nodes.future, osImage: 'Red Hat Enterprise Linux CoreOS 414.92.202310210434-0 (Plow)' },
]);
onCleanup(() => deleteSimNodes(client, Object.values(nodes)));

const base = [
  'dtk',
  'image',
  '--kubeconfig',
  cluster.kubeconfig,
  '--imagestream',
  `${ns}/driver-toolkit`,
];

describe('hwe dtk image --node', () => {
  it("prints the DTK image of the tag named after each node's RHCOS version", async () => {
    const r = await runHwe([...base, '--node', nodes.upgraded]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      node: nodes.upgraded,
      osImage: 'Red Hat Enterprise Linux CoreOS 413.92.202305021736-0 (Plow)',
      kernelVersion: '5.14.0-284.13.1.el9_2.x86_64',
      tag: '413.92.202305021736-0',
      image: DTK_413,
    });
    const old = await runHwe([...base, '--node', nodes.old, '-o', 'name']);
    assert.equal(old.code, 0, old.stderr);
    assert.equal(old.stdout, `${DTK_412}\n`);
  });

  it("exits 3 when the ImageStream has no tag for the node's version, listing the tags", async () => {
    const r = await runHwe([...base, '--node', nodes.future]);
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      /no tag for OS version 414\.92\.202310210434-0 .*it has: 412\.86\.202302211547-0, 413\.92\.202305021736-0, latest/,
    );
  });

  it('exits 1 for a missing node or ImageStream, and 2 for conflicting flags', async () => {
    const missing = await runHwe([...base, '--node', 'no-such-node-dtk']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /node "no-such-node-dtk" not found/);
    const noStream = await runHwe([
      'dtk',
      'image',
      '--kubeconfig',
      cluster.kubeconfig,
      '--imagestream',
      `${ns}/nothing`,
      '--node',
      nodes.old,
    ]);
    assert.equal(noStream.code, 1);
    assert.match(noStream.stderr, new RegExp(`ImageStream ${ns}/nothing not found`));
    const both = await runHwe([...base, '--node', nodes.old, '--release', 'quay.io/x/y:1']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --release REF .* or --node NAME/);
    const badStream = await runHwe([...base, '--node', nodes.old, '--imagestream', 'just-a-name']);
    assert.equal(badStream.code, 2);
    assert.match(badStream.stderr, /flag --imagestream: "just-a-name" must be NAMESPACE\/NAME/);
  });
});
