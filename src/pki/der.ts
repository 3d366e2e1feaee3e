/**
 * The little DER that kernel module signatures and our certificates need: an encoder (the CMS
 * SignedData that sign-file writes, X.509 certificates), and a strict reader for certificates and
 * existing signatures. Only
 * low-tag-number, definite-length encodings exist in DER, so anything else is refused.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** A context-specific constructed tag, `[n]` in ASN.1 (n < 31). */
export function contextTag(n: number): number {
  return 0xa0 | n;
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: Buffer[]): Buffer {
  return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** A SET OF: DER orders the encoded elements bytewise (X.690 11.6). */
export function setOf(...items: Buffer[]): Buffer {
  return tlv(TAG.SET, Buffer.concat([...items].sort((a, b) => Buffer.compare(a, b))));
}

export function explicit(n: number, content: Buffer): Buffer {
  return tlv(contextTag(n), content);
}

export function derNull(): Buffer {
  return Buffer.from([TAG.NULL, 0]);
}

export function octetString(content: Buffer): Buffer {
  return tlv(TAG.OCTET_STRING, content);
}

/** A non-negative INTEGER, minimal two's complement (a leading 0 when the top bit is set). */
export function integer(value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n) throw new DerError('negative INTEGER values are not needed here');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

/** An OBJECT IDENTIFIER from dotted form, e.g. `1.2.840.113549.1.7.2`. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((s) => {
    if (!/^\d+$/.test(s)) throw new DerError(`bad OID "${dotted}"`);
    return BigInt(s);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) {
    throw new DerError(`bad OID "${dotted}"`);
  }
  const out: number[] = [];
  const first = arcs[0]! * 40n + arcs[1]!;
  for (const arc of [first, ...arcs.slice(2)]) {
    const groups: number[] = [];
    let v = arc;
    do {
      groups.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < groups.length - 1; i++) groups[i]! |= 0x80;
    out.push(...groups);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

/** Dotted form of the content bytes of an OBJECT IDENTIFIER. */
export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (v === 0n && b === 0x80) throw new DerError('OBJECT IDENTIFIER arc with a leading 0x80');
    v = (v << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0n;
    } else if (i === content.length - 1) {
      throw new DerError('OBJECT IDENTIFIER ends inside an arc');
    }
  }
  const first = arcs[0]!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** One element read from DER input. `raw` is the whole encoding, `value` the content. */
export interface Tlv {
  tag: number;
  constructed: boolean;
  /** Offset of the tag byte in the buffer it was read from. */
  offset: number;
  /** Offset just past the element. */
  end: number;
  value: Buffer;
  raw: Buffer;
}

/** Reads the element at `offset`; refuses what DER forbids and lengths past the input. */
export function readTlv(buf: Buffer, offset = 0): Tlv {
  if (offset + 2 > buf.length) throw new DerError(`truncated DER at offset ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag number at offset ${offset}`);
  let pos = offset + 1;
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw new DerError(`indefinite length at offset ${offset} (not DER)`);
    if (n > 4) throw new DerError(`length of ${n} bytes at offset ${offset}`);
    if (pos + n > buf.length) throw new DerError(`truncated DER length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
    if (length < 0x80 || buf[pos - n] === 0) {
      throw new DerError(`non-minimal length at offset ${offset} (not DER)`);
    }
  }
  const end = pos + length;
  if (end > buf.length) {
    throw new DerError(
      `element at offset ${offset} claims ${length} bytes; only ${buf.length - pos} remain`,
    );
  }
  return {
    tag,
    constructed: (tag & 0x20) !== 0,
    offset,
    end,
    value: buf.subarray(pos, end),
    raw: buf.subarray(offset, end),
  };
}

/** The elements inside a constructed element, in order. */
export function children(parent: Tlv): Tlv[] {
  if (!parent.constructed) throw new DerError(`element at offset ${parent.offset} is primitive`);
  const out: Tlv[] = [];
  for (let pos = 0; pos < parent.value.length;) {
    const t = readTlv(parent.value, pos);
    out.push(t);
    pos = t.end;
  }
  return out;
}

/** Reads exactly one element that must fill `buf` and carry `tag`. */
export function readWhole(buf: Buffer, tag: number, what: string): Tlv {
  const t = readTlv(buf, 0);
  if (t.tag !== tag) throw new DerError(`${what}: expected tag 0x${hex(tag)}, got 0x${hex(t.tag)}`);
  if (t.end !== buf.length)
    throw new DerError(`${what}: ${buf.length - t.end} bytes after the end`);
  return t;
}

/** Checks an element's tag, naming what was expected. */
export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) throw new DerError(`${what}: missing`);
  if (t.tag !== tag) throw new DerError(`${what}: expected tag 0x${hex(tag)}, got 0x${hex(t.tag)}`);
  return t;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
