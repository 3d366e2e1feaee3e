/**
 * Enough ELF to tell a kernel module from anything else before signing it: an ELF relocatable
 * whose section table and sections lie inside the file and that has a `.modinfo` section. Catches
 * the usual mistakes (a compressed or truncated file, a plain object, an executable, a text file).
 */
import { COMPRESSION_EXTENSIONS, compressionFromMagic } from './compress.js';
import type { ByteSource } from './module-signature.js';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const ET_REL = 1;
const SHT_NOBITS = 8;

/** What is wrong with the input, as a sentence ending in the fix; undefined when it is a module. */
export function checkModuleElf(src: ByteSource, size = src.size): string | undefined {
  if (size < 16 || !src.read(0, 4).equals(ELF_MAGIC)) {
    const head = src.read(0, Math.min(size, 6));
    const compressed = compressionFromMagic(head);
    if (compressed) {
      const ext = COMPRESSION_EXTENSIONS[compressed];
      return `it is ${compressed}-compressed but its name does not end in ${ext}; rename it to .ko${ext} so it is decompressed before signing`;
    }
    return size === 0
      ? 'the file is empty; rebuild the module'
      : 'not an ELF file; pass a kernel module (.ko)';
  }
  const ident = src.read(0, 16);
  const is64 = ident[4] === 2;
  if (ident[4] !== 1 && !is64) return 'ELF class is neither 32 nor 64 bit; the file is damaged';
  if (ident[5] !== 1 && ident[5] !== 2) return 'ELF byte order is invalid; the file is damaged';
  const le = ident[5] === 1;
  const ehsize = is64 ? 64 : 52;
  if (size < ehsize) return 'truncated: the ELF header is incomplete; rebuild or copy it again';
  const eh = src.read(0, ehsize);
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) =>
    is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o);
  if (u16(eh, 16) !== ET_REL) {
    return 'not a relocatable ELF object (kernel modules are ET_REL); pass the .ko, not a program or library';
  }
  const shoff = word(eh, is64 ? 0x28 : 0x20);
  const shentsize = u16(eh, is64 ? 0x3a : 0x2e);
  const shnum = u16(eh, is64 ? 0x3c : 0x30);
  const shstrndx = u16(eh, is64 ? 0x3e : 0x32);
  if (shnum === 0 || shentsize < (is64 ? 64 : 40)) {
    return 'the ELF file has no section table; it is not a kernel module';
  }
  if (shoff + shnum * shentsize > size) {
    return 'truncated: the ELF section table lies past the end of the file; rebuild or copy it again';
  }
  const table = src.read(shoff, shnum * shentsize);
  const section = (i: number) => {
    const o = i * shentsize;
    return {
      name: u32(table, o),
      type: u32(table, o + 4),
      offset: word(table, o + (is64 ? 0x18 : 0x10)),
      size: word(table, o + (is64 ? 0x20 : 0x14)),
    };
  };
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_NOBITS && s.offset + s.size > size) {
      return `truncated: ELF section ${i} ends past the end of the file; rebuild or copy it again`;
    }
  }
  if (shstrndx >= shnum) return 'the ELF section name table index is invalid; the file is damaged';
  const strtab = section(shstrndx);
  const names = src.read(strtab.offset, strtab.size);
  for (let i = 0; i < shnum; i++) {
    const start = section(i).name;
    const end = names.indexOf(0, start);
    if (
      start < names.length &&
      names.toString('latin1', start, end < 0 ? undefined : end) === '.modinfo'
    ) {
      return undefined;
    }
  }
  return 'the ELF object has no .modinfo section, so it is not a kernel module; pass the .ko built by kbuild';
}
