import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { makeModule, tool } from '../../test/fixtures/signing/fixtures.js';
import { checkModuleElf } from './elf.js';
import { bufferSource } from './module-signature.js';

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
