import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialsFor, dockerConfigFromSecret, parseDockerConfig } from './auth.js';
import { loadAuthFiles } from './authfile.js';
import { isOciError } from './errors.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('parseDockerConfig', () => {
  it('decodes auth (base64 user:password, password may hold colons) and username/password', () => {
    const c = parseDockerConfig(
      JSON.stringify({
        auths: {
          'quay.io': { auth: b64('robot:pa:ss') },
          'r.example:5000': { username: 'u', password: 'p' },
          'tok.example': { identitytoken: 'id-1' },
        },
      }),
    );
    assert.deepEqual(c.get('quay.io'), { username: 'robot', password: 'pa:ss' });
    assert.deepEqual(c.get('r.example:5000'), { username: 'u', password: 'p' });
    assert.deepEqual(c.get('tok.example'), { identityToken: 'id-1' });
  });
  it('accepts the legacy .dockercfg form without "auths"', () => {
    const c = parseDockerConfig(JSON.stringify({ 'quay.io': { auth: b64('a:b') } }));
    assert.deepEqual(c.get('quay.io'), { username: 'a', password: 'b' });
  });
  const bad: [string, RegExp][] = [
    ['not json', /not JSON/],
    ['[]', /must be a JSON object/],
    ['{"auths": []}', /auths: must be an object/],
    ['{"auths": {"q": 1}}', /auths\["q"\]: must be an object/],
    [`{"auths": {"q": {"auth": "${b64('nocolon')}"}}}`, /auths\["q"\]\.auth: must be base64/],
    ['{"auths": {"q": {"username": 3}}}', /auths\["q"\]\.username: must be a string/],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${text.slice(0, 30)}`, () => {
      assert.throws(
        () => parseDockerConfig(text, 'cfg'),
        (e) =>
          isOciError(e, 'InvalidContent') && why.test(e.message) && e.message.startsWith('cfg'),
      );
    });
  }
});

describe('credentialsFor', () => {
  const config = parseDockerConfig(
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:1') },
        'quay.io': { auth: b64('quay:1') },
        'quay.io/team': { auth: b64('team:1') },
        'https://quay.io/team/app': { auth: b64('app:1') },
        '*.corp.example': { auth: b64('corp:1') },
        'reg.example:5000': { auth: b64('port:1') },
        'http://plain.example/v2/': { auth: b64('plain:1') },
      },
    }),
  );
  const cases: [string, string, string | undefined][] = [
    ['docker.io', 'library/busybox', 'hub'],
    ['quay.io', 'other/app', 'quay'],
    ['quay.io', 'team/x', 'team'],
    ['quay.io', 'team/app', 'app'],
    ['quay.io', 'team/app2', 'team'],
    ['quay.io', 'teamx/app', 'quay'],
    ['a.corp.example', 'x', 'corp'],
    ['a.b.corp.example', 'x', undefined],
    ['reg.example:5000', 'x', 'port'],
    ['reg.example', 'x', undefined],
    ['plain.example', 'x', 'plain'],
    ['gcr.io', 'x', undefined],
  ];
  for (const [registry, repo, user] of cases) {
    it(`${registry}/${repo} → ${user ?? 'none'}`, () => {
      assert.equal(credentialsFor(config, registry, repo)?.username, user);
    });
  }
});

describe('dockerConfigFromSecret', () => {
  it('reads kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg secrets', () => {
    const json = dockerConfigFromSecret({
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64(JSON.stringify({ auths: { q: { auth: b64('a:b') } } })) },
    });
    assert.equal(json.get('q')?.password, 'b');
    const cfg = dockerConfigFromSecret({
      type: 'kubernetes.io/dockercfg',
      data: { '.dockercfg': b64(JSON.stringify({ q: { username: 'c', password: 'd' } })) },
    });
    assert.equal(cfg.get('q')?.username, 'c');
  });
  it('names the secret and the missing key', () => {
    assert.throws(
      () => dockerConfigFromSecret({ metadata: { namespace: 'ns', name: 'pull' }, data: {} }),
      (e) =>
        isOciError(e) && /Secret ns\/pull: data\["\.dockerconfigjson"\] is missing/.test(e.message),
    );
  });
});

describe('loadAuthFiles', () => {
  const files: Record<string, string> = {
    '/h/.docker/config.json': JSON.stringify({
      auths: { a: { auth: b64('docker:1') }, b: { auth: b64('docker:2') } },
    }),
    '/run/containers/auth.json': JSON.stringify({ auths: { b: { auth: b64('podman:2') } } }),
  };
  const read = (p: string) => {
    const t = files[p];
    if (t === undefined) throw new Error(`ENOENT: ${p}`);
    return t;
  };
  it('merges default files, later ones winning, and skips absent ones', () => {
    const c = loadAuthFiles(
      undefined,
      { DOCKER_CONFIG: '/h/.docker', XDG_RUNTIME_DIR: '/run' },
      read,
    );
    assert.equal(c.get('a')?.username, 'docker');
    assert.equal(c.get('b')?.username, 'podman');
  });
  it('fails on an explicit file that is missing, naming it', () => {
    assert.throws(() => loadAuthFiles('/nope.json', {}, read), /registry config \/nope\.json/);
  });
});
