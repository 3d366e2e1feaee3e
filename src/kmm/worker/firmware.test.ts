import assert from 'node:assert/strict';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { WorkerError } from './errors.js';
import { firmwareOwner, installFirmware, MANIFEST_DIR, removeFirmware } from './firmware.js';

let dir: string;
let image: string;
let host: string;

/** Every path below `root` (directories end in /), sorted. */
async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out.push(`${p}/`);
        await walk(p);
      } else out.push(p);
    }
  };
  await walk('');
  return out.sort();
}

async function put(root: string, rel: string, content: string): Promise<void> {
  await mkdir(join(root, rel, '..'), { recursive: true });
  await writeFile(join(root, rel), content);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmm-firmware-'));
  image = join(dir, 'image', 'firmware');
  host = join(dir, 'host', 'var', 'lib', 'firmware');
  await put(image, 'acme/nic.bin', 'nic v2');
  await put(image, 'acme/dsp/dsp.bin', 'dsp v1');
  await put(image, 'top.bin', 'top');
  await symlink('nic.bin', join(image, 'acme', 'nic-latest.bin'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('installFirmware', () => {
  it('copies the tree (links as links) and records what it created', async () => {
    const r = await installFirmware(image, host, 'acme');
    assert.deepEqual(r.created.sort(), [
      'acme/dsp/dsp.bin',
      'acme/nic-latest.bin',
      'acme/nic.bin',
      'top.bin',
    ]);
    assert.deepEqual(r.createdDirs.sort(), ['acme', 'acme/dsp']);
    assert.equal(await readFile(join(host, 'acme/dsp/dsp.bin'), 'utf8'), 'dsp v1');
    assert.equal(await readlink(join(host, 'acme/nic-latest.bin')), 'nic.bin');
    const manifest = JSON.parse(await readFile(join(host, MANIFEST_DIR, 'acme.json'), 'utf8')) as {
      files: string[];
      dirs: string[];
    };
    assert.deepEqual(manifest.files.sort(), r.created.sort());
    assert.deepEqual(manifest.dirs.sort(), ['acme', 'acme/dsp']);
  });

  it('leaves identical files alone and replaces different ones', async () => {
    await put(host, 'top.bin', 'top');
    await put(host, 'acme/nic.bin', 'nic v1');
    const r = await installFirmware(image, host, 'acme');
    assert.deepEqual(r.unchanged, ['top.bin']);
    assert.deepEqual(r.replaced, ['acme/nic.bin']);
    assert.equal(await readFile(join(host, 'acme/nic.bin'), 'utf8'), 'nic v2');
  });

  it('a second load keeps the first one’s record', async () => {
    await installFirmware(image, host, 'acme');
    const again = await installFirmware(image, host, 'acme');
    assert.deepEqual(again.created, []);
    const manifest = JSON.parse(await readFile(join(host, MANIFEST_DIR, 'acme.json'), 'utf8')) as {
      files: string[];
      dirs: string[];
    };
    assert.equal(manifest.files.length, 4);
  });

  it('rollback removes what this load created and nothing else', async () => {
    await put(host, 'acme/other-vendor.bin', 'keep me');
    const r = await installFirmware(image, host, 'acme');
    await r.rollback();
    assert.deepEqual(await tree(host), ['acme/', 'acme/other-vendor.bin']);
  });

  it('a missing firmware directory in the image is an error naming the field', async () => {
    await assert.rejects(
      installFirmware(join(dir, 'image', 'nope'), host, 'acme'),
      (e: unknown) =>
        e instanceof WorkerError &&
        e.kind === 'FirmwareFailed' &&
        /modprobe\.firmwarePath/.test(e.message),
    );
  });
});

describe('removeFirmware', () => {
  it('removes exactly what the load created, and the directories it made once empty', async () => {
    await put(host, 'existing/keep.bin', 'other driver');
    await put(host, 'top.bin', 'top'); // was there before, identical: not ours
    await installFirmware(image, host, 'acme');
    const r = await removeFirmware(image, host, 'acme');
    assert.ok(r.fromManifest);
    assert.deepEqual(r.removed.sort(), ['acme/dsp/dsp.bin', 'acme/nic-latest.bin', 'acme/nic.bin']);
    assert.deepEqual(await tree(host), ['existing/', 'existing/keep.bin', 'top.bin']);
  });

  it('keeps a directory the load created when someone else put files in it since', async () => {
    await installFirmware(image, host, 'acme');
    await put(host, 'acme/dsp/added-later.bin', 'x');
    await removeFirmware(image, host, 'acme');
    assert.deepEqual(await tree(host), ['acme/', 'acme/dsp/', 'acme/dsp/added-later.bin']);
  });

  it('without a record (an older loader): removes the image’s file names and empty directories', async () => {
    await put(host, 'acme/nic.bin', 'x');
    await put(host, 'acme/dsp/dsp.bin', 'x');
    await put(host, 'other.bin', 'x');
    const r = await removeFirmware(image, host, 'acme');
    assert.equal(r.fromManifest, false);
    assert.deepEqual(await tree(host), ['other.bin']);
  });

  it('two modules keep separate records', async () => {
    const other = join(dir, 'image2');
    await put(other, 'beta.bin', 'beta');
    await installFirmware(image, host, 'acme');
    await installFirmware(other, host, 'beta');
    await removeFirmware(image, host, 'acme');
    assert.deepEqual(await tree(host), [
      `${MANIFEST_DIR}/`,
      `${MANIFEST_DIR}/beta.json`,
      'beta.bin',
    ]);
    await removeFirmware(other, host, 'beta');
    assert.deepEqual(await tree(host), []);
  });
});

describe('firmwareOwner', () => {
  it('is the module name, or a stable digest for rawArgs configs', () => {
    assert.equal(firmwareOwner({ modprobe: { moduleName: 'my_kmod' } }), 'my_kmod');
    const raw = { modprobe: { rawArgs: { load: ['-v', 'x'] }, firmwarePath: '/fw' } };
    assert.match(firmwareOwner(raw), /^raw-[0-9a-f]{16}$/);
    assert.equal(firmwareOwner(raw), firmwareOwner(structuredClone(raw)));
  });
});
