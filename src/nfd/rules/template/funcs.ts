import type { RE2JS } from 're2js';
import { re2 } from '../../../api/re2.js';
import { TemplateError } from './parse.js';
import { boundedMessage, quoteValue } from '../../../api/decode.js';

/**
 * The functions rule templates may call: Go text/template's builtins and the Sprig functions
 * listed in ../README.md. Values are Go-like: strings, numbers, booleans, null (nil), arrays
 * (slices) and plain objects (maps).
 */
export type TemplateFunc = (...args: unknown[]) => unknown;

/** Go's truth: false, 0, nil and empty strings/lists/maps are false. */
export function isTrue(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Prints a value as Go's fmt %v does (maps with sorted keys). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatInner).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o)
      .sort()
      .map((k) => `${k}:${formatInner(o[k])}`)
      .join(' ')}]`;
  }
  // Only a bigint, a symbol or a function is left, none of which prints as [object Object].
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(v);
}

function formatInner(v: unknown): string {
  return v === null || v === undefined ? '<nil>' : formatValue(v);
}

function fail(msg: string): never {
  throw new TemplateError(msg);
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return formatValue(v);
}

/** Sprig's toInt-style conversion: numbers truncate, numeric strings parse, anything else is 0. */
function toInt(v: unknown): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = Number(v.trim());
    return v.trim() !== '' && Number.isFinite(n) ? Math.trunc(n) : 0;
  }
  return 0;
}

function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = Number(v.trim());
    return v.trim() !== '' && Number.isFinite(n) ? n : 0;
  }
  return 0;
}

function list(v: unknown, fn: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === null || v === undefined) return [];
  return fail(`${fn}: expected a list, got ${formatValue(v)}`);
}

function map(v: unknown, fn: string): Record<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  return fail(`${fn}: expected a map, got ${formatValue(v)}`);
}

function arity(fn: string, args: unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    fail(
      `wrong number of args for ${fn}: want ${min === max ? min : `${min}-${max}`} got ${args.length}`,
    );
  }
}

function comparable(a: unknown, b: unknown, fn: string): void {
  const ta = a === null ? 'nil' : typeof a;
  const tb = b === null ? 'nil' : typeof b;
  if (ta !== tb || (ta !== 'string' && ta !== 'number' && ta !== 'boolean' && ta !== 'nil')) {
    fail(`${fn}: incompatible types for comparison (${formatValue(a)} and ${formatValue(b)})`);
  }
}

function ordered(a: unknown, b: unknown, fn: string): number {
  comparable(a, b, fn);
  if (typeof a === 'boolean' || a === null) fail(`${fn}: invalid type for comparison`);
  return (a as number | string) < (b as number | string) ? -1 : a === b ? 0 : 1;
}

const regexCache = new Map<string, RE2JS>();
function regex(pattern: unknown): RE2JS {
  const p = str(pattern);
  let re = regexCache.get(p);
  if (!re) {
    try {
      re = re2().compile(p);
    } catch (e) {
      return fail(
        `invalid regular expression ${quoteValue(p)}: ${boundedMessage((e as Error).message)}`,
      );
    }
    if (regexCache.size > 256) regexCache.clear();
    regexCache.set(p, re);
  }
  return re;
}

/**
 * Go's Regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}` expand to groups (a name is
 * the longest run of letters, digits and `_`, so `$1W` is group "1W"); unknown groups expand to
 * nothing; `$$` is a dollar.
 */
function replaceAll(re: RE2JS, src: string, repl: string, literal: boolean): string {
  const m = re.matcher(src);
  let out = '';
  let last = 0;
  const group = (name: string): string => {
    try {
      return m.group(/^\d+$/.test(name) ? Number(name) : name) ?? '';
    } catch {
      return '';
    }
  };
  while (m.find()) {
    out += src.slice(last, m.start());
    if (literal) out += repl;
    else {
      out += repl.replace(/\$(?:\$|\{(\w+)\}|(\w+))/g, (tok, braced?: string, bare?: string) =>
        tok === '$$' ? '$' : group((braced ?? bare)!),
      );
    }
    last = m.end();
  }
  return out + src.slice(last);
}

/** Go fmt verbs for printf: %s %v %d %q %x %X %f %t %%, with flags and width/precision. */
function sprintf(format: string, args: unknown[]): string {
  let i = 0;
  return (
    format.replace(
      /%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g,
      (_m, flags: string, w, p, verb: string) => {
        if (verb === '%') return '%';
        if (i >= args.length) return `%!${verb}(MISSING)`;
        const a = args[i++];
        let s: string;
        switch (verb) {
          case 's':
          case 'v':
            s = verb === 'v' && flags.includes('+') ? formatValue(a) : formatValue(a);
            if (p !== undefined && typeof a === 'string') s = s.slice(0, Number(p));
            break;
          case 'd':
            s =
              typeof a === 'number'
                ? String(Math.trunc(a))
                : `%!d(${typeName(a)}=${formatValue(a)})`;
            if (flags.includes('+') && typeof a === 'number' && a >= 0) s = '+' + s;
            break;
          case 'q':
            s = JSON.stringify(str(a));
            break;
          case 'x':
          case 'X':
            s =
              typeof a === 'number'
                ? Math.trunc(a).toString(16)
                : Buffer.from(str(a), 'utf8').toString('hex');
            if (verb === 'X') s = s.toUpperCase();
            break;
          case 'f':
          case 'F':
            s =
              typeof a === 'number'
                ? a.toFixed(p === undefined ? 6 : Number(p))
                : `%!f(${formatValue(a)})`;
            break;
          case 't':
            s = typeof a === 'boolean' ? String(a) : `%!t(${formatValue(a)})`;
            break;
          default:
            s = `%!${verb}(${formatValue(a)})`;
        }
        if (w !== undefined && s.length < Number(w)) {
          const pad = Number(w) - s.length;
          if (flags.includes('-')) s = s + ' '.repeat(pad);
          else if (flags.includes('0') && /^[dxXf]$/.test(verb)) {
            const neg = s.startsWith('-');
            s = (neg ? '-' : '') + '0'.repeat(pad) + (neg ? s.slice(1) : s);
          } else s = ' '.repeat(pad) + s;
        }
        return s;
      },
    ) + (i < args.length ? `%!(EXTRA ${args.slice(i).map(formatValue).join(', ')})` : '')
  );
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  return typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float64') : typeof v;
}

/** Go's print: spaces only between operands when neither is a string. */
function goPrint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

const MAX_BUILT = 64 * 1024;
function capped(n: number, fn: string): number {
  if (n > MAX_BUILT) fail(`${fn}: ${n} is too large (limit ${MAX_BUILT})`);
  return n;
}

function title(s: string): string {
  return s.replace(
    /(^|[^\p{L}\p{N}_'])(\p{L})/gu,
    (_m, pre: string, c: string) => pre + c.toUpperCase(),
  );
}

const entries: [string, TemplateFunc][] = [
  // Go text/template builtins.
  ['not', (...a) => (arity('not', a, 1), !isTrue(a[0]))],
  [
    'len',
    (...a) => {
      arity('len', a, 1);
      const v = a[0];
      if (typeof v === 'string') return Buffer.byteLength(v);
      if (Array.isArray(v)) return v.length;
      if (v !== null && typeof v === 'object') return Object.keys(v).length;
      return fail(`len of ${typeName(v)}`);
    },
  ],
  [
    'index',
    (...a) => {
      if (a.length < 1) fail('wrong number of args for index: want at least 1 got 0');
      let cur = a[0];
      for (const k of a.slice(1)) {
        if (Array.isArray(cur)) {
          if (typeof k !== 'number' || k < 0 || k >= cur.length)
            fail(`index out of range: ${formatValue(k)}`);
          cur = cur[k];
        } else if (cur !== null && typeof cur === 'object') {
          const key = str(k);
          // A missing map key gives nil, as in Go (index ignores missingkey).
          cur = Object.prototype.hasOwnProperty.call(cur, key)
            ? (cur as Record<string, unknown>)[key]
            : null;
        } else if (typeof cur === 'string') {
          if (typeof k !== 'number' || k < 0 || k >= cur.length)
            fail(`index out of range: ${formatValue(k)}`);
          cur = cur.charCodeAt(k);
        } else fail(`can't index item of type ${typeName(cur)}`);
      }
      return cur;
    },
  ],
  [
    'slice',
    (...a) => {
      const [v, ...ix] = a;
      const n = ix.map((x) => toInt(x));
      if (typeof v === 'string') return v.slice(n[0] ?? 0, n[1] ?? v.length);
      return list(v, 'slice').slice(n[0] ?? 0, n[1]);
    },
  ],
  ['print', (...a) => goPrint(a)],
  ['println', (...a) => a.map(formatValue).join(' ') + '\n'],
  [
    'printf',
    (...a) => (a.length < 1 ? fail('printf needs a format') : sprintf(str(a[0]), a.slice(1))),
  ],
  [
    'eq',
    (...a) => {
      if (a.length < 2) fail('missing argument for comparison');
      return a.slice(1).some((b) => (comparable(a[0], b, 'eq'), a[0] === b));
    },
  ],
  ['ne', (...a) => (arity('ne', a, 2), comparable(a[0], a[1], 'ne'), a[0] !== a[1])],
  ['lt', (...a) => (arity('lt', a, 2), ordered(a[0], a[1], 'lt') < 0)],
  ['le', (...a) => (arity('le', a, 2), ordered(a[0], a[1], 'le') <= 0)],
  ['gt', (...a) => (arity('gt', a, 2), ordered(a[0], a[1], 'gt') > 0)],
  ['ge', (...a) => (arity('ge', a, 2), ordered(a[0], a[1], 'ge') >= 0)],
  ['urlquery', (...a) => encodeURIComponent(goPrint(a))],

  // Sprig: strings.
  ['trim', (s) => str(s).trim()],
  [
    'trimAll',
    (cut, s) => {
      const set = new Set(str(cut));
      const v = [...str(s)];
      let i = 0;
      let j = v.length;
      while (i < j && set.has(v[i]!)) i++;
      while (j > i && set.has(v[j - 1]!)) j--;
      return v.slice(i, j).join('');
    },
  ],
  ['trimPrefix', (p, s) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s))],
  [
    'trimSuffix',
    (p, s) => (str(p) && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)),
  ],
  ['upper', (s) => str(s).toUpperCase()],
  ['lower', (s) => str(s).toLowerCase()],
  ['title', (s) => title(str(s))],
  [
    'untitle',
    (s) => str(s).replace(/(^|\s)(\S)/g, (_m, p: string, c: string) => p + c.toLowerCase()),
  ],
  [
    'repeat',
    (n, s) => {
      const count = Math.max(0, toInt(n));
      capped(count * str(s).length, 'repeat');
      return str(s).repeat(count);
    },
  ],
  [
    'substr',
    (start, end, s) => {
      const v = str(s);
      let a = toInt(start);
      let b = toInt(end);
      if (a < 0) return v.slice(0, b < 0 || b > v.length ? v.length : b);
      if (b < 0 || b > v.length) b = v.length;
      if (a > b) a = b;
      return v.slice(a, b);
    },
  ],
  [
    'trunc',
    (n, s) => {
      const v = str(s);
      const c = toInt(n);
      if (c < 0 && -c < v.length) return v.slice(v.length + c);
      if (c >= 0 && v.length > c) return v.slice(0, c);
      return v;
    },
  ],
  ['nospace', (s) => str(s).replace(/\s+/g, '')],
  ['contains', (sub, s) => str(s).includes(str(sub))],
  ['hasPrefix', (p, s) => str(s).startsWith(str(p))],
  ['hasSuffix', (p, s) => str(s).endsWith(str(p))],
  [
    'quote',
    (...a) =>
      a
        .filter((x) => x !== null && x !== undefined)
        .map((x) => JSON.stringify(str(x)))
        .join(' '),
  ],
  [
    'squote',
    (...a) =>
      a
        .filter((x) => x !== null && x !== undefined)
        .map((x) => `'${str(x)}'`)
        .join(' '),
  ],
  [
    'cat',
    (...a) =>
      a
        .filter((x) => x !== null && x !== undefined)
        .map(formatValue)
        .join(' '),
  ],
  ['replace', (o, n, s) => str(s).split(str(o)).join(str(n))],
  ['indent', (n, s) => str(s).replace(/^/gm, ' '.repeat(capped(Math.max(0, toInt(n)), 'indent')))],
  [
    'nindent',
    (n, s) => '\n' + str(s).replace(/^/gm, ' '.repeat(capped(Math.max(0, toInt(n)), 'nindent'))),
  ],
  [
    'split',
    (sep, s) =>
      Object.fromEntries(
        str(s)
          .split(str(sep))
          .map((p, i) => [`_${i}`, p]),
      ),
  ],
  ['splitList', (sep, s) => str(s).split(str(sep))],
  ['join', (sep, l) => (Array.isArray(l) ? l.map(str).join(str(sep)) : str(l))],
  ['toString', (v) => str(v)],
  ['toStrings', (l) => list(l, 'toStrings').map(str)],
  ['sortAlpha', (l) => list(l, 'sortAlpha').map(str).sort()],

  // Sprig: conversion and math (integers truncate, as Sprig's int64 math does).
  [
    'atoi',
    (s) => {
      const v = str(s).trim();
      return /^[+-]?\d+$/.test(v) ? Number(v) : 0;
    },
  ],
  ['int', (v) => toInt(v)],
  ['int64', (v) => toInt(v)],
  ['float64', (v) => toFloat(v)],
  ['add', (...a) => a.reduce<number>((x, y) => x + toInt(y), 0)],
  ['add1', (v) => toInt(v) + 1],
  ['sub', (a, b) => toInt(a) - toInt(b)],
  ['mul', (...a) => a.reduce<number>((x, y) => x * toInt(y), 1)],
  [
    'div',
    (a, b) => (toInt(b) === 0 ? fail('integer divide by zero') : Math.trunc(toInt(a) / toInt(b))),
  ],
  ['mod', (a, b) => (toInt(b) === 0 ? fail('integer divide by zero') : toInt(a) % toInt(b))],
  ['max', (...a) => Math.max(...a.map(toInt))],
  ['min', (...a) => Math.min(...a.map(toInt))],
  ['addf', (...a) => a.reduce<number>((x, y) => x + toFloat(y), 0)],
  ['subf', (a, b) => toFloat(a) - toFloat(b)],

  // Sprig: defaults and flow.
  ['default', (d, ...g) => (g.length && isTrue(g[0]) ? g[0] : d)],
  ['empty', (v) => !isTrue(v)],
  ['coalesce', (...a) => a.find(isTrue) ?? null],
  ['ternary', (a, b, c) => (isTrue(c) ? a : b)],
  ['fail', (m) => fail(str(m))],

  // Sprig: lists.
  ['list', (...a) => a],
  ['first', (l) => list(l, 'first')[0] ?? null],
  ['last', (l) => list(l, 'last').at(-1) ?? null],
  ['rest', (l) => list(l, 'rest').slice(1)],
  ['initial', (l) => list(l, 'initial').slice(0, -1)],
  ['append', (l, v) => [...list(l, 'append'), v]],
  ['prepend', (l, v) => [v, ...list(l, 'prepend')]],
  ['concat', (...a) => a.flatMap((l) => list(l, 'concat'))],
  ['has', (v, l) => list(l, 'has').some((x) => x === v)],
  ['uniq', (l) => [...new Set(list(l, 'uniq'))]],
  ['without', (l, ...w) => list(l, 'without').filter((x) => !w.includes(x))],
  ['compact', (l) => list(l, 'compact').filter(isTrue)],
  ['reverse', (l) => [...list(l, 'reverse')].reverse()],
  ['until', (n) => Array.from({ length: capped(Math.max(0, toInt(n)), 'until') }, (_, i) => i)],

  // Sprig: dicts.
  [
    'dict',
    (...a) => {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < a.length; i += 2) o[str(a[i])] = i + 1 < a.length ? a[i + 1] : '';
      return o;
    },
  ],
  [
    'get',
    (d, k) => {
      const o = map(d, 'get');
      return Object.prototype.hasOwnProperty.call(o, str(k)) ? o[str(k)] : '';
    },
  ],
  ['hasKey', (d, k) => Object.prototype.hasOwnProperty.call(map(d, 'hasKey'), str(k))],
  ['keys', (...ds) => ds.flatMap((d) => Object.keys(map(d, 'keys')))],
  ['values', (d) => Object.values(map(d, 'values'))],
  [
    'pick',
    (d, ...ks) =>
      Object.fromEntries(Object.entries(map(d, 'pick')).filter(([k]) => ks.map(str).includes(k))),
  ],
  [
    'omit',
    (d, ...ks) =>
      Object.fromEntries(Object.entries(map(d, 'omit')).filter(([k]) => !ks.map(str).includes(k))),
  ],

  // Sprig: regular expressions (RE2 syntax, linear time).
  ['regexMatch', (re, s) => regex(re).test(str(s))],
  [
    'regexFind',
    (re, s) => {
      const m = regex(re).matcher(str(s));
      return m.find() ? (m.group() ?? '') : '';
    },
  ],
  [
    'regexFindAll',
    (re, s, n) => {
      const m = regex(re).matcher(str(s));
      const out: string[] = [];
      const limit = toInt(n);
      while ((limit < 0 || out.length < limit) && m.find()) out.push(m.group() ?? '');
      return out;
    },
  ],
  ['regexReplaceAll', (re, s, r) => replaceAll(regex(re), str(s), str(r), false)],
  ['regexReplaceAllLiteral', (re, s, r) => replaceAll(regex(re), str(s), str(r), true)],
  ['regexSplit', (re, s, n) => regex(re).split(str(s), toInt(n) < 0 ? -1 : toInt(n))],
  ['regexQuoteMeta', (s) => re2().quote(str(s))],

  // Sprig: encoding and hashes.
  ['b64enc', (s) => Buffer.from(str(s), 'utf8').toString('base64')],
  ['b64dec', (s) => Buffer.from(str(s), 'base64').toString('utf8')],
  ['toJson', (v) => JSON.stringify(v ?? null)],
  ['sha256sum', (s) => hash('sha256', str(s))],
  ['sha1sum', (s) => hash('sha1', str(s))],
];

/** node:crypto is loaded on first use: a worker start would otherwise pay for it every time. */
function hash(algorithm: string, s: string): string {
  return process.getBuiltinModule('node:crypto').createHash(algorithm).update(s).digest('hex');
}

export const FUNCS: ReadonlyMap<string, TemplateFunc> = new Map(entries);
