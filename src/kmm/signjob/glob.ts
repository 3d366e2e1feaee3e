/**
 * Shell globs for sign.filesToSign: `*` and `?` never cross a `/`, `[abc]`, `[a-z]` and
 * `[!x]`/`[^x]` classes, `\` escapes. Matched by hand, without building a regular expression
 * from user text: the time is bounded by pattern length × path length.
 */
import { quoteValue } from '../../runtime/quote.js';

type Token =
  | { t: 'lit'; c: string }
  | { t: 'any' }
  | { t: 'star' }
  | { t: 'class'; neg: boolean; items: (string | [string, string])[] };

export class GlobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlobError';
  }
}

function tokenize(pattern: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (i + 1 >= pattern.length)
        throw new GlobError(`${quoteValue(pattern)} ends with a lone "\\"`);
      out.push({ t: 'lit', c: pattern[++i]! });
    } else if (c === '*') {
      if (out.at(-1)?.t !== 'star') out.push({ t: 'star' });
    } else if (c === '?') out.push({ t: 'any' });
    else if (c === '[') {
      let j = i + 1;
      let neg = false;
      if (pattern[j] === '!' || pattern[j] === '^') {
        neg = true;
        j++;
      }
      const items: (string | [string, string])[] = [];
      let first = true;
      while (j < pattern.length && (pattern[j] !== ']' || first)) {
        first = false;
        let a = pattern[j]!;
        if (a === '\\' && j + 1 < pattern.length) a = pattern[++j]!;
        if (pattern[j + 1] === '-' && j + 2 < pattern.length && pattern[j + 2] !== ']') {
          let b = pattern[j + 2]!;
          j += 2;
          if (b === '\\' && j + 1 < pattern.length) b = pattern[++j]!;
          items.push([a, b]);
        } else items.push(a);
        j++;
      }
      if (j >= pattern.length)
        throw new GlobError(`${quoteValue(pattern)} has a "[" without a closing "]"`);
      out.push({ t: 'class', neg, items });
      i = j;
    } else out.push({ t: 'lit', c });
  }
  return out;
}

function single(tok: Token, c: string): boolean {
  if (c === '/') return tok.t === 'lit' && tok.c === '/';
  switch (tok.t) {
    case 'lit':
      return tok.c === c;
    case 'any':
      return true;
    case 'class': {
      const hit = tok.items.some((it) =>
        typeof it === 'string' ? it === c : it[0] <= c && c <= it[1],
      );
      return hit !== tok.neg;
    }
    default:
      return false;
  }
}

/** A matcher for one glob; throws GlobError for a malformed pattern. */
export function compileGlob(pattern: string): (path: string) => boolean {
  const toks = tokenize(pattern);
  return (path: string) => {
    // Classic wildcard matching with one backtrack point; `*` may not swallow a `/`.
    let p = 0;
    let s = 0;
    let starP = -1;
    let starS = -1;
    while (s < path.length) {
      const tok = toks[p];
      if (tok && tok.t === 'star') {
        starP = p++;
        starS = s;
      } else if (tok && single(tok, path[s]!)) {
        p++;
        s++;
      } else if (starP >= 0 && path[starS] !== '/') {
        p = starP + 1;
        s = ++starS;
      } else return false;
    }
    while (toks[p]?.t === 'star') p++;
    return p === toks.length;
  };
}

/** Whether the pattern has glob characters at all (a plain path is looked up directly). */
export function hasGlobChars(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}
