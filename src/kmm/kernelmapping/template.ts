/**
 * Variable substitution in images and paths, with the syntax upstream accepts (it uses
 * github.com/a8m/envsubst): `$NAME`, `${NAME}`, `${NAME-word}`, `${NAME:-word}`,
 * `${NAME=word}`, `${NAME:=word}`, `${NAME+word}`, `${NAME:+word}`, and `$$` for a literal `$`.
 * An unknown variable becomes empty, as upstream; we also report its name so that a typo such as
 * `${KERNEL_FULL_VERSON}` is visible instead of silently producing `image:`.
 */

export type Expansion =
  { ok: true; value: string; unknown: string[] } | { ok: false; message: string };

const NAME_CHAR = /[\p{L}\p{N}_]/u;

class TemplateSyntaxError extends Error {}

class Expander {
  private pos = 0;
  readonly unknown = new Set<string>();

  constructor(
    private readonly src: string,
    private readonly vars: Readonly<Record<string, string>>,
  ) {}

  /** Expands text until `stop` (a `}` closing an enclosing `${…}`) or the end. */
  expand(insideBraces: boolean): string {
    let out = '';
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (insideBraces && c === '}') return out;
      if (insideBraces && (c === '\n' || c === '\r')) break;
      if (c !== '$') {
        out += c;
        this.pos++;
        continue;
      }
      out += this.dollar();
    }
    if (insideBraces) throw new TemplateSyntaxError('closing brace expected');
    return out;
  }

  private readName(): string {
    const start = this.pos;
    while (this.pos < this.src.length && NAME_CHAR.test(this.src[this.pos]!)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private lookup(name: string): string | undefined {
    if (Object.hasOwn(this.vars, name)) return this.vars[name];
    this.unknown.add(name);
    return undefined;
  }

  /** At a `$`: an escape, a plain variable, a `${…}` expression, or a literal `$`. */
  private dollar(): string {
    const next = this.src[this.pos + 1];
    if (next === '$') {
      this.pos += 2;
      return '$';
    }
    if (next === '{') return this.braced();
    if (next !== undefined && NAME_CHAR.test(next)) {
      this.pos++;
      const name = this.readName();
      // upstream leaves `$_` alone: `_` alone is not a variable name
      if (name === '_') return '$_';
      return this.lookup(name) ?? '';
    }
    this.pos++;
    return '$';
  }

  private braced(): string {
    const open = this.pos;
    this.pos += 2;
    const name = this.readName();
    if (name === '_' && this.src[this.pos] === '}') {
      this.pos++;
      return '${_}';
    }
    if (name === '') {
      throw new TemplateSyntaxError(
        `"\${" at offset ${open} is not followed by a variable name; write $$ for a literal $`,
      );
    }
    const rest = this.src.slice(this.pos);
    const op = ['}', ':-', ':=', ':+', '-', '=', '+'].find((o) => rest.startsWith(o));
    if (op === undefined) {
      if (this.pos >= this.src.length) throw new TemplateSyntaxError('closing brace expected');
      throw new TemplateSyntaxError(
        `unexpected "${this.src[this.pos]}" in "\${${name}…": a variable name has only letters, ` +
          'digits and underscores',
      );
    }
    this.pos += op.length;
    const value = this.lookup(name);
    if (op === '}') return value ?? '';
    const word = this.expand(true);
    this.pos++; // the closing brace
    switch (op) {
      case '-':
      case '=':
        return value === undefined ? word : value;
      case ':-':
      case ':=':
        return value === undefined || value === '' ? word : value;
      default:
        // `+` and `:+`: the word if the variable is set (upstream treats both alike)
        return value === undefined ? '' : word;
    }
  }
}

export function expandTemplate(
  template: string,
  vars: Readonly<Record<string, string>>,
): Expansion {
  const e = new Expander(template, vars);
  try {
    const value = e.expand(false);
    return { ok: true, value, unknown: [...e.unknown] };
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return { ok: false, message: err.message };
    throw err;
  }
}
