/**
 * Compressed modules. The kernel build signs a module and then compresses it, and both the kernel
 * and kmod decompress before they look for the signature, so a compressed module is signed by
 * decompressing, signing and compressing again with settings the kernel's decompressors accept.
 */
import { spawn } from 'node:child_process';
import { gunzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { SigningError } from './errors.js';

export type Compression = 'xz' | 'zstd' | 'gzip';

export const COMPRESSION_EXTENSIONS: Record<Compression, string> = {
  xz: '.xz',
  zstd: '.zst',
  gzip: '.gz',
};

/** The compression a module's name says it has (`.ko.xz`, `.ko.zst`, `.ko.gz`). */
export function compressionFromName(path: string): Compression | undefined {
  for (const [kind, ext] of Object.entries(COMPRESSION_EXTENSIONS)) {
    if (path.endsWith(ext)) return kind as Compression;
  }
  return undefined;
}

/** The compression format a buffer starts with, if any. */
export function compressionFromMagic(head: Buffer): Compression | undefined {
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (head.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))) return 'gzip';
  return undefined;
}

interface Tool {
  command: string;
  package: string;
  decompress: string[];
  compress: string[];
}

const TOOLS: Record<'xz' | 'zstd', Tool> = {
  // As the kernel's Makefile.modinst: CRC32 (the in-kernel xz decoder has no SHA-256 or CRC64
  // by default) and a 1 MiB dictionary (it preallocates the dictionary). One thread, so newer xz
  // versions do not split the stream into blocks for threading.
  xz: {
    command: 'xz',
    package: 'xz-utils',
    decompress: ['-dc'],
    compress: ['-c', '-T1', '--check=crc32', '--lzma2=dict=1MiB'],
  },
  zstd: { command: 'zstd', package: 'zstd', decompress: ['-dcq'], compress: ['-cq', '-T0'] },
};

export async function decompress(kind: Compression, data: Buffer, file: string): Promise<Buffer> {
  if (kind === 'gzip') {
    try {
      return await promisify(gunzip)(data);
    } catch (e) {
      throw new SigningError('compression', `gzip data is damaged: ${(e as Error).message}`, file);
    }
  }
  return filter(TOOLS[kind], TOOLS[kind].decompress, data, file, 'decompress');
}

export async function compress(kind: Compression, data: Buffer, file: string): Promise<Buffer> {
  // Level 6 and no name or time stamp: what `gzip -n` in the kernel build writes.
  if (kind === 'gzip') return promisify(gzip)(data);
  return filter(TOOLS[kind], TOOLS[kind].compress, data, file, 'compress');
}

function filter(
  tool: Tool,
  args: string[],
  input: Buffer,
  file: string,
  verb: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool.command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // A tool that exits early (bad input) closes its stdin; the exit status reports why.
    child.stdin.on('error', () => {});
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new SigningError(
          'compression',
          e.code === 'ENOENT'
            ? `cannot ${verb}: ${tool.command} is not installed; install the ${tool.package} package`
            : `cannot run ${tool.command}: ${e.message}`,
          file,
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out));
      const why = err.trim().replace(/^\S+: \(stdin\): /, '') || `exit ${code ?? signal}`;
      reject(new SigningError('compression', `${tool.command} could not ${verb} it: ${why}`, file));
    });
    child.stdin.end(input);
  });
}
