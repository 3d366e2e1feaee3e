import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ImageStream, imageForTag, parseImageStream } from './imagestream.js';

const yamlDoc = `
kind: ImageStream
apiVersion: image.openshift.io/v1
metadata:
  name: "4.12.3"
  creationTimestamp:
spec:
  tags:
  - name: driver-toolkit
    annotations:
      io.openshift.build.commit.id: abc
    from:
      kind: DockerImage
      name: quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'1'.repeat(64)}
  - name: machine-os-content
    from:
      kind: DockerImage
      name: quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'2'.repeat(64)}
`;

describe('parseImageStream', () => {
  it('reads YAML and JSON image-references', () => {
    const y = parseImageStream(yamlDoc, 'f');
    assert.ok('imageStream' in y);
    const j = parseImageStream(JSON.stringify(y.imageStream), 'f');
    assert.ok('imageStream' in j);
    assert.deepEqual(j.imageStream, y.imageStream);
  });
  const bad: [string, string, RegExp][] = [
    ['not YAML', 'a: [', /f: not JSON or YAML/],
    ['a list', '- a', /must be an ImageStream object/],
    ['another kind', 'kind: ConfigMap', /kind is "ConfigMap", expected ImageStream/],
    ['tags not a list', 'kind: ImageStream\nspec:\n  tags: {}', /spec\.tags must be a list/],
    [
      'a tag without name',
      'kind: ImageStream\nspec:\n  tags:\n  - from: {}',
      /spec\.tags\[0\]\.name/,
    ],
  ];
  for (const [name, text, why] of bad) {
    it(`rejects ${name}`, () => {
      const r = parseImageStream(text, 'f');
      assert.ok('problem' in r);
      assert.equal(r.problem.kind, 'Invalid');
      assert.match(r.problem.message, why);
    });
  }
});

describe('imageForTag', () => {
  const is: ImageStream = {
    kind: 'ImageStream',
    metadata: { name: 's' },
    spec: {
      tags: [
        { name: 'a', from: { kind: 'DockerImage', name: 'r/a:1' } },
        { name: 'b', from: { kind: 'ImageStreamTag', name: 's:a' } },
        { name: 'c', from: { kind: 'ImageStreamTag', name: 'b' } },
        { name: 'loop1', from: { kind: 'ImageStreamTag', name: 'loop2' } },
        { name: 'loop2', from: { kind: 'ImageStreamTag', name: 'loop1' } },
        { name: 'other', from: { kind: 'ImageStreamTag', name: 'elsewhere:x' } },
        { name: 'empty' },
      ],
    },
  };
  const cases: [string, string | RegExp][] = [
    ['a', 'r/a:1'],
    ['b', 'r/a:1'],
    ['c', 'r/a:1'],
    ['loop1', /refers to itself/],
    ['other', /spec\.tags\[5\] \("other"\) has no from\.name of kind DockerImage/],
    ['empty', /spec\.tags\[6\]/],
    ['missing', /no tag "missing" in ImageStream s; it has: a, b, c/],
  ];
  for (const [tag, want] of cases) {
    it(`${tag} → ${String(want)}`, () => {
      const r = imageForTag(is, tag);
      if (typeof want === 'string') assert.deepEqual(r, { image: want });
      else {
        assert.ok('problem' in r);
        assert.match(r.problem.message, want);
      }
    });
  }
});
