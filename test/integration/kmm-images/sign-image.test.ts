/**
 * `hwe kmm sign-image`, the signing pod's program, against a local registry: what it signs,
 * what it pushes, and what it says when something is wrong. No cluster needed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  RegistryClient,
  extractFiles,
  imageExists,
  parseReference,
  resolveImage,
} from '../../../src/oci/index.js';
import { runHwe } from '../../support/cli.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';
import { makeKeyPair, makeModule, tool } from '../../fixtures/signing/fixtures.js';

const user = { username: 'signer', password: 'pw-for-signing' };
const reg = await testRegistry({ auth: 'htpasswd', users: [user] });
const client = new RegistryClient({ registry: reg.host, tls: reg.tls, auth: user });
after(() => client.close());

const dir = mkdtempSync(join(tmpdir(), 'sign-image-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = await makeKeyPair(dir, 'img', { cn: 'sign-image test key' });
const auth = join(dir, 'config.json');
writeFileSync(
  auth,
  JSON.stringify({
    auths: {
      [reg.host]: { auth: Buffer.from(`${user.username}:${user.password}`).toString('base64') },
    },
  }),
);

const K = '6.1.0-signimg';
const a = readFileSync(await makeModule(dir, 'mod_a', { vermagic: `${K} SMP` }));
await makeModule(dir, 'mod_b', { vermagic: `${K} SMP` });
await tool('xz', ['-k', '--check=crc32', join(dir, 'mod_b.ko')]);
const bxz = readFileSync(join(dir, 'mod_b.ko.xz'));
const base = `opt/lib/modules/${K}`;
await pushTestImage(client, 'vendor/mods', 'v1', {
  layers: [
    [{ path: 'bin/true', data: Buffer.from('x') }],
    [
      { path: `${base}/mod_a.ko`, data: a, mode: 0o600 },
      { path: `${base}/extra/mod_b.ko.xz`, data: bxz },
      { path: `${base}/modules.dep`, data: Buffer.from('') },
    ],
  ],
});

const common = (image: string) => [
  'kmm',
  'sign-image',
  `--unsigned-image=${reg.host}/vendor/mods:v1`,
  `--image=${image}`,
  `--key=${keys.key}`,
  `--cert=${keys.certDer}`,
  `--registry-auth=${auth}`,
  '--insecure',
  '--insecure-pull',
];

async function fileOf(image: string, path: string): Promise<Buffer> {
  const resolved = await resolveImage(client, parseReference(image));
  const files = await extractFiles(client, resolved, [path]);
  const data = files.get(path)?.data;
  assert.ok(data, `${path} in ${image}`);
  return data;
}

describe('hwe kmm sign-image', () => {
  it('signs plain and compressed modules matched by globs and pushes one more layer', async () => {
    const image = `${reg.host}/kmm/signed:v1`;
    const r = await runHwe([...common(image), '--', `/${base}/*.ko`, `/${base}/extra/*.ko.xz`]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { digest: string; signed: { path: string }[] };
    assert.deepEqual(
      out.signed.map((s) => s.path),
      [`/${base}/extra/mod_b.ko.xz`, `/${base}/mod_a.ko`],
    );
    const src = await resolveImage(client, parseReference(`${reg.host}/vendor/mods:v1`));
    const dst = await resolveImage(client, parseReference(image));
    assert.equal(dst.digest, out.digest);
    assert.deepEqual(
      dst.manifest.layers.slice(0, -1).map((l) => l.digest),
      src.manifest.layers.map((l) => l.digest),
    );
    assert.equal(dst.manifest.layers.length, src.manifest.layers.length + 1);

    const fa = join(dir, 'out_a.ko');
    writeFileSync(fa, await fileOf(image, `${base}/mod_a.ko`));
    assert.equal((await tool('modinfo', ['-F', 'signer', fa])).trim(), 'sign-image test key');
    const fb = join(dir, 'out_b.ko.xz');
    writeFileSync(fb, await fileOf(image, `${base}/extra/mod_b.ko.xz`));
    await tool('xz', ['-d', '-f', fb]);
    assert.equal(
      (await tool('modinfo', ['-F', 'signer', join(dir, 'out_b.ko')])).trim(),
      'sign-image test key',
    );
    // Untouched files stay as they were.
    assert.equal((await fileOf(image, `${base}/modules.dep`)).length, 0);
  });

  it('re-signs an already signed image: the signature is replaced, not stacked', async () => {
    const once = `${reg.host}/kmm/resigned:1`;
    const twice = `${reg.host}/kmm/resigned:2`;
    assert.equal((await runHwe([...common(once), '--', `/${base}/mod_a.ko`])).code, 0);
    const args = common(twice).map((x) =>
      x.startsWith('--unsigned-image=') ? `--unsigned-image=${once}` : x,
    );
    const r = await runHwe([...args, '--', `/${base}/mod_a.ko`]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { signed: { replacedSignature: boolean }[] };
    assert.equal(out.signed[0]!.replacedSignature, true);
    const s1 = await fileOf(once, `${base}/mod_a.ko`);
    const s2 = await fileOf(twice, `${base}/mod_a.ko`);
    assert.equal(s2.length, s1.length);
  });

  it('names a pattern that matches nothing, and pushes nothing', async () => {
    const image = `${reg.host}/kmm/nomatch:v1`;
    const r = await runHwe([...common(image), '--', `/${base}/*.ko`, '/opt/lib/modules/*/nope.ko']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sign\.filesToSign "\/opt\/lib\/modules\/\*\/nope\.ko" matched no file/);
    assert.equal((await imageExists(client, parseReference(image))).state, 'NotFound');
  });

  it('--no-push signs without pushing', async () => {
    const image = `${reg.host}/kmm/nopush:v1`;
    const r = await runHwe([...common(image), '--no-push', '--', `/${base}/*.ko`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { digest?: string }).digest, undefined);
    assert.equal((await imageExists(client, parseReference(image))).state, 'NotFound');
  });

  it('reports a bad key without printing it', async () => {
    const bad = join(dir, 'bad.key');
    writeFileSync(
      bad,
      '-----BEGIN PRIVATE KEY-----\nTUlJQ2VRSUJBREFOQmdrcWhraUc5dzBCU0VDUkVU\n-----END PRIVATE KEY-----\n',
    );
    const args = common(`${reg.host}/kmm/badkey:v1`).map((x) =>
      x.startsWith('--key=') ? `--key=${bad}` : x,
    );
    const r = await runHwe([...args, '--', `/${base}/*.ko`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sign\.keySecret/);
    assert.ok(!r.stderr.includes('TUlJQ2VRSUJBREFOQmdrcWhraUc5dzBCU0VDUkVU'));
  });

  it('says which credentials the registry refused', async () => {
    const wrong = join(dir, 'wrong.json');
    writeFileSync(
      wrong,
      JSON.stringify({
        auths: { [reg.host]: { auth: Buffer.from('signer:nope').toString('base64') } },
      }),
    );
    const args = common(`${reg.host}/kmm/unauth:v1`).map((x) =>
      x.startsWith('--registry-auth=') ? `--registry-auth=${wrong}` : x,
    );
    const r = await runHwe([...args, '--', `/${base}/*.ko`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /vendor\/mods/);
  });

  it('usage errors exit 2', async () => {
    const r = await runHwe(['kmm', 'sign-image', `--image=${reg.host}/x:1`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--unsigned-image/);
  });
});
