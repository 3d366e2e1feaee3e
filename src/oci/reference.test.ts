import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOciError } from './errors.js';
import { formatReference, manifestTarget, parseReference, registryApiHost } from './reference.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseReference', () => {
  const ok: [string, string, string, string | undefined, string | undefined][] = [
    // input, registry, repository, tag, digest
    ['busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined],
    ['user/app', 'docker.io', 'user/app', undefined, undefined],
    ['docker.io/busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['index.docker.io/user/app:v1', 'docker.io', 'user/app', 'v1', undefined],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    ['localhost:5000/app:v1', 'localhost:5000', 'app', 'v1', undefined],
    ['127.0.0.1:5000/a/b/c:dev-1', '127.0.0.1:5000', 'a/b/c', 'dev-1', undefined],
    [`quay.io/org/app@${D}`, 'quay.io', 'org/app', undefined, D],
    [`quay.io/org/app:v2@${D}`, 'quay.io', 'org/app', 'v2', D],
    ['[::1]:5000/app', '[::1]:5000', 'app', undefined, undefined],
    ['Registry.Example/app', 'Registry.Example', 'app', undefined, undefined],
    ['example.com/a.b_c__d-e--f/g', 'example.com', 'a.b_c__d-e--f/g', undefined, undefined],
    ['app:_tag.1-X', 'docker.io', 'library/app', '_tag.1-X', undefined],
  ];
  for (const [input, registry, repository, tag, digest] of ok) {
    it(`parses ${input}`, () => {
      const r = parseReference(input);
      assert.deepEqual(r, {
        registry,
        repository,
        ...(tag !== undefined ? { tag } : {}),
        ...(digest !== undefined ? { digest } : {}),
      });
    });
  }

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['UPPER', /must be lowercase/],
    ['quay.io/Org/app', /must be lowercase/],
    ['app:', /tag ""/],
    ['app:-x', /tag "-x"/],
    ['app@sha256:abc', /algorithm:hex/],
    [`app@sha256:${'a'.repeat(40)}`, /64 lowercase hex/],
    ['app@md5', /algorithm:hex/],
    ['a//b', /repository "a\/\/b"/],
    ['quay.io/', /repository name is missing/],
    ['a b', /white space/],
    ['quay.io/../x', /repository/],
    ['-app', /repository/],
    ['a'.repeat(64).replace(/a/g, 'f'), /64-character hexadecimal/],
    ['bad_host!:5000/app', /registry "bad_host!:5000" is not a host/],
    [`example.com/${'a'.repeat(260)}`, /longer than 255/],
  ];
  for (const [input, why] of bad) {
    it(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
      assert.throws(
        () => parseReference(input),
        (e) => isOciError(e, 'InvalidReference') && why.test(e.message),
      );
    });
  }
});

describe('formatReference and targets', () => {
  it('round-trips fully qualified references', () => {
    for (const s of ['docker.io/library/busybox:1', `quay.io/a/b:t@${D}`, '127.0.0.1:5000/x']) {
      assert.equal(formatReference(parseReference(s)), s);
    }
  });
  it('pulls by digest before tag, and latest when neither is given', () => {
    assert.equal(manifestTarget(parseReference(`a:t@${D}`)), D);
    assert.equal(manifestTarget(parseReference('a:t')), 't');
    assert.equal(manifestTarget(parseReference('a')), 'latest');
  });
  it('talks to Docker Hub on its API host', () => {
    assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(registryApiHost('quay.io'), 'quay.io');
  });
});
