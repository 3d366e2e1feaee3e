import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  RegistryClient,
  dockerConfigFromSecret,
  imageExists,
  openImage,
  isOciError,
  parseReference,
  type RegistryClientOptions,
  type ImageExistence,
  type OciError,
} from '../../../src/oci/index.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';

const users = [
  { username: 'builder', password: 's3cret:with:colons' },
  { username: 'reader', password: 'r', pullOnly: true },
];

function failure(r: ImageExistence): OciError {
  if (r.state === 'Exists') assert.fail(`expected a failure, got ${r.digest}`);
  return r.error;
}

function clientFor(opts: RegistryClientOptions): RegistryClient {
  const c = new RegistryClient(opts);
  after(() => c.close());
  return c;
}

function pullSecret(host: string, username: string, password: string) {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  const json = JSON.stringify({ auths: { [host]: { auth } } });
  return {
    metadata: { namespace: 'ns', name: 'pull' },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(json).toString('base64') },
  };
}

describe('htpasswd (Basic) registry', async () => {
  const reg = await testRegistry({ auth: 'htpasswd', users });
  const ref = parseReference(`${reg.host}/private/app:v1`);

  it('pushes and pulls with credentials from a pull secret', async () => {
    const c = clientFor({
      registry: reg.host,
      tls: reg.tls,
      dockerConfig: dockerConfigFromSecret(pullSecret(reg.host, 'builder', users[0]!.password)),
    });
    assert.equal((await c.ping()).authScheme, 'Basic');
    const { digest } = await pushTestImage(c, 'private/app', 'v1', {
      layers: [[{ path: 'a', data: Buffer.from('a') }]],
    });
    assert.deepEqual(await imageExists(c, ref), {
      state: 'Exists',
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
    });
  });

  it('tells missing credentials, refused credentials and a missing image apart', async () => {
    const anonymous = await imageExists(clientFor({ registry: reg.host, tls: reg.tls }), ref);
    assert.equal(anonymous.state, 'Unauthorized');
    assert.match(failure(anonymous).message, /requires credentials and none were given/);

    const wrong = clientFor({
      registry: reg.host,
      tls: reg.tls,
      auth: { username: 'builder', password: 'nope' },
    });
    const refused = await imageExists(wrong, ref);
    assert.equal(refused.state, 'Unauthorized');
    assert.match(failure(refused).message, /refused the credentials of user "builder"/);

    const good = clientFor({ registry: reg.host, tls: reg.tls, auth: users[0]! });
    const missing = await imageExists(good, parseReference(`${reg.host}/private/app:none`));
    assert.equal(missing.state, 'NotFound');
  });

  it('opens an image the way a Module names it: registryTLS and pull secrets', async () => {
    const secrets = [
      pullSecret(reg.host, 'builder', 'stale'),
      pullSecret(reg.host, 'builder', users[0]!.password),
    ];
    const { client, ref: opened } = openImage(`${reg.host}/private/app:v1`, {
      tls: reg.tls,
      pullSecrets: secrets,
    });
    after(() => client.close());
    assert.deepEqual(opened, ref);
    assert.equal((await imageExists(client, opened)).state, 'Exists');
    const stale = openImage(`${reg.host}/private/app:v1`, {
      tls: reg.tls,
      pullSecrets: [secrets[0]!],
    });
    after(() => stale.client.close());
    assert.equal((await imageExists(stale.client, stale.ref)).state, 'Unauthorized');
  });

  it('fails a push without credentials as Unauthorized, naming the repository', async () => {
    const c = clientFor({ registry: reg.host, tls: reg.tls });
    await assert.rejects(
      c.uploadBlob('private/other', Buffer.from('x')),
      (e) => isOciError(e, 'Unauthorized') && e.message.includes(`${reg.host}/private/other`),
    );
  });
});

describe('token (Bearer) registry', async () => {
  const reg = await testRegistry({ auth: 'token', users });

  it('gets tokens for the scopes it needs and reuses them', async () => {
    const c = clientFor({ registry: reg.host, tls: reg.tls, auth: users[0]! });
    await pushTestImage(c, 'team/app', 'v1', { layers: [[{ path: 'a', data: Buffer.from('a') }]] });
    const r = await imageExists(c, parseReference(`${reg.host}/team/app:v1`));
    assert.equal(r.state, 'Exists');
    const scopes = reg.tokenRequests
      .filter((t) => t.user === 'builder')
      .map((t) => t.scopes.join(' '));
    assert.ok(scopes.includes('repository:team/app:pull,push'), scopes.join('; '));
    assert.ok(scopes.includes('repository:team/app:pull'), scopes.join('; '));
    // One token per scope set, not one per request.
    assert.equal(new Set(scopes).size, scopes.length, scopes.join('; '));
  });

  it('mounts across repositories with a token covering both', async () => {
    const c = clientFor({ registry: reg.host, tls: reg.tls, auth: users[0]! });
    const up = await c.uploadBlob('team/src', Buffer.from('shared layer'));
    assert.equal(await c.mountBlob('team/dst', up.digest, 'team/src'), true);
    assert.equal(await c.hasBlob('team/dst', up.digest), true);
    assert.ok(
      reg.tokenRequests.some(
        (t) =>
          t.scopes.includes('repository:team/dst:pull,push') &&
          t.scopes.includes('repository:team/src:pull'),
      ),
    );
    // A blob the source does not have cannot be mounted; the opened upload is cancelled.
    const absent = 'sha256:' + '0'.repeat(64);
    assert.equal(await c.mountBlob('team/dst', absent, 'team/src'), false);
  });

  it('refuses a push with pull-only rights, and anonymous pulls', async () => {
    const reader = clientFor({ registry: reg.host, tls: reg.tls, auth: users[1]! });
    await pushTestImage(
      clientFor({ registry: reg.host, tls: reg.tls, auth: users[0]! }),
      'team/ro',
      'v1',
      {
        layers: [],
      },
    );
    assert.equal(
      (await imageExists(reader, parseReference(`${reg.host}/team/ro:v1`))).state,
      'Exists',
    );
    await assert.rejects(reader.uploadBlob('team/ro', Buffer.from('y')), (e) =>
      isOciError(e, 'Unauthorized'),
    );
    const anon = await imageExists(
      clientFor({ registry: reg.host, tls: reg.tls }),
      parseReference(`${reg.host}/team/ro:v1`),
    );
    assert.equal(anon.state, 'Unauthorized');
  });

  it('reports credentials the token service refuses', async () => {
    const c = clientFor({
      registry: reg.host,
      tls: reg.tls,
      auth: { username: 'builder', password: 'bad' },
    });
    const r = await imageExists(c, parseReference(`${reg.host}/team/app:v1`));
    assert.equal(r.state, 'Unauthorized');
    assert.match(failure(r).message, /token service .* refused the credentials of user "builder"/);
  });
});

describe('TLS and reachability', async () => {
  const reg = await testRegistry({ tls: true });
  const ref = parseReference(`${reg.host}/tls/app:v1`);
  await pushTestImage(
    new RegistryClient({ registry: reg.host, tls: { ca: reg.caPem! } }),
    'tls/app',
    'v1',
    {
      layers: [],
    },
  );

  it('refuses an untrusted certificate unless told to skip verification', async () => {
    const strict = await imageExists(clientFor({ registry: reg.host }), ref);
    assert.equal(strict.state, 'Unreachable');
    assert.ok(isOciError(failure(strict), 'TLS'));
    assert.match(failure(strict).message, /insecureSkipTLSVerify/);
    const skip = await imageExists(
      clientFor({ registry: reg.host, tls: { insecureSkipTLSVerify: true } }),
      ref,
    );
    assert.equal(skip.state, 'Exists');
    const trusted = await imageExists(
      clientFor({ registry: reg.host, tls: { ca: reg.caPem! } }),
      ref,
    );
    assert.equal(trusted.state, 'Exists');
  });

  it('fails plain HTTP against a TLS registry, saying so', async () => {
    const r = await imageExists(clientFor({ registry: reg.host, tls: { insecure: true } }), ref);
    assert.equal(r.state, 'Unreachable');
    assert.ok(isOciError(failure(r), 'TLS'));
    assert.match(failure(r).message, /serves HTTPS, not plain HTTP; unset registryTLS\.insecure/);
  });

  it('reports a registry that does not answer as Unreachable', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const c = clientFor({ registry: `127.0.0.1:${port}`, tls: { insecure: true } });
    const r = await imageExists(c, parseReference(`127.0.0.1:${port}/x:v1`));
    assert.equal(r.state, 'Unreachable');
    assert.ok(isOciError(failure(r), 'Unreachable'));
  });
});
