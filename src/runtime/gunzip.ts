/**
 * gzip decoding (RFC 1952 members holding RFC 1951 deflate data) in plain JavaScript, for short
 * processes that read one small compressed file: Node's `zlib` module loads the whole stream
 * library with it (about 2.7 MiB of resident memory in a one-shot nfd-worker, more than the
 * decoding itself needs). Long transfers (image layers) keep using `zlib`.
 *
 * Decoding is table driven: each Huffman code is looked up in one table indexed by the next
 * (longest code length) input bits, so a symbol costs one lookup. Concatenated members are
 * decoded one after the other, as gzip(1) does; each member's CRC-32 and length are checked.
 */

export class GunzipError extends Error {
  constructor(message: string) {
    super(`gzip: ${message}`);
    this.name = 'GunzipError';
  }
}

/** Length codes 257…285: base length and extra bits. */
const LENGTH_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
  163, 195, 227, 258,
];
const LENGTH_EXTRA = [
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/** Distance codes 0…29: base distance and extra bits. */
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
  3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/** The order in which a dynamic block sends its code-length code lengths. */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A decoding table: entry `bits` (the next `maxLen` input bits, first bit lowest) holds
 * `symbol << 4 | length`, or 0 where no code starts with those bits.
 */
interface Table {
  entries: Int32Array;
  maxLen: number;
}

function buildTable(lengths: ArrayLike<number>, n: number, what: string): Table {
  const count = new Int32Array(16);
  let maxLen = 0;
  for (let s = 0; s < n; s++) {
    const l = lengths[s]!;
    count[l]!++;
    if (l > maxLen) maxLen = l;
  }
  count[0] = 0;
  // An oversubscribed set cannot be a prefix code; an incomplete one is allowed (a single
  // distance code, or none, is legal) and its unused bit patterns stay 0 and fail on lookup.
  let left = 1;
  for (let l = 1; l < 16; l++) {
    left = (left << 1) - count[l]!;
    if (left < 0) throw new GunzipError(`invalid ${what} code lengths (oversubscribed)`);
  }
  const next = new Int32Array(16);
  for (let l = 1, code = 0; l < 16; l++) {
    code = (code + count[l - 1]!) << 1;
    next[l] = code;
  }
  const size = 1 << maxLen;
  const entries = new Int32Array(size || 1);
  for (let s = 0; s < n; s++) {
    const l = lengths[s]!;
    if (l === 0) continue;
    const code = next[l]!++;
    let rev = 0;
    for (let i = 0; i < l; i++) rev |= ((code >> i) & 1) << (l - 1 - i);
    const entry = (s << 4) | l;
    for (let i = rev; i < size; i += 1 << l) entries[i] = entry;
  }
  return { entries, maxLen };
}

let fixedLit: Table | undefined;
let fixedDist: Table | undefined;

function fixedTables(): [Table, Table] {
  if (!fixedLit || !fixedDist) {
    const lit = new Uint8Array(288);
    lit.fill(8, 0, 144);
    lit.fill(9, 144, 256);
    lit.fill(7, 256, 280);
    lit.fill(8, 280, 288);
    fixedLit = buildTable(lit, 288, 'literal/length');
    fixedDist = buildTable(new Uint8Array(30).fill(5), 30, 'distance');
  }
  return [fixedLit, fixedDist];
}

let crcTable: Int32Array | undefined;

/** CRC-32 (ISO-HDLC, as gzip) of `data[start, end)`. */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const t = crcTable;
  let c = -1;
  for (let i = start; i < end; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Decodes one raw deflate stream; the state is kept in fields for speed in the interpreter. */
class Inflater {
  /** Input position (next unread byte). */
  pos: number;
  /** Bits read ahead, first bit lowest, and how many. */
  bits = 0;
  count = 0;
  out: Uint8Array;
  len = 0;

  constructor(
    readonly input: Uint8Array,
    start: number,
    sizeHint: number,
  ) {
    this.pos = start;
    this.out = new Uint8Array(Math.max(1024, sizeHint));
  }

  /** Makes sure at least `n` (at most 24) bits are buffered; past the end, zero bits are read. */
  private need(n: number): void {
    while (this.count < n) {
      if (this.pos >= this.input.length) {
        // Allow reading just past the end while decoding (a table lookup peeks at the longest
        // code length); `end()` checks that no real byte was missing.
        if (this.pos > this.input.length + 4) throw new GunzipError('unexpected end of data');
        this.pos++;
      } else this.bits |= this.input[this.pos++]! << this.count;
      this.count += 8;
    }
  }

  take(n: number): number {
    if (n === 0) return 0;
    this.need(n);
    const v = this.bits & ((1 << n) - 1);
    this.bits >>>= n;
    this.count -= n;
    return v;
  }

  private decode(t: Table, what: string): number {
    this.need(t.maxLen);
    const e = t.entries[this.bits & ((1 << t.maxLen) - 1)]!;
    const l = e & 15;
    if (l === 0) throw new GunzipError(`invalid ${what} code`);
    this.bits >>>= l;
    this.count -= l;
    return e >> 4;
  }

  private grow(extra: number): void {
    if (this.len + extra <= this.out.length) return;
    const bigger = new Uint8Array(Math.max(this.out.length * 2, this.len + extra));
    bigger.set(this.out.subarray(0, this.len));
    this.out = bigger;
  }

  /** Decodes blocks until the last one; returns the position of the first byte after them. */
  run(): number {
    for (;;) {
      const last = this.take(1);
      const type = this.take(2);
      if (type === 0) this.stored();
      else if (type === 1) {
        const [lit, dist] = fixedTables();
        this.codes(lit, dist);
      } else if (type === 2) this.dynamic();
      else throw new GunzipError('invalid block type 3');
      if (last) break;
    }
    // Unused bits of the last byte are dropped; whole buffered bytes go back to the input.
    const back = this.count >> 3;
    if (this.pos - back > this.input.length) throw new GunzipError('unexpected end of data');
    this.bits = 0;
    this.count = 0;
    return this.pos - back;
  }

  private stored(): void {
    // Align to a byte: drop the rest of the current byte, give back whole buffered bytes.
    this.pos -= this.count >> 3;
    this.bits = 0;
    this.count = 0;
    const p = this.pos;
    if (p + 4 > this.input.length) throw new GunzipError('unexpected end of data');
    const len = this.input[p]! | (this.input[p + 1]! << 8);
    const nlen = this.input[p + 2]! | (this.input[p + 3]! << 8);
    if ((len ^ 0xffff) !== nlen) throw new GunzipError('stored block length check failed');
    if (p + 4 + len > this.input.length) throw new GunzipError('unexpected end of data');
    this.grow(len);
    this.out.set(this.input.subarray(p + 4, p + 4 + len), this.len);
    this.len += len;
    this.pos = p + 4 + len;
  }

  private dynamic(): void {
    const nlen = this.take(5) + 257;
    const ndist = this.take(5) + 1;
    const ncode = this.take(4) + 4;
    if (nlen > 286 || ndist > 30) throw new GunzipError('too many length or distance codes');
    const clens = new Uint8Array(19);
    for (let i = 0; i < ncode; i++) clens[CLEN_ORDER[i]!] = this.take(3);
    const clTable = buildTable(clens, 19, 'code length');
    const lengths = new Uint8Array(nlen + ndist);
    for (let i = 0; i < nlen + ndist;) {
      const sym = this.decode(clTable, 'code length');
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let rep: number;
      let val = 0;
      if (sym === 16) {
        if (i === 0) throw new GunzipError('repeat with no previous code length');
        val = lengths[i - 1]!;
        rep = 3 + this.take(2);
      } else if (sym === 17) rep = 3 + this.take(3);
      else rep = 11 + this.take(7);
      if (i + rep > nlen + ndist) throw new GunzipError('code lengths overflow the table');
      lengths.fill(val, i, i + rep);
      i += rep;
    }
    if (lengths[256] === 0) throw new GunzipError('no end-of-block code');
    const lit = buildTable(lengths.subarray(0, nlen), nlen, 'literal/length');
    const dist = buildTable(lengths.subarray(nlen), ndist, 'distance');
    this.codes(lit, dist);
  }

  /**
   * The inner loop, written with local variables only (the state goes back to the fields on
   * return): without a JIT each field access is a lookup, and this loop runs once per symbol.
   */
  private codes(lit: Table, dist: Table): void {
    const input = this.input;
    const inEnd = input.length;
    const litE = lit.entries;
    const litMask = (1 << lit.maxLen) - 1;
    const litLen = lit.maxLen;
    const distE = dist.entries;
    const distMask = (1 << dist.maxLen) - 1;
    const distLen = dist.maxLen;
    let { bits, count, pos, out, len } = this;
    let cap = out.length;
    try {
      for (;;) {
        while (count < litLen) {
          bits |= (pos < inEnd ? input[pos]! : 0) << count;
          pos++;
          count += 8;
        }
        let e = litE[bits & litMask]!;
        let l = e & 15;
        if (l === 0) throw new GunzipError('invalid literal/length code');
        bits >>>= l;
        count -= l;
        const sym = e >> 4;
        if (sym < 256) {
          if (len >= cap) {
            this.len = len;
            this.grow(1);
            out = this.out;
            cap = out.length;
          }
          out[len++] = sym;
          continue;
        }
        if (sym === 256) return;
        const li = sym - 257;
        if (li >= 29) throw new GunzipError(`invalid length code ${sym}`);
        let n = LENGTH_EXTRA[li]!;
        while (count < n + distLen) {
          bits |= (pos < inEnd ? input[pos]! : 0) << count;
          pos++;
          count += 8;
        }
        const length = LENGTH_BASE[li]! + (bits & ((1 << n) - 1));
        bits >>>= n;
        count -= n;
        e = distE[bits & distMask]!;
        l = e & 15;
        if (l === 0) throw new GunzipError('invalid distance code');
        bits >>>= l;
        count -= l;
        const di = e >> 4;
        if (di >= 30) throw new GunzipError(`invalid distance code ${di}`);
        n = DIST_EXTRA[di]!;
        while (count < n) {
          bits |= (pos < inEnd ? input[pos]! : 0) << count;
          pos++;
          count += 8;
        }
        const distance = DIST_BASE[di]! + (bits & ((1 << n) - 1));
        bits >>>= n;
        count -= n;
        if (distance > len) throw new GunzipError('distance reaches before the start');
        if (pos > inEnd + 4) throw new GunzipError('unexpected end of data');
        if (len + length > cap) {
          this.len = len;
          this.grow(length);
          out = this.out;
          cap = out.length;
        }
        let from = len - distance;
        const stop = len + length;
        if (distance >= length) out.copyWithin(len, from, from + length);
        else while (len < stop) out[len++] = out[from++]!;
        len = stop;
      }
    } finally {
      this.bits = bits;
      this.count = count;
      this.pos = pos;
      this.len = len;
    }
  }
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/** Decodes gzip data (one or more members); throws GunzipError on anything malformed. */
export function gunzip(data: Uint8Array): Buffer {
  const parts: Uint8Array[] = [];
  let p = 0;
  do {
    p = member(data, p, parts);
  } while (p < data.length && data[p] === 0x1f);
  if (parts.length === 1) {
    const only = parts[0]!;
    return Buffer.from(only.buffer, only.byteOffset, only.byteLength);
  }
  return Buffer.concat(parts);
}

function member(data: Uint8Array, start: number, parts: Uint8Array[]): number {
  const end = data.length;
  if (end - start < 18) throw new GunzipError('unexpected end of data');
  if (data[start] !== 0x1f || data[start + 1] !== 0x8b) throw new GunzipError('not gzip data');
  if (data[start + 2] !== 8) throw new GunzipError(`unknown compression method ${data[start + 2]}`);
  const flags = data[start + 3]!;
  let p = start + 10;
  if (flags & FEXTRA) {
    if (p + 2 > end) throw new GunzipError('unexpected end of data');
    p += 2 + (data[p]! | (data[p + 1]! << 8));
  }
  for (const f of [FNAME, FCOMMENT]) {
    if (!(flags & f)) continue;
    while (p < end && data[p] !== 0) p++;
    p++;
  }
  if (flags & FHCRC) p += 2;
  if (p > end) throw new GunzipError('unexpected end of data');
  // ISIZE of a single member file sizes the output at once.
  // (deflate expands at most 1032 times, which bounds what a forged trailer can ask for).
  const hint = start === 0 ? readU32(data, end - 4) : 0;
  const inf = new Inflater(data, p, Math.min(hint, (end - start) * 1032, 1 << 28));
  p = inf.run();
  if (p + 8 > end) throw new GunzipError('unexpected end of data (no trailer)');
  const out = inf.out.subarray(0, inf.len);
  if (readU32(data, p) !== crc32(out)) throw new GunzipError('CRC-32 mismatch: data corrupted');
  if (readU32(data, p + 4) !== inf.len >>> 0)
    throw new GunzipError('length mismatch: data corrupted');
  parts.push(out);
  return p + 8;
}

function readU32(d: Uint8Array, p: number): number {
  return (d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16) | (d[p + 3]! << 24)) >>> 0;
}
