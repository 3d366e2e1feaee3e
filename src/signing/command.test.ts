import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type KeyPair,
  findSignFile,
  makeKeyPair,
  makeModule,
  modinfo,
  tool,
} from '../../test/fixtures/signing/fixtures.js';
import { runHwe } from '../../test/support/cli.js';

describe('hwe kmm sign', () => {
  let dir: string;
  let ko: string;
  let kp: KeyPair;
  let other: KeyPair;
  let keyLines: string[];
  let n = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hwe-sign-cli-'));
    ko = await makeModule(dir, 'cli_mod');
    kp = await makeKeyPair(dir, 'cli', { cn: 'cli signer' });
    other = await makeKeyPair(dir, 'other');
    keyLines = (await readFile(kp.key, 'utf8'))
      .split('\n')
      .filter((l) => l.length > 20 && !l.startsWith('-----'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const fresh = async (ext = '.ko') => {
    const p = join(dir, `f${n++}${ext}`);
    await copyFile(ko, p);
    return p;
  };
  const noKeyMaterial = (text: string) => {
    for (const l of keyLines) assert.ok(!text.includes(l), 'output contains key material');
  };

  it('signs modules in place as sign-file does and prints JSON', async () => {
    const a = await fresh();
    const b = await fresh();
    await tool('xz', ['-z', b]);
    const res = await runHwe([
      'kmm',
      'sign',
      '--key',
      kp.key,
      '--cert',
      kp.certDer,
      '--hash',
      'sha384',
      a,
      `${b}.xz`,
    ]);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { signed: Record<string, unknown>[]; failed: unknown[] };
    assert.deepEqual(out.failed, []);
    assert.deepEqual(
      out.signed.map((s) => [s.file, s.compression, s.hash, s.signer, s.replacedSignature]),
      [
        [a, null, 'sha384', 'cli signer', false],
        [`${b}.xz`, 'xz', 'sha384', 'cli signer', false],
      ],
    );
    const ref = await fresh();
    await tool(findSignFile(), ['sha384', kp.key, kp.certDer, ref]);
    assert.deepEqual(await readFile(a), await readFile(ref));
    assert.deepEqual(await modinfo(`${b}.xz`, ['signer', 'sig_hashalgo', 'sig_key']), {
      signer: 'cli signer',
      sig_hashalgo: 'sha384',
      sig_key: out.signed[0]!.sigKey,
    });
  });

  it('takes Go-style single-dash flags and defaults to sha256', async () => {
    const a = await fresh();
    const res = await runHwe(['kmm', 'sign', '-key', kp.key, '-cert', kp.certPem, a]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal((await modinfo(a, ['sig_hashalgo'])).sig_hashalgo, 'sha256');
  });

  it('reads the passphrase of an encrypted key from KBUILD_SIGN_PIN', async () => {
    const enc = await makeKeyPair(dir, 'cli-enc', { passphrase: 's3cret' });
    const a = await fresh();
    const without = await runHwe(['kmm', 'sign', '--key', enc.key, '--cert', enc.certDer, a], {
      env: { KBUILD_SIGN_PIN: undefined },
    });
    assert.equal(without.code, 1);
    assert.match(without.stderr, new RegExp(`${enc.key}: the key is encrypted.*KBUILD_SIGN_PIN`));
    assert.deepEqual(await readFile(a), await readFile(ko), 'module untouched');
    const withPin = await runHwe(['kmm', 'sign', '--key', enc.key, '--cert', enc.certDer, a], {
      env: { KBUILD_SIGN_PIN: 's3cret' },
    });
    assert.equal(withPin.code, 0, withPin.stderr);
    assert.ok(!withPin.stdout.includes('s3cret') && !withPin.stderr.includes('s3cret'));
  });

  it('usage errors exit 2 naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--cert', 'c', 'x.ko'], /flag --key is required/],
      [['--key', 'k', 'x.ko'], /flag --cert is required/],
      [['--key', 'k', '--cert', 'c'], /no modules given/],
      [
        ['--key', 'k', '--cert', 'c', '--hash', 'md5', 'x.ko'],
        /flag --hash: "md5" is not one of sha256, sha384, sha512/,
      ],
    ];
    for (const [args, want] of cases) {
      const res = await runHwe(['kmm', 'sign', ...args]);
      assert.equal(res.code, 2, args.join(' '));
      assert.match(res.stderr, want);
    }
  });

  it('unreadable key or certificate: exit 1 naming the file', async () => {
    const missing = join(dir, 'nokey.pem');
    let res = await runHwe(['kmm', 'sign', '--key', missing, '--cert', kp.certDer, await fresh()]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`${missing}: cannot read the private key: no such file`));
    res = await runHwe(['kmm', 'sign', '--key', kp.key, '--cert', dir, await fresh()]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /cannot read the certificate: is a directory/);
  });

  it('a key that does not match the certificate: exit 1, no key material in any output', async () => {
    const a = await fresh();
    const res = await runHwe(['kmm', 'sign', '--key', kp.key, '--cert', other.certPem, a]);
    assert.equal(res.code, 1);
    assert.match(
      res.stderr,
      new RegExp(`${other.certPem}: the private key ${kp.key} does not belong`),
    );
    noKeyMaterial(res.stdout + res.stderr);
    assert.deepEqual(await readFile(a), await readFile(ko));
  });

  it('signs what it can, reports the rest, exits 1', async () => {
    const good = await fresh();
    const text = join(dir, 'readme.ko');
    await writeFile(text, 'hello\n');
    const res = await runHwe([
      'kmm',
      'sign',
      '--key',
      kp.key,
      '--cert',
      kp.certDer,
      text,
      good,
      join(dir, 'none.ko'),
    ]);
    assert.equal(res.code, 1);
    const out = JSON.parse(res.stdout) as {
      signed: { file: string }[];
      failed: { file: string; kind: string }[];
    };
    assert.deepEqual(
      out.signed.map((s) => s.file),
      [good],
    );
    assert.deepEqual(
      out.failed.map((f) => [f.file, f.kind]),
      [
        [text, 'invalid-module'],
        [join(dir, 'none.ko'), 'io'],
      ],
    );
    assert.match(res.stderr, new RegExp(`${text}: not an ELF file`));
    assert.match(res.stderr, /none\.ko: cannot read: no such file/);
    noKeyMaterial(res.stdout + res.stderr);
    assert.equal((await modinfo(good, ['signer'])).signer, 'cli signer');
  });
});
