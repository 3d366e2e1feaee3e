import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { makeModule, modinfo, tool } from '../../test/fixtures/signing/fixtures.js';
import { checkModuleElf } from './elf.js';
import { bufferSource } from './module-signature.js';

/** A minimal ELF relocatable with the given sections, in any class and byte order. */
function buildElf(is64: boolean, le: boolean, sections: { name: string; data: Buffer }[]): Buffer {
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const all = [...sections, { name: '.shstrtab', data: Buffer.alloc(0) }];
  const names: number[] = [];
  let strtab = Buffer.from([0]);
  for (const sec of all) {
    names.push(strtab.length);
    strtab = Buffer.concat([strtab, Buffer.from(sec.name + '\0')]);
  }
  all[all.length - 1]!.data = strtab;
  const offsets: number[] = [];
  let pos = ehsize;
  for (const sec of all) {
    offsets.push(pos);
    pos += sec.data.length;
  }
  const shoff = pos;
  const out = Buffer.alloc(shoff + (all.length + 1) * shentsize);
  const w16 = (v: number, o: number) => (le ? out.writeUInt16LE(v, o) : out.writeUInt16BE(v, o));
  const w32 = (v: number, o: number) => (le ? out.writeUInt32LE(v, o) : out.writeUInt32BE(v, o));
  const wW = (v: number, o: number) =>
    is64
      ? le
        ? out.writeBigUInt64LE(BigInt(v), o)
        : out.writeBigUInt64BE(BigInt(v), o)
      : w32(v, o);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1], 0);
  w16(1, 16); // ET_REL
  w16(is64 ? (le ? 62 : 22) : le ? 3 : 20, 18);
  w32(1, 20);
  wW(shoff, is64 ? 0x28 : 0x20);
  w16(ehsize, is64 ? 0x34 : 0x28);
  w16(shentsize, is64 ? 0x3a : 0x2e);
  w16(all.length + 1, is64 ? 0x3c : 0x30);
  w16(all.length, is64 ? 0x3e : 0x32);
  all.forEach((sec, i) => {
    sec.data.copy(out, offsets[i]);
    const h = shoff + (i + 1) * shentsize;
    w32(names[i]!, h);
    w32(sec.name === '.shstrtab' ? 3 : 1, h + 4); // SHT_STRTAB or SHT_PROGBITS
    wW(offsets[i]!, h + (is64 ? 0x18 : 0x10));
    wW(sec.data.length, h + (is64 ? 0x20 : 0x14));
    wW(1, h + (is64 ? 0x30 : 0x20)); // addralign
  });
  return out;
}

const MODINFO = Buffer.from('license=GPL\0name=handmade\0vermagic=6.1.0 SMP mod_unload\0');

describe('checkModuleElf on hand-built ELF files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hwe-elf-hand-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const is64 of [true, false]) {
    for (const le of [true, false]) {
      const what = `${is64 ? 'ELF64' : 'ELF32'} ${le ? 'little' : 'big'}-endian`;
      it(`accepts a ${what} module that modinfo reads too`, async () => {
        const elf = buildElf(is64, le, [{ name: '.modinfo', data: MODINFO }]);
        assert.equal(checkModuleElf(bufferSource(elf)), undefined);
        const p = join(dir, `${is64}-${le}.ko`);
        await writeFile(p, elf);
        assert.deepEqual(await modinfo(p, ['name', 'license']), {
          name: 'handmade',
          license: 'GPL',
        });
      });
      it(`refuses a ${what} object without .modinfo`, () => {
        const elf = buildElf(is64, le, [{ name: '.text', data: Buffer.alloc(8) }]);
        assert.match(checkModuleElf(bufferSource(elf)) ?? '', /no \.modinfo section/);
      });
    }
  }
});

describe('checkModuleElf', () => {
  let dir: string;
  let ko: Buffer;
  let obj: Buffer;
  let exe: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hwe-elf-'));
    ko = await readFile(await makeModule(dir, 'elfcheck'));
    await tool('sh', ['-c', `echo 'int f(void){return 1;}' > ${dir}/plain.c`]);
    await tool('gcc', ['-c', '-o', join(dir, 'plain.o'), join(dir, 'plain.c')]);
    obj = await readFile(join(dir, 'plain.o'));
    await tool('sh', ['-c', `echo 'int main(void){return 0;}' > ${dir}/main.c`]);
    await tool('gcc', ['-o', join(dir, 'main'), join(dir, 'main.c')]);
    exe = await readFile(join(dir, 'main'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const check = (b: Buffer) => checkModuleElf(bufferSource(b));

  it('accepts a module built with a .modinfo section', () => assert.equal(check(ko), undefined));

  it('checks only the first `size` bytes when told (the module without its signature)', () => {
    const withJunk = Buffer.concat([ko, Buffer.alloc(100, 1)]);
    assert.equal(checkModuleElf(bufferSource(withJunk), ko.length), undefined);
    assert.match(checkModuleElf(bufferSource(ko), ko.length - 1) ?? '', /truncated/);
  });

  const cases: [string, () => Buffer, RegExp][] = [
    ['an empty file', () => Buffer.alloc(0), /empty/],
    ['a text file', () => Buffer.from('#!/bin/sh\necho hi\n'), /not an ELF file/],
    ['an xz file', () => Buffer.from('fd377a585a000004', 'hex'), /xz-compressed.*\.ko\.xz/],
    ['a zstd file', () => Buffer.from('28b52ffd0000', 'hex'), /zstd-compressed.*\.ko\.zst/],
    ['a gzip file', () => gzipSync(ko), /gzip-compressed.*\.ko\.gz/],
    ['a truncated ELF header', () => ko.subarray(0, 40), /truncated/],
    ['a module cut short', () => ko.subarray(0, ko.length - 100), /truncated/],
    ['a module cut in its sections', () => ko.subarray(0, 200), /truncated/],
    ['an executable', () => exe, /ET_REL/],
    ['a plain object file', () => obj, /no \.modinfo section/],
    [
      'a bad ELF class',
      () => {
        const b = Buffer.from(ko);
        b[4] = 7;
        return b;
      },
      /class/,
    ],
  ];
  for (const [name, input, want] of cases) {
    it(`refuses ${name}`, () => assert.match(check(input()) ?? 'accepted', want));
  }
});
