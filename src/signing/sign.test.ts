/**
 * Signatures checked against the tools users have: the kernel's sign-file (byte for byte),
 * modinfo (what it reports), openssl cms (that the signature verifies), xz/zstd/gzip.
 */
import assert from 'node:assert/strict';
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import {
  type KeyPair,
  findSignFile,
  makeKeyPair,
  makeModule,
  makeV1Certificate,
  modinfo,
  tool,
} from '../../test/fixtures/signing/fixtures.js';
import {
  HASH_ALGORITHMS,
  MODULE_SIG_MAGIC,
  SigningError,
  createSigner,
  parseModuleSignature,
  readModuleFile,
  signModule,
  signModuleBytes,
  signModuleFile,
  stripModuleSignature,
} from './index.js';

let dir: string;
let n = 0;
let ko: string; // an unsigned module
let rsa: KeyPair;
let rsa2: KeyPair;
let signFile: string;

before(async () => {
  signFile = findSignFile();
  dir = await mkdtemp(join(tmpdir(), 'hwe-sign-'));
  ko = await makeModule(dir, 'hwe_test');
  rsa = await makeKeyPair(dir, 'rsa', { cn: 'hwe test signer' });
  rsa2 = await makeKeyPair(dir, 'rsa2', { cn: 'second signer' });
});
after(() => rm(dir, { recursive: true, force: true }));

/** A fresh copy of `src` under a new name (keeping compression extensions). */
async function copy(src: string, suffix = '.ko'): Promise<string> {
  const p = join(dir, `m${n++}${suffix}`);
  await copyFile(src, p);
  return p;
}

async function kernelSign(
  hash: string,
  key: string,
  cert: string,
  src: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Buffer> {
  const p = await copy(src);
  await tool(signFile, [hash, key, cert, p], { env });
  return readFile(p);
}

/** Runs openssl cms -verify on the signature of a signed (uncompressed) module. */
async function opensslVerify(signed: Buffer, certPem: string): Promise<void> {
  const sig = parseModuleSignature(signed);
  assert.ok(sig, 'module has a signature');
  const sigFile = join(dir, `sig${n++}.der`);
  const content = join(dir, `content${n++}.ko`);
  await writeFile(sigFile, sig.signature);
  await writeFile(content, signed.subarray(0, sig.moduleLength));
  await tool('openssl', [
    'cms',
    '-verify',
    '-binary',
    '-inform',
    'DER',
    '-in',
    sigFile,
    '-content',
    content,
    '-certfile',
    certPem,
    '-CAfile',
    certPem,
    '-purpose',
    'any',
    '-out',
    '/dev/null',
  ]);
}

function serialOf(certPem: Buffer): string {
  const hex = new X509Certificate(certPem).serialNumber;
  return hex.match(/../g)!.join(':');
}

describe('RSA signatures are byte-identical to sign-file', () => {
  for (const hash of HASH_ALGORITHMS) {
    for (const form of ['certPem', 'certDer'] as const) {
      it(`${hash}, ${form === 'certPem' ? 'PEM' : 'DER'} certificate`, async () => {
        const want = await kernelSign(hash, rsa.key, rsa[form], ko);
        const opts = { key: await readFile(rsa.key), cert: await readFile(rsa[form]), hash };
        assert.deepEqual(signModule(await readFile(ko), opts), want);
        const inPlace = await copy(ko);
        await signModuleFile(inPlace, opts);
        assert.deepEqual(await readFile(inPlace), want);
      });
    }
  }

  it('with a DER (PKCS#8) private key', async () => {
    const der = createPrivateKey(await readFile(rsa.key)).export({ type: 'pkcs8', format: 'der' });
    const want = await kernelSign('sha256', rsa.key, rsa.certDer, ko);
    assert.deepEqual(
      signModule(await readFile(ko), { key: der, cert: await readFile(rsa.certDer) }),
      want,
    );
  });

  it('with an encrypted key and its passphrase (KBUILD_SIGN_PIN for sign-file)', async () => {
    const enc = await makeKeyPair(dir, 'enc', { passphrase: 'correct horse' });
    const want = await kernelSign('sha384', enc.key, enc.certDer, ko, {
      KBUILD_SIGN_PIN: 'correct horse',
    });
    const got = signModule(await readFile(ko), {
      key: await readFile(enc.key),
      cert: await readFile(enc.certDer),
      hash: 'sha384',
      passphrase: 'correct horse',
    });
    assert.deepEqual(got, want);
  });

  it('with a large module (payload past the 4 MiB streaming chunk)', async () => {
    const big = await makeModule(dir, 'hwe_big', { payloadBytes: 9 << 20 });
    const want = await kernelSign('sha512', rsa.key, rsa.certDer, big);
    const p = await copy(big);
    await signModuleFile(p, {
      key: await readFile(rsa.key),
      cert: await readFile(rsa.certDer),
      hash: 'sha512',
    });
    assert.deepEqual(await readFile(p), want);
  });
});

describe('what modinfo and openssl see', () => {
  for (const hash of HASH_ALGORITHMS) {
    it(`modinfo shows signer, sig_key and sig_hashalgo (${hash})`, async () => {
      const p = await copy(ko);
      const res = await signModuleFile(p, {
        key: await readFile(rsa.key),
        cert: await readFile(rsa.certPem),
        hash,
      });
      const got = await modinfo(p, ['sig_id', 'signer', 'sig_key', 'sig_hashalgo', 'name']);
      assert.deepEqual(got, {
        sig_id: 'PKCS#7',
        signer: 'hwe test signer',
        sig_key: serialOf(await readFile(rsa.certPem)),
        sig_hashalgo: hash,
        name: 'hwe_test',
      });
      assert.equal(res.signer, got.signer);
      assert.equal(res.sigKey, got.sig_key);
      assert.equal(res.hash, hash);
    });
  }

  it('sig_key of a serial whose top bit is set, as modinfo prints it', async () => {
    // DER writes 0x8123 as 00 81 23; modinfo prints the number, 81:23.
    const { key, cert } = await makeV1Certificate(dir, 'topbit', {
      cn: 'top bit',
      serial: '0x8123',
    });
    const p = await copy(ko);
    const res = await signModuleFile(p, {
      key: await readFile(key),
      cert: await readFile(cert),
      hash: 'sha256',
    });
    const got = await modinfo(p, ['signer', 'sig_key']);
    assert.deepEqual(got, { signer: 'top bit', sig_key: '81:23' });
    assert.equal(res.sigKey, got.sig_key);
    assert.equal(parseModuleSignature(await readFile(p))?.pkcs7?.sigKey, got.sig_key);
  });

  it('openssl cms -verify accepts the signature and rejects a tampered module', async () => {
    const signed = signModule(await readFile(ko), {
      key: await readFile(rsa.key),
      cert: await readFile(rsa.certDer),
    });
    await opensslVerify(signed, rsa.certPem);
    const tampered = Buffer.from(signed);
    tampered[100] = tampered[100]! ^ 0x01;
    await assert.rejects(opensslVerify(tampered, rsa.certPem), /Verification failure|verify/i);
    // And a signature checked against another certificate fails too.
    await assert.rejects(opensslVerify(signed, rsa2.certPem));
  });

  it('parseModuleSignature reads back what was signed', async () => {
    const unsigned = await readFile(ko);
    const signed = signModule(unsigned, {
      key: await readFile(rsa.key),
      cert: await readFile(rsa.certDer),
      hash: 'sha384',
    });
    const sig = parseModuleSignature(signed);
    assert.equal(sig?.moduleLength, unsigned.length);
    assert.equal(sig?.idType, 2);
    assert.equal(sig?.pkcs7?.hash, 'sha384');
    assert.equal(sig?.pkcs7?.keyType, 'rsa');
    assert.equal(sig?.pkcs7?.signer, 'hwe test signer');
    assert.equal(sig?.pkcs7?.signedAttributes, false);
    assert.equal(sig?.pkcs7?.signature.length, 256);
    assert.deepEqual(stripModuleSignature(signed), unsigned);
    assert.equal(parseModuleSignature(unsigned), undefined);
    assert.deepEqual(stripModuleSignature(unsigned), unsigned);
  });
});

describe('ECDSA', () => {
  for (const [curve, hash] of [
    ['ec', 'sha256'],
    ['ec', 'sha512'],
    ['ec384', 'sha384'],
  ] as const) {
    it(`${curve === 'ec' ? 'P-256' : 'P-384'} with ${hash} verifies with openssl and matches sign-file's layout`, async () => {
      const kp = await makeKeyPair(dir, `${curve}-${hash}`, { type: curve, cn: 'ec signer' });
      const signed = signModule(await readFile(ko), {
        key: await readFile(kp.key),
        cert: await readFile(kp.certPem),
        hash,
      });
      await opensslVerify(signed, kp.certPem);
      // ECDSA signatures are randomised: compare everything but the signature value.
      const ours = parseModuleSignature(signed)!.pkcs7!;
      const theirs = parseModuleSignature(await kernelSign(hash, kp.key, kp.certDer, ko))!.pkcs7!;
      assert.deepEqual({ ...ours, signature: null }, { ...theirs, signature: null });
      assert.equal(ours.keyType, 'ec');
      const p = await copy(ko);
      await writeFile(p, signed);
      assert.deepEqual(await modinfo(p, ['signer', 'sig_hashalgo']), {
        signer: 'ec signer',
        sig_hashalgo: hash,
      });
      const tampered = Buffer.from(signed);
      tampered[64] = tampered[64]! ^ 0x80;
      await assert.rejects(opensslVerify(tampered, kp.certPem));
    });
  }
});

describe('already-signed modules', () => {
  it('re-signing replaces the old signature', async () => {
    const p = await copy(ko);
    const first = await signModuleFile(p, {
      key: await readFile(rsa.key),
      cert: await readFile(rsa.certDer),
    });
    assert.equal(first.replacedSignature, false);
    const second = await signModuleFile(p, {
      key: await readFile(rsa2.key),
      cert: await readFile(rsa2.certDer),
      hash: 'sha512',
    });
    assert.equal(second.replacedSignature, true);
    const signed = await readFile(p);
    assert.deepEqual(signed, await kernelSign('sha512', rsa2.key, rsa2.certDer, ko));
    assert.equal(signed.indexOf(MODULE_SIG_MAGIC), signed.length - MODULE_SIG_MAGIC.length);
    assert.equal((await modinfo(p, ['signer'])).signer, 'second signer');
  });

  it('replaces a signature that sign-file made', async () => {
    const bySignFile = await kernelSign('sha256', rsa2.key, rsa2.certDer, ko);
    const again = signModule(bySignFile, {
      key: await readFile(rsa.key),
      cert: await readFile(rsa.certDer),
    });
    assert.deepEqual(again, await kernelSign('sha256', rsa.key, rsa.certDer, ko));
  });

  it('refuses a module whose signature trailer is damaged', async () => {
    const keyBytes = await readFile(rsa.key);
    const certBytes = await readFile(rsa.certDer);
    const signed = signModule(await readFile(ko), { key: keyBytes, cert: certBytes });
    const broken = Buffer.from(signed);
    broken.writeUInt32BE(0xffffff, broken.length - 28 - 4);
    assert.throws(
      () => signModule(broken, { key: keyBytes, cert: certBytes }, 'broken.ko'),
      (e: unknown) =>
        e instanceof SigningError &&
        e.kind === 'invalid-module' &&
        /broken\.ko: damaged module signature/.test(e.message),
    );
  });
});

describe('compressed modules', () => {
  const formats = [
    { ext: '.ko.xz', pack: ['xz', '-zkf'], unpack: (p: string) => tool('xz', ['-dc', p], {}) },
    { ext: '.ko.zst', pack: ['zstd', '-qf'], unpack: (p: string) => tool('zstd', ['-dcq', p], {}) },
  ];
  for (const f of formats) {
    it(`${f.ext}: signed after decompression, recompressed, verifies`, async () => {
      const plain = await copy(ko);
      await tool(f.pack[0]!, [...f.pack.slice(1), plain]);
      const p = `${plain}${f.ext.slice(3)}`;
      const res = await signModuleFile(p, {
        key: await readFile(rsa.key),
        cert: await readFile(rsa.certDer),
      });
      assert.equal(res.compression, f.ext === '.ko.xz' ? 'xz' : 'zstd');
      const data = await readModuleFile(p);
      assert.deepEqual(data, await kernelSign('sha256', rsa.key, rsa.certDer, ko));
      await opensslVerify(data, rsa.certPem);
      // kmod reads compressed modules itself.
      assert.equal((await modinfo(p, ['signer'])).signer, 'hwe test signer');
      // The compressed file does not end with a signature: it is inside.
      assert.equal(parseModuleSignature(await readFile(p)), undefined);
    });
  }

  it('re-signing a compressed module replaces the signature inside it', async () => {
    const plain = await copy(ko);
    await tool('zstd', ['-qf', '--rm', plain]);
    const p = `${plain}.zst`;
    const first = await signModuleFile(p, {
      key: await readFile(rsa.key),
      cert: await readFile(rsa.certDer),
    });
    const second = await signModuleFile(p, {
      key: await readFile(rsa2.key),
      cert: await readFile(rsa2.certDer),
    });
    assert.deepEqual([first.replacedSignature, second.replacedSignature], [false, true]);
    assert.deepEqual(
      await readModuleFile(p),
      await kernelSign('sha256', rsa2.key, rsa2.certDer, ko),
    );
  });

  it('.ko.xz uses CRC32 and a 1 MiB dictionary, as the kernel decompressor needs', async () => {
    const plain = await copy(ko);
    await tool('xz', ['-zkf', '--check=sha256', plain]);
    await signModuleFile(`${plain}.xz`, {
      key: await readFile(rsa.key),
      cert: await readFile(rsa.certDer),
    });
    const list = await tool('xz', ['-lvv', `${plain}.xz`]);
    assert.match(list, /CRC32/);
    assert.doesNotMatch(list, /SHA-256/);
    assert.match(list, /dict=1MiB/);
  });

  it('.ko.gz: gzip without name or time stamp', async () => {
    const p = join(dir, `gz${n++}.ko.gz`);
    await writeFile(p, gzipSync(await readFile(ko)));
    await signModuleFile(p, { key: await readFile(rsa.key), cert: await readFile(rsa.certDer) });
    const gz = await readFile(p);
    assert.equal(gz.readUInt32LE(4), 0, 'mtime is 0');
    assert.equal(gz[3]! & 0x08, 0, 'no file name');
    const plain = gunzipSync(gz);
    assert.deepEqual(plain, await kernelSign('sha256', rsa.key, rsa.certDer, ko));
    // Debian's kmod is built without zlib, so modinfo reads the decompressed copy.
    const q = join(dir, `gunzipped${n++}.ko`);
    await writeFile(q, plain);
    assert.equal((await modinfo(q, ['signer'])).signer, 'hwe test signer');
  });

  it('signModuleBytes handles compression by name, in memory', async () => {
    const xz = await tool('sh', ['-c', `xz -c ${ko} | base64 -w0`]);
    const signed = await signModuleBytes(
      '/opt/lib/modules/6.1/x.ko.xz',
      Buffer.from(xz, 'base64'),
      {
        key: await readFile(rsa.key),
        cert: await readFile(rsa.certDer),
      },
    );
    const p = join(dir, `mem${n++}.ko.xz`);
    await writeFile(p, signed);
    assert.deepEqual(await readModuleFile(p), await kernelSign('sha256', rsa.key, rsa.certDer, ko));
  });

  it('refuses a name that does not match the contents', async () => {
    const p = join(dir, `liar${n++}.ko.zst`);
    await copyFile(ko, p);
    await assert.rejects(
      signModuleFile(p, { key: await readFile(rsa.key), cert: await readFile(rsa.certDer) }),
      /liar\d+\.ko\.zst: named \.zst but is not zstd-compressed/,
    );
    const q = join(dir, `liar${n++}.ko.xz`);
    await writeFile(q, gzipSync(await readFile(ko)));
    await assert.rejects(
      signModuleFile(q, { key: await readFile(rsa.key), cert: await readFile(rsa.certDer) }),
      /named \.xz but is gzip-compressed/,
    );
  });

  it('reports damaged compressed data with the file name', async () => {
    const p = join(dir, `bad${n++}.ko.xz`);
    await writeFile(p, Buffer.concat([Buffer.from('fd377a585a00', 'hex'), Buffer.alloc(50, 7)]));
    await assert.rejects(
      signModuleFile(p, { key: await readFile(rsa.key), cert: await readFile(rsa.certDer) }),
      (e: unknown) =>
        e instanceof SigningError && e.kind === 'compression' && e.message.startsWith(p),
    );
  });
});

describe('files in place', () => {
  it('keeps the mode and leaves no temporary files', async () => {
    const sub = await mkdtemp(join(dir, 'mode-'));
    const p = join(sub, 'a.ko');
    await copyFile(ko, p);
    await chmod(p, 0o640);
    await signModuleFile(p, { key: await readFile(rsa.key), cert: await readFile(rsa.certDer) });
    assert.equal((await stat(p)).mode & 0o777, 0o640);
    assert.deepEqual(await readdir(sub), ['a.ko']);
  });

  it('signs the target of a symlink and keeps the link', async () => {
    const sub = await mkdtemp(join(dir, 'link-'));
    await mkdir(join(sub, 'extra'));
    const real = join(sub, 'real.ko');
    await copyFile(ko, real);
    const link = join(sub, 'extra', 'link.ko');
    await symlink('../real.ko', link);
    await signModuleFile(link, { key: await readFile(rsa.key), cert: await readFile(rsa.certDer) });
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.deepEqual(await readFile(real), await kernelSign('sha256', rsa.key, rsa.certDer, ko));
    assert.deepEqual((await readdir(sub)).sort(), ['extra', 'real.ko']);
  });

  it('keeps the owner when run as root', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('only root can own files as another user');
    const p = await copy(ko);
    await chown(p, 4321, 4322);
    await signModuleFile(p, { key: await readFile(rsa.key), cert: await readFile(rsa.certDer) });
    const st = await stat(p);
    assert.deepEqual([st.uid, st.gid], [4321, 4322]);
  });

  it('leaves a file it cannot sign untouched, with no temporary files', async () => {
    const sub = await mkdtemp(join(dir, 'bad-'));
    const p = join(sub, 'notes.ko');
    await writeFile(p, 'not a module\n');
    await assert.rejects(
      signModuleFile(p, { key: await readFile(rsa.key), cert: await readFile(rsa.certDer) }),
      (e: unknown) =>
        e instanceof SigningError &&
        e.kind === 'invalid-module' &&
        e.message === `${p}: not an ELF file; pass a kernel module (.ko)`,
    );
    assert.equal(await readFile(p, 'utf8'), 'not a module\n');
    assert.deepEqual(await readdir(sub), ['notes.ko']);
  });

  it('names a missing file', async () => {
    await assert.rejects(
      signModuleFile(join(dir, 'missing.ko'), {
        key: await readFile(rsa.key),
        cert: await readFile(rsa.certDer),
      }),
      /missing\.ko: cannot read: no such file/,
    );
  });

  it('refuses a truncated module', async () => {
    const p = join(dir, `cut${n++}.ko`);
    const data = await readFile(ko);
    await writeFile(p, data.subarray(0, data.length - 64));
    await assert.rejects(
      signModuleFile(p, { key: await readFile(rsa.key), cert: await readFile(rsa.certDer) }),
      /cut\d+\.ko: truncated/,
    );
  });
});

describe('keys and certificates', () => {
  const keyText = async (kp: KeyPair) =>
    (await readFile(kp.key, 'utf8'))
      .split('\n')
      .filter((l) => l.length > 20 && !l.startsWith('-----'));

  /** Asserts createSigner fails with `kind` and a message matching `re` that holds no key material. */
  async function refuses(
    opts: Parameters<typeof createSigner>[0],
    kind: string,
    re: RegExp,
    secret: string[],
  ) {
    let err: unknown;
    try {
      createSigner(opts);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof SigningError, `expected a SigningError, got ${String(err)}`);
    assert.equal(err.kind, kind);
    assert.match(err.message, re);
    const all = `${err.message}\n${err.stack ?? ''}\n${JSON.stringify(err)}`;
    for (const line of secret) assert.ok(!all.includes(line), 'error text contains key material');
  }

  it('refuses a key that does not belong to the certificate', async () => {
    await refuses(
      {
        key: await readFile(rsa.key),
        cert: await readFile(rsa2.certDer),
        keyName: 'a.pem',
        certName: 'b.der',
      },
      'key-mismatch',
      /^b\.der: the private key a\.pem does not belong to this certificate .*second signer.*; pass the key/,
      await keyText(rsa),
    );
  });

  it('refuses an encrypted key without passphrase, and with a wrong one', async () => {
    const enc = await makeKeyPair(dir, 'enc2', { passphrase: 'pw' });
    const cert = await readFile(enc.certDer);
    const key = await readFile(enc.key);
    await refuses(
      { key, cert, keyName: 'k.pem' },
      'invalid-key',
      /^k\.pem: the key is encrypted.*KBUILD_SIGN_PIN/,
      await keyText(enc),
    );
    await refuses(
      { key, cert, passphrase: 'nope' },
      'invalid-key',
      /passphrase does not decrypt/,
      await keyText(enc),
    );
  });

  it('says an encrypted DER key needs a passphrase', async () => {
    const der = createPrivateKey(await readFile(rsa.key)).export({
      type: 'pkcs8',
      format: 'der',
      cipher: 'aes-256-cbc',
      passphrase: 'pw',
    });
    const cert = await readFile(rsa.certDer);
    await refuses(
      { key: der, cert },
      'invalid-key',
      /encrypted and no passphrase.*KBUILD_SIGN_PIN/,
      [],
    );
    assert.equal(createSigner({ key: der, cert, passphrase: 'pw' }).keyType, 'rsa');
  });

  it('says so when given a file path instead of key contents', async () => {
    await refuses(
      { key: rsa.key, cert: await readFile(rsa.certDer) },
      'invalid-key',
      /looks like a file path/,
      [],
    );
  });

  it('refuses key types the kernel cannot verify', async () => {
    const ed = join(dir, 'ed.pem');
    await tool('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', ed]);
    await refuses(
      { key: await readFile(ed), cert: await readFile(rsa.certDer), keyName: 'ed.pem' },
      'invalid-key',
      /^ed\.pem: is a ed25519 key; .*RSA or ECDSA/,
      [],
    );
  });

  it('refuses a certificate passed as the key, and a key passed as the certificate', async () => {
    await refuses(
      { key: await readFile(rsa.certPem), cert: await readFile(rsa.certPem) },
      'invalid-key',
      /holds no private key/,
      [],
    );
    await refuses(
      { key: await readFile(rsa.certDer), cert: await readFile(rsa.certPem) },
      'invalid-key',
      /neither a PEM private key nor a DER/,
      [],
    );
    await refuses(
      { key: await readFile(rsa.key), cert: await readFile(rsa.key), certName: 'key-as-cert.pem' },
      'invalid-certificate',
      /^key-as-cert\.pem: is not an X\.509 certificate/,
      await keyText(rsa),
    );
  });

  it('refuses hashes the kernel does not verify', async () => {
    await refuses(
      { key: await readFile(rsa.key), cert: await readFile(rsa.certDer), hash: 'md5' },
      'invalid-option',
      /hash "md5".*sha256, sha384, sha512/,
      [],
    );
  });

  it('accepts a PEM file that holds both key and certificate (like certs/signing_key.pem)', async () => {
    const both = Buffer.concat([await readFile(rsa.key), await readFile(rsa.certPem)]);
    const s = createSigner({ key: both, cert: both });
    assert.deepEqual(
      signModule(await readFile(ko), s),
      await kernelSign('sha256', rsa.key, rsa.certDer, ko),
    );
  });
});
