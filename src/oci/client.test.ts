import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeScopes, parseChallenge, parseManifest } from './client.js';
import { isOciError } from './errors.js';
import { MediaType } from './types.js';

const D = 'sha256:' + 'b'.repeat(64);
const desc = { mediaType: MediaType.OciLayerGzip, digest: D, size: 3 };

describe('parseChallenge', () => {
  it('reads Bearer parameters, including quoted commas', () => {
    assert.deepEqual(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
      ),
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull,push',
        },
      },
    );
  });
  it('reads Basic and unquoted values', () => {
    assert.deepEqual(parseChallenge('Basic realm=hwe'), {
      scheme: 'basic',
      params: { realm: 'hwe' },
    });
  });
  it('is undefined without a header', () => assert.equal(parseChallenge(undefined), undefined));
});

describe('parseManifest', () => {
  const m = (o: unknown, ct?: string) => parseManifest(Buffer.from(JSON.stringify(o)), ct, D);
  it('tells an image manifest from an index', () => {
    const a = m({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: desc,
      layers: [desc],
    });
    assert.equal(a.kind, 'manifest');
    const b = m({ schemaVersion: 2, manifests: [desc] }, MediaType.DockerManifestList);
    assert.equal(b.kind, 'index');
    assert.equal(b.mediaType, MediaType.DockerManifestList);
  });
  it('takes the media type from the document before the Content-Type', () => {
    const a = m(
      { schemaVersion: 2, mediaType: MediaType.DockerManifest, config: desc, layers: [] },
      'application/json',
    );
    assert.equal(a.mediaType, MediaType.DockerManifest);
  });
  const bad: [string, unknown, RegExp][] = [
    ['schema 1', { schemaVersion: 1, name: 'x', fsLayers: [] }, /schema 1/],
    [
      'a layer without digest',
      {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: desc,
        layers: [{ size: 1, mediaType: 'x' }],
      },
      /layers\[0\] must be a descriptor/,
    ],
    [
      'a config with a bad digest',
      {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { ...desc, digest: 'sha256:12' },
        layers: [],
      },
      /config must be a descriptor/,
    ],
    [
      'an index without manifests',
      { schemaVersion: 2, mediaType: MediaType.OciIndex },
      /manifests must be a list/,
    ],
    [
      'an unknown media type',
      { schemaVersion: 2, mediaType: 'text/plain' },
      /unsupported media type/,
    ],
  ];
  for (const [name, doc, why] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => m(doc),
        (e) => isOciError(e, 'InvalidContent') && why.test(e.message),
      );
    });
  }
  it('rejects a document that is not JSON', () => {
    assert.throws(() => parseManifest(Buffer.from('<html>'), 'text/html', D), /not a JSON object/);
  });
});

describe('mergeScopes', () => {
  it('asks once per repository, with the actions of every spelling, sorted', () => {
    assert.deepEqual(
      mergeScopes([
        'repository:team/app:push,pull',
        'repository:team/app:pull,push',
        'repository:team/src:pull',
        'registry:catalog:*',
      ]),
      ['repository:team/app:pull,push', 'repository:team/src:pull', 'registry:catalog:*'],
    );
    assert.deepEqual(mergeScopes(['repository:a:pull', 'repository:a:push']), [
      'repository:a:pull,push',
    ]);
  });
});
