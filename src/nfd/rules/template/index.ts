import { execute } from './exec.js';
import { parseTemplate, TemplateError } from './parse.js';

export { MAX_OUTPUT, MAX_STEPS } from './exec.js';
export { FUNCS } from './funcs.js';
export { TemplateError } from './parse.js';

/** A template parsed once, run many times. */
export interface CompiledTemplate {
  /** Runs the template and returns its raw output. */
  render(data: unknown): string;
  /** Runs the template and reads its output as `key=value` lines (labelsTemplate/varsTemplate). */
  expandMap(data: unknown): Record<string, string>;
}

/** Parses a Go text/template; throws TemplateError for syntax errors. */
export function compileTemplate(src: string): CompiledTemplate {
  const nodes = parseTemplate(src);
  const render = (data: unknown): string => execute(nodes, data);
  return {
    render,
    expandMap(data) {
      return parseKeyValueLines(render(data));
    },
  };
}

/**
 * Reads template output: one `key=value` per line, surrounding whitespace ignored, blank lines
 * skipped; a line without `=` is an error. Later lines win.
 */
export function parseKeyValueLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const item = line.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) {
      throw new TemplateError(
        `line "${item}" of the expanded template has no value; write key=value`,
      );
    }
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}
