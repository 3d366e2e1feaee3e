import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageStream } from './imagestream.js';
import { dtkImageForNode, osVersionCandidates } from './node.js';

const img = (n: string) => `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${n.repeat(64)}`;

const stream: ImageStream = {
  apiVersion: 'image.openshift.io/v1',
  kind: 'ImageStream',
  metadata: { name: 'driver-toolkit', namespace: 'openshift' },
  spec: {
    tags: [
      { name: '410.84.202207140725-0', from: { kind: 'DockerImage', name: img('a') } },
      { name: '411.86.202207260413-0', from: { kind: 'DockerImage', name: img('b') } },
      { name: 'latest', from: { kind: 'DockerImage', name: img('b') } },
      {
        name: '412.86.202302211547-0',
        from: { kind: 'ImageStreamTag', name: 'driver-toolkit:latest' },
      },
      { name: '9.6.20250701-0', from: { kind: 'DockerImage', name: img('c') } },
      { name: '413.92.202305021736-0' },
    ],
  },
  status: {
    tags: [{ tag: '413.92.202305021736-0', items: [{ dockerImageReference: img('d') }] }],
  },
};

describe('dtkImageForNode', () => {
  const cases: [string, string, string | { kind: string; match: RegExp }][] = [
    ['RHCOS 4.10', 'Red Hat Enterprise Linux CoreOS 410.84.202207140725-0 (Ootpa)', img('a')],
    ['RHCOS 4.11', 'Red Hat Enterprise Linux CoreOS 411.86.202207260413-0 (Ootpa)', img('b')],
    [
      'a tag that points to another tag',
      'Red Hat Enterprise Linux CoreOS 412.86.202302211547-0 (Ootpa)',
      img('b'),
    ],
    ['RHCOS 9.x naming (4.19+)', 'Red Hat Enterprise Linux CoreOS 9.6.20250701-0 (Plow)', img('c')],
    [
      'a tag only in status (imported)',
      'Red Hat Enterprise Linux CoreOS 413.92.202305021736-0 (Plow)',
      img('d'),
    ],
    [
      'a version the stream lacks',
      'Red Hat Enterprise Linux CoreOS 414.92.202310210434-0 (Plow)',
      {
        kind: 'TagNotFound',
        match: /no tag for OS version 414\.92\.202310210434-0.*it has: 410\.84/,
      },
    ],
    [
      'a non-RHCOS node',
      'Debian GNU/Linux 12 (bookworm)',
      {
        kind: 'NoOsVersion',
        match: /osImage "Debian GNU\/Linux 12 \(bookworm\)" holds no RHCOS version/,
      },
    ],
    [
      'an Ubuntu version that is no tag',
      'Ubuntu 22.04.3 LTS',
      { kind: 'TagNotFound', match: /OS version 22\.04\.3/ },
    ],
  ];
  for (const [name, osImage, want] of cases) {
    it(name, () => {
      const got = dtkImageForNode(stream, osImage);
      if (typeof want === 'string') {
        assert.ok('image' in got, JSON.stringify(got));
        assert.equal(got.image, want);
      } else {
        assert.ok('problem' in got, JSON.stringify(got));
        assert.equal(got.problem.kind, want.kind);
        assert.match(got.problem.message, want.match);
      }
    });
  }
  it('reports the tag it used', () => {
    const got = dtkImageForNode(
      stream,
      'Red Hat Enterprise Linux CoreOS 410.84.202207140725-0 (Ootpa)',
    );
    assert.ok('tag' in got);
    assert.equal(got.tag, '410.84.202207140725-0');
  });
  it('finds version tokens in osImage strings', () => {
    assert.deepEqual(
      osVersionCandidates('Red Hat Enterprise Linux CoreOS 412.86.202302211547-0 (Ootpa)'),
      ['412.86.202302211547-0'],
    );
    assert.deepEqual(osVersionCandidates('Fedora CoreOS 38.20230709.3.0'), ['38.20230709.3.0']);
    assert.deepEqual(osVersionCandidates('Flatcar Container Linux by Kinvolk'), []);
  });
});
