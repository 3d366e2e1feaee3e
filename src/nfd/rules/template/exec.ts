import { type Arg, type Node, type Pipe, TemplateError } from './parse.js';
import { FUNCS, type TemplateFunc, formatValue, isTrue } from './funcs.js';
import { quoteValue } from '../../../api/decode.js';

/** Output longer than this (in characters) fails the template, like upstream's 64 KiB cap. */
export const MAX_OUTPUT = 64 * 1024;
/** Evaluation steps (nodes, commands, loop iterations) before a template is stopped. */
export const MAX_STEPS = 200_000;

// `{{break}}` and `{{continue}}` unwind to their range as exceptions; made once, never shown.
class BreakSignal extends Error {}
class ContinueSignal extends Error {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

interface State {
  out: string[];
  size: number;
  steps: number;
  vars: { name: string; value: unknown }[];
}

function step(s: State): void {
  if (++s.steps > MAX_STEPS) {
    throw new TemplateError(`template ran for more than ${MAX_STEPS} steps; simplify it`);
  }
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'map';
  return typeof v === 'number' ? 'number' : typeof v;
}

/** `.a.b` on a value: maps only; a missing key is an error (missingkey=error). */
function fieldChain(v: unknown, names: string[], from: string): unknown {
  let cur = v;
  let path = from;
  for (const n of names) {
    if (cur === null || cur === undefined) {
      throw new TemplateError(`nil pointer evaluating ${path}.${n}`);
    }
    if (typeof cur !== 'object' || Array.isArray(cur)) {
      throw new TemplateError(`can't evaluate field ${n} in type ${typeName(cur)}`);
    }
    if (!Object.prototype.hasOwnProperty.call(cur, n)) {
      throw new TemplateError(`map has no entry for key ${quoteValue(n)} (at ${path}.${n})`);
    }
    cur = (cur as Record<string, unknown>)[n];
    path = `${path}.${n}`;
  }
  return cur;
}

function lookupVar(s: State, name: string): unknown {
  for (let i = s.vars.length - 1; i >= 0; i--)
    if (s.vars[i]!.name === name) return s.vars[i]!.value;
  throw new TemplateError(`undefined variable: ${name}`);
}

function setVar(s: State, name: string, value: unknown): void {
  for (let i = s.vars.length - 1; i >= 0; i--) {
    if (s.vars[i]!.name === name) {
      s.vars[i]!.value = value;
      return;
    }
  }
  throw new TemplateError(`undefined variable: ${name}`);
}

function evalArg(s: State, dot: unknown, a: Arg): unknown {
  switch (a.t) {
    case 'dot':
      return dot;
    case 'field':
      return fieldChain(dot, a.names, '');
    case 'var':
      return fieldChain(lookupVar(s, a.name), a.names, a.name);
    case 'const':
      return a.value;
    case 'sub':
      return fieldChain(evalPipe(s, dot, a.pipe), a.names, '(…)');
    case 'ident':
      return callFunc(s, a.name, []);
  }
}

function callFunc(s: State, name: string, args: unknown[]): unknown {
  const f: TemplateFunc | undefined = FUNCS.get(name);
  if (!f) throw new TemplateError(`function ${quoteValue(name)} not defined`);
  try {
    return f(...args);
  } catch (e) {
    if (e instanceof TemplateError) throw new TemplateError(`error calling ${name}: ${e.message}`);
    throw e;
  }
}

function evalPipe(s: State, dot: unknown, pipe: Pipe): unknown {
  let value: unknown;
  let first = true;
  for (const cmd of pipe.cmds) {
    step(s);
    const head = cmd.args[0]!;
    if (head.t === 'ident') {
      // `and`/`or` stop at the first decisive argument, as Go 1.18+ does.
      if (head.name === 'and' || head.name === 'or') {
        const rest = cmd.args.slice(1);
        const total = rest.length + (first ? 0 : 1);
        if (total < 1)
          throw new TemplateError(`wrong number of args for ${head.name}: want at least 1 got 0`);
        let v: unknown;
        let done = false;
        for (const a of rest) {
          v = evalArg(s, dot, a);
          if (isTrue(v) === (head.name === 'or')) {
            done = true;
            break;
          }
        }
        if (!done && !first) v = value;
        value = v;
      } else {
        const args = cmd.args.slice(1).map((a) => evalArg(s, dot, a));
        if (!first) args.push(value);
        value = callFunc(s, head.name, args);
      }
    } else {
      if (cmd.args.length > 1 || !first) {
        throw new TemplateError(`can't give argument to non-function ${describeArg(head)}`);
      }
      value = evalArg(s, dot, head);
    }
    first = false;
  }
  if (pipe.decl.length === 1) {
    if (pipe.assign) setVar(s, pipe.decl[0]!, value);
    else s.vars.push({ name: pipe.decl[0]!, value });
  }
  return value;
}

function describeArg(a: Arg): string {
  switch (a.t) {
    case 'field':
      return '.' + a.names.join('.');
    case 'var':
      return [a.name, ...a.names].join('.');
    case 'const':
      return JSON.stringify(a.value);
    default:
      return a.t;
  }
}

function write(s: State, text: string): void {
  s.size += text.length;
  if (s.size > MAX_OUTPUT) {
    throw new TemplateError(`template output exceeds ${MAX_OUTPUT} characters`);
  }
  s.out.push(text);
}

function walk(s: State, dot: unknown, nodes: Node[]): void {
  for (const n of nodes) {
    step(s);
    switch (n.t) {
      case 'text':
        write(s, n.text);
        break;
      case 'action': {
        const v = evalPipe(s, dot, n.pipe);
        if (n.pipe.decl.length === 0) write(s, formatValue(v));
        break;
      }
      case 'if':
      case 'with': {
        const mark = s.vars.length;
        const v = evalPipe(s, dot, n.pipe);
        if (isTrue(v)) walk(s, n.t === 'with' ? v : dot, n.list);
        else if (n.else) walk(s, dot, n.else);
        s.vars.length = mark;
        break;
      }
      case 'range':
        runRange(s, dot, n);
        break;
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
    }
  }
}

function runRange(s: State, dot: unknown, n: Extract<Node, { t: 'range' }>): void {
  const mark = s.vars.length;
  const decl = n.pipe.decl;
  const pipe = { ...n.pipe, decl: [] };
  const v = evalPipe(s, dot, pipe);
  let entries: [unknown, unknown][];
  if (v === null || v === undefined) entries = [];
  else if (Array.isArray(v)) entries = v.map((e, i) => [i, e]);
  else if (typeof v === 'object') {
    entries = Object.keys(v)
      .sort()
      .map((k) => [k, (v as Record<string, unknown>)[k]]);
  } else if (typeof v === 'number' && Number.isInteger(v)) {
    entries = Array.from({ length: Math.max(0, Math.min(v, MAX_STEPS + 1)) }, (_, i) => [i, i]);
  } else throw new TemplateError(`range can't iterate over ${formatValue(v)}`);
  if (entries.length === 0) {
    if (n.else) walk(s, dot, n.else);
    s.vars.length = mark;
    return;
  }
  for (const [k, e] of entries) {
    step(s);
    const inner = s.vars.length;
    if (decl.length === 1) s.vars.push({ name: decl[0]!, value: e });
    else if (decl.length === 2) {
      s.vars.push({ name: decl[0]!, value: k }, { name: decl[1]!, value: e });
    }
    try {
      walk(s, e, n.list);
    } catch (sig) {
      if (sig === BREAK) {
        s.vars.length = inner;
        break;
      }
      if (sig !== CONTINUE) throw sig;
    }
    s.vars.length = inner;
  }
  s.vars.length = mark;
}

/** Runs a parsed template over `data` and returns its output. Throws TemplateError. */
export function execute(nodes: Node[], data: unknown): string {
  const s: State = { out: [], size: 0, steps: 0, vars: [{ name: '$', value: data }] };
  walk(s, data, nodes);
  return s.out.join('');
}
