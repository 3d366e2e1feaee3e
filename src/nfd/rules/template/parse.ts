import { quoteValue } from '../../../api/decode.js';
/**
 * A parser for the Go text/template language, as far as NodeFeatureRule templates use it:
 * text, `{{pipeline}}`, `{{if}}`/`{{else if}}`/`{{else}}`, `{{range}}` (with `$i, $e :=` and
 * `{{else}}`), `{{with}}`, `{{break}}`/`{{continue}}`, variables (`$x := …`, `$x = …`),
 * pipelines with `|`, parenthesised sub-pipelines, fields (`.Name`, `.a.b`, `$x.Name`),
 * string/raw-string/number/bool/nil constants, comments and the `{{-`/`-}}` trim markers.
 * `define`/`template`/`block` are not supported: a rule holds one template.
 */

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export type Arg =
  | { t: 'dot' }
  | { t: 'field'; names: string[] }
  | { t: 'var'; name: string; names: string[] }
  | { t: 'ident'; name: string }
  | { t: 'const'; value: unknown }
  | { t: 'sub'; pipe: Pipe; names: string[] };

export interface Cmd {
  args: Arg[];
}

export interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Cmd[];
  pos: number;
}

export type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe }
  | { t: 'if' | 'with'; pipe: Pipe; list: Node[]; else: Node[] | undefined }
  | { t: 'range'; pipe: Pipe; list: Node[]; else: Node[] | undefined }
  | { t: 'break' | 'continue'; pos: number };

type Tok =
  | { k: 'ident' | 'field' | 'var' | 'str' | 'num' | 'char'; v: string; pos: number }
  | { k: '(' | ')' | '|' | ':=' | '=' | ','; v: string; pos: number };

const KEYWORDS = new Set([
  'if',
  'else',
  'end',
  'range',
  'with',
  'break',
  'continue',
  'define',
  'template',
  'block',
]);

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** Line number of an offset, for messages. */
function lineOf(src: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos && i < src.length; i++) if (src[i] === '\n') n++;
  return n;
}

const IDENT_RE = /[A-Za-z0-9_]/;

function unquote(raw: string, pos: number, src: string): string {
  let out = '';
  for (let i = 1; i < raw.length - 1; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = raw[++i];
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '\\': '\\',
      '"': '"',
      "'": "'",
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      '0': '\0',
    };
    if (n !== undefined && n in simple) out += simple[n];
    else if (n === 'x' || n === 'u' || n === 'U') {
      const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      const hex = raw.slice(i + 1, i + 1 + len);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) {
        throw new TemplateError(`line ${lineOf(src, pos)}: bad escape in string ${raw}`);
      }
      out += String.fromCodePoint(parseInt(hex, 16));
      i += len;
    } else throw new TemplateError(`line ${lineOf(src, pos)}: bad escape in string ${raw}`);
  }
  return out;
}

/** Splits the inside of one action into tokens. */
function lexAction(src: string, start: number, end: number): Tok[] {
  const toks: Tok[] = [];
  let i = start;
  const fail = (msg: string): never => {
    throw new TemplateError(`line ${lineOf(src, i)}: ${msg}`);
  };
  while (i < end) {
    const c = src[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      toks.push({ k: c, v: c, pos });
      i++;
    } else if (c === ':' && src[i + 1] === '=') {
      toks.push({ k: ':=', v: ':=', pos });
      i += 2;
    } else if (c === '=') {
      toks.push({ k: '=', v: '=', pos });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < end && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= end) fail('unterminated quoted string');
      toks.push({ k: 'str', v: unquote(src.slice(i, j + 1), i, src), pos });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0 || j >= end) fail('unterminated raw string');
      toks.push({ k: 'str', v: src.slice(i + 1, j), pos });
      i = j + 1;
    } else if (c === "'") {
      let j = i + 1;
      while (j < end && src[j] !== "'") j += src[j] === '\\' ? 2 : 1;
      if (j >= end) fail('unterminated character constant');
      const s = unquote(src.slice(i, j + 1), i, src);
      if ([...s].length !== 1) fail(`malformed character constant ${src.slice(i, j + 1)}`);
      toks.push({ k: 'char', v: String(s.codePointAt(0)), pos });
      i = j + 1;
    } else if (c === '.' || c === '$') {
      // A field chain `.a.b`, a bare dot, a variable `$x` or `$x.a.b`.
      let j = i + 1;
      while (j < end && (IDENT_RE.test(src[j]!) || src[j] === '.')) j++;
      const text = src.slice(i, j);
      if (c === '.' && /^\.\d/.test(text)) {
        const m = /^\.\d+([eE][+-]?\d+)?/.exec(src.slice(i, end))!;
        toks.push({ k: 'num', v: m[0], pos });
        i += m[0].length;
        continue;
      }
      toks.push({ k: c === '.' ? 'field' : 'var', v: text, pos });
      i = j;
    } else if (/[0-9+-]/.test(c)) {
      const m =
        /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(
          src.slice(i, end),
        );
      if (!m || m[0] === '' || m[0] === '+' || m[0] === '-') fail(`unexpected "${c}" in action`);
      toks.push({ k: 'num', v: m![0], pos });
      i += m![0].length;
    } else if (IDENT_RE.test(c)) {
      let j = i + 1;
      while (j < end && IDENT_RE.test(src[j]!)) j++;
      toks.push({ k: 'ident', v: src.slice(i, j), pos });
      i = j;
      // A field chain right after an identifier (`(x).a`) is handled by the parser via 'field'.
    } else {
      fail(`unexpected "${c}" in action`);
    }
  }
  return toks;
}

function parseNumber(text: string, src: string, pos: number): number {
  const clean = text.replace(/_/g, '');
  let n: number;
  if (/^[+-]?0[xX]/.test(clean)) n = Number(clean.replace(/^([+-]?)0[xX]/, '$10x'));
  else if (/^[+-]?0[bB]/.test(clean)) n = Number(clean.replace(/^([+-]?)0[bB]/, '$10b'));
  else if (/^[+-]?0[oO]/.test(clean)) n = Number(clean.replace(/^([+-]?)0[oO]/, '$10o'));
  else n = Number(clean);
  if (clean.startsWith('-') && /^-0[xXbBoO]/.test(clean)) n = -Number(clean.slice(1));
  if (!Number.isFinite(n)) throw new TemplateError(`line ${lineOf(src, pos)}: bad number ${text}`);
  return n;
}

interface RawAction {
  toks: Tok[];
  pos: number;
}

type Item = { k: 'text'; text: string } | { k: 'action'; a: RawAction };

/** Splits the source into text and actions, applying the trim markers. */
function scan(src: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    if (open < 0) {
      if (text) items.push({ k: 'text', text });
      break;
    }
    let start = open + 2;
    if (src[start] === '-' && isSpace(src[start + 1])) {
      text = text.replace(/[ \t\r\n]+$/, '');
      start += 2;
    }
    if (text) items.push({ k: 'text', text });
    // Find the closing delimiter outside quoted strings.
    let j = start;
    let close = -1;
    while (j < src.length) {
      const c = src[j];
      if (c === '"' || c === "'") {
        j++;
        while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
        j++;
      } else if (c === '`') {
        const k = src.indexOf('`', j + 1);
        j = k < 0 ? src.length : k + 1;
      } else if (c === '/' && src[j + 1] === '*') {
        const k = src.indexOf('*/', j + 2);
        j = k < 0 ? src.length : k + 2;
      } else if (c === '}' && src[j + 1] === '}') {
        close = j;
        break;
      } else j++;
    }
    if (close < 0) throw new TemplateError(`line ${lineOf(src, open)}: unclosed action`);
    let end = close;
    trimNext = false;
    if (src[end - 1] === '-' && isSpace(src[end - 2]) && end - 2 >= start) {
      end -= 2;
      trimNext = true;
    }
    const inner = src.slice(start, end).trim();
    if (!(inner.startsWith('/*') && inner.endsWith('*/'))) {
      items.push({ k: 'action', a: { toks: lexAction(src, start, end), pos: open } });
    }
    i = close + 2;
  }
  return items;
}

/** Parses a template into its node tree. Throws TemplateError with a line number. */
export function parseTemplate(src: string): Node[] {
  const items = scan(src);
  let idx = 0;
  const line = (pos: number): string => `line ${lineOf(src, pos)}`;

  function parsePipe(toks: Tok[], pos: number, allowDecl: boolean, ctx: string): Pipe {
    let p = 0;
    const decl: string[] = [];
    let assign = false;
    if (allowDecl) {
      // `$x :=`, `$x =`, `$i, $e :=`
      const look: string[] = [];
      let q = 0;
      while (toks[q]?.k === 'var' && !toks[q]!.v.includes('.', 1)) {
        look.push(toks[q]!.v);
        q++;
        if (toks[q]?.k === ',') q++;
        else break;
      }
      const t = toks[q];
      if (look.length > 0 && t && (t.k === ':=' || t.k === '=')) {
        decl.push(...look);
        assign = t.k === '=';
        p = q + 1;
        if (decl.length > 2 || (decl.length === 2 && ctx !== 'range')) {
          throw new TemplateError(`${line(pos)}: too many declarations in ${ctx}`);
        }
      }
    }
    const cmds: Cmd[] = [];
    const parseOperand = (): Arg | undefined => {
      const t = toks[p];
      if (!t) return undefined;
      let arg: Arg;
      switch (t.k) {
        case 'field':
          p++;
          arg = t.v === '.' ? { t: 'dot' } : { t: 'field', names: t.v.slice(1).split('.') };
          if (arg.t === 'field' && arg.names.some((n) => n === '')) {
            throw new TemplateError(`${line(t.pos)}: bad field ${t.v}`);
          }
          return arg;
        case 'var': {
          p++;
          const [name, ...names] = t.v.split('.');
          return { t: 'var', name: name!, names };
        }
        case 'str':
          p++;
          return { t: 'const', value: t.v };
        case 'char':
          p++;
          return { t: 'const', value: Number(t.v) };
        case 'num':
          p++;
          return { t: 'const', value: parseNumber(t.v, src, t.pos) };
        case 'ident':
          p++;
          if (t.v === 'true' || t.v === 'false') return { t: 'const', value: t.v === 'true' };
          if (t.v === 'nil') return { t: 'const', value: null };
          if (KEYWORDS.has(t.v)) throw new TemplateError(`${line(t.pos)}: unexpected ${t.v}`);
          return { t: 'ident', name: t.v };
        case '(': {
          p++;
          const startP = p;
          let depth = 1;
          while (p < toks.length && depth > 0) {
            if (toks[p]!.k === '(') depth++;
            else if (toks[p]!.k === ')') depth--;
            p++;
          }
          if (depth !== 0) throw new TemplateError(`${line(t.pos)}: unclosed left paren`);
          const inner = parsePipe(toks.slice(startP, p - 1), t.pos, true, 'parenthesized pipeline');
          let names: string[] = [];
          const next = toks[p];
          if (next && next.k === 'field' && next.pos === toks[p - 1]!.pos + 1 && next.v !== '.') {
            names = next.v.slice(1).split('.');
            p++;
          }
          return { t: 'sub', pipe: inner, names };
        }
        default:
          return undefined;
      }
    };
    while (p < toks.length) {
      const args: Arg[] = [];
      while (p < toks.length && toks[p]!.k !== '|') {
        const a = parseOperand();
        if (!a)
          throw new TemplateError(
            `${line(toks[p]!.pos)}: unexpected ${quoteValue(toks[p]!.v)} in ${ctx}`,
          );
        args.push(a);
      }
      if (args.length === 0) throw new TemplateError(`${line(pos)}: missing command in ${ctx}`);
      cmds.push({ args });
      if (toks[p]?.k === '|') {
        p++;
        if (p >= toks.length) throw new TemplateError(`${line(pos)}: missing command after |`);
      }
    }
    if (cmds.length === 0) throw new TemplateError(`${line(pos)}: missing value for ${ctx}`);
    return { decl, assign, cmds, pos };
  }

  /** Parses nodes up to an `end` or `else`; returns which one stopped it. */
  function parseList(inside: string | undefined): {
    nodes: Node[];
    stop: 'end' | 'else' | 'eof';
    elseToks?: Tok[];
    pos: number;
  } {
    const nodes: Node[] = [];
    while (idx < items.length) {
      const it = items[idx++]!;
      if (it.k === 'text') {
        nodes.push({ t: 'text', text: it.text });
        continue;
      }
      const { toks, pos } = it.a;
      const head = toks[0];
      if (!head) throw new TemplateError(`${line(pos)}: missing value for command`);
      if (head.k === 'ident' && KEYWORDS.has(head.v)) {
        const rest = toks.slice(1);
        switch (head.v) {
          case 'end':
            if (!inside) throw new TemplateError(`${line(pos)}: unexpected {{end}}`);
            if (rest.length)
              throw new TemplateError(`${line(pos)}: unexpected ${quoteValue(rest[0]!.v)} in end`);
            return { nodes, stop: 'end', pos };
          case 'else':
            if (!inside) throw new TemplateError(`${line(pos)}: unexpected {{else}}`);
            return { nodes, stop: 'else', elseToks: rest, pos };
          case 'if':
          case 'with':
          case 'range':
            nodes.push(parseControl(head.v, rest, pos));
            continue;
          case 'break':
          case 'continue':
            if (inside !== 'range' && !rangeDepth) {
              throw new TemplateError(`${line(pos)}: {{${head.v}}} outside {{range}}`);
            }
            nodes.push({ t: head.v, pos });
            continue;
          default:
            throw new TemplateError(
              `${line(pos)}: {{${head.v}}} is not supported in rule templates`,
            );
        }
      }
      nodes.push({ t: 'action', pipe: parsePipe(toks, pos, true, 'command') });
    }
    if (inside) throw new TemplateError(`unexpected EOF: missing {{end}} for {{${inside}}}`);
    return { nodes, stop: 'eof', pos: src.length };
  }

  let rangeDepth = 0;

  function parseControl(kind: 'if' | 'with' | 'range', toks: Tok[], pos: number): Node {
    const pipe = parsePipe(toks, pos, true, kind);
    if (kind === 'range') rangeDepth++;
    const body = parseList(kind);
    if (kind === 'range') rangeDepth--;
    let elseList: Node[] | undefined;
    if (body.stop === 'else') {
      const et = body.elseToks ?? [];
      if (et.length > 0 && et[0]!.k === 'ident' && (et[0]!.v === 'if' || et[0]!.v === 'with')) {
        if (et[0]!.v !== kind) {
          throw new TemplateError(`${line(body.pos)}: {{else ${et[0]!.v}}} inside {{${kind}}}`);
        }
        // `{{else if x}}` is `{{else}}{{if x}}…{{end}}` sharing the outer {{end}}.
        elseList = [parseControl(kind, et.slice(1), body.pos)];
      } else {
        if (et.length)
          throw new TemplateError(`${line(body.pos)}: unexpected ${quoteValue(et[0]!.v)} in else`);
        const tail = parseList(kind);
        if (tail.stop !== 'end') throw new TemplateError(`${line(tail.pos)}: expected {{end}}`);
        elseList = tail.nodes;
      }
    }
    if (kind === 'range') return { t: 'range', pipe, list: body.nodes, else: elseList };
    return { t: kind, pipe, list: body.nodes, else: elseList };
  }

  const top = parseList(undefined);
  return top.nodes;
}
