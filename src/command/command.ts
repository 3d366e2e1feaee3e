/**
 * A small command-line framework: nested commands, typed flags, generated help.
 *
 * Flags are accepted in both GNU (`--sleep-interval=10s`) and Go `flag` package
 * spellings (`-sleep-interval 10s`, `-oneshot`), because the upstream programs
 * hwe stands in for are driven with single-dash flags in existing manifests.
 */
import { QUOTE_MAX, quoteValue } from '../runtime/quote.js';

export type FlagType = 'string' | 'boolean' | 'number' | 'list';

export interface FlagSpec {
  /** Long name, without dashes, e.g. `sleep-interval`. */
  name: string;
  /** Other accepted names, e.g. `o` for `output`. */
  aliases?: string[];
  type: FlagType;
  help: string;
  default?: string | boolean | number | string[];
  /** Shown in help instead of the type, e.g. `DIR`. */
  placeholder?: string;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export interface CommandContext {
  flags: FlagValues;
  args: string[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** The full command path, e.g. `hwe cluster up`, for messages. */
  path: string;
}

export interface Command {
  name: string;
  summary: string;
  /** Longer text for `--help`. */
  description?: string;
  /** Positional arguments as shown in usage, e.g. `FILE...`. */
  usage?: string;
  flags?: FlagSpec[];
  subcommands?: Command[];
  /** Returns the process exit code. */
  run?: (ctx: CommandContext) => Promise<number>;
  /**
   * Loads the full command (flags, subcommands, run) when it is invoked. Lets a group list its
   * commands without importing them: every command then starts only with the code it needs.
   */
  load?: () => Promise<Command>;
}

/** A command known by name and summary, whose module is imported only when it runs. */
export function lazyCommand(name: string, summary: string, load: () => Promise<Command>): Command {
  return { name, summary, load };
}

/** A mistake on the command line; exit code 2, message names the flag or argument. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const HELP_FLAG: FlagSpec = {
  name: 'help',
  aliases: ['h'],
  type: 'boolean',
  help: 'show this help',
};

function findFlag(specs: FlagSpec[], name: string): FlagSpec | undefined {
  return specs.find((f) => f.name === name || f.aliases?.includes(name));
}

function parseBool(flag: string, v: string): boolean {
  if (/^(true|1|t|yes)$/i.test(v)) return true;
  if (/^(false|0|f|no)$/i.test(v)) return false;
  throw new UsageError(`flag --${flag}: ${quoteValue(v)} is not a boolean; use true or false`);
}

/** Parses argv against the flag specs. Positional arguments and flags may be interleaved. */
export function parseFlags(
  specs: FlagSpec[],
  argv: string[],
): { flags: FlagValues; args: string[] } {
  const all = [...specs, HELP_FLAG];
  const flags: FlagValues = {};
  for (const s of specs) {
    if (s.default !== undefined)
      flags[s.name] = Array.isArray(s.default) ? [...s.default] : s.default;
  }
  const args: string[] = [];
  const listSeen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    const spec = findFlag(all, name);
    if (!spec) {
      const given = a.slice(0, a.length - (inline === undefined ? 0 : inline.length + 1));
      throw new UsageError(
        `unknown flag ${given.length > QUOTE_MAX ? quoteValue(given) : given}; see --help`,
      );
    }
    if (spec.type === 'boolean') {
      flags[spec.name] = inline === undefined ? true : parseBool(spec.name, inline);
      continue;
    }
    if (inline === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${spec.name} needs a value`);
      inline = argv[++i]!;
    }
    if (spec.type === 'number') {
      const n = Number(inline);
      if (inline.trim() === '' || !Number.isFinite(n)) {
        throw new UsageError(`flag --${spec.name}: ${quoteValue(inline)} is not a number`);
      }
      flags[spec.name] = n;
    } else if (spec.type === 'list') {
      // A repeated list flag accumulates; the first use replaces the default.
      const prev = listSeen.has(spec.name) ? ((flags[spec.name] as string[]) ?? []) : [];
      listSeen.add(spec.name);
      flags[spec.name] = [...prev, ...inline.split(',').filter((s) => s !== '')];
    } else {
      flags[spec.name] = inline;
    }
  }
  return { flags, args };
}

function flagUsage(f: FlagSpec): string {
  const names = [f.name, ...(f.aliases ?? [])]
    .map((n) => (n.length === 1 ? `-${n}` : `--${n}`))
    .join(', ');
  const value = f.type === 'boolean' ? '' : ` ${f.placeholder ?? f.type.toUpperCase()}`;
  const def =
    f.default === undefined ||
    f.default === false ||
    (Array.isArray(f.default) && f.default.length === 0)
      ? ''
      : ` (default ${Array.isArray(f.default) ? f.default.join(',') : String(f.default)})`;
  return `  ${(names + value).padEnd(34)} ${f.help}${def}`;
}

function helpText(cmd: Command, path: string): string {
  const lines: string[] = [];
  lines.push(cmd.description ?? cmd.summary, '');
  const sub = cmd.subcommands ?? [];
  const usage = [path];
  if (sub.length) usage.push('<command>');
  if (cmd.flags?.length) usage.push('[flags]');
  if (cmd.usage) usage.push(cmd.usage);
  lines.push(`Usage: ${usage.join(' ')}`);
  if (sub.length) {
    lines.push('', 'Commands:');
    for (const s of sub) lines.push(`  ${s.name.padEnd(16)} ${s.summary}`);
    lines.push('', `Run "${path} <command> --help" for more about a command.`);
  }
  const flags = [...(cmd.flags ?? []), HELP_FLAG];
  lines.push('', 'Flags:', ...flags.map(flagUsage));
  if (flags.some((f) => f.name.length > 1)) {
    lines.push(
      '',
      'Flags may also be written with one dash (-flag, -flag=value), as Go programs accept them.',
    );
  }
  return lines.join('\n') + '\n';
}

export interface RunOptions {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

/** Finds the subcommand named by argv, parses its flags and runs it. Returns the exit code. */
export async function runCommand(
  root: Command,
  argv: string[],
  opts: RunOptions = {},
): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  let cmd = root.load ? await root.load() : root;
  let path = root.name;
  let rest = argv;
  while (cmd.subcommands?.length && rest.length && !rest[0]!.startsWith('-')) {
    const next = cmd.subcommands.find((s) => s.name === rest[0]);
    if (!next) {
      stderr.write(`${path}: unknown command "${rest[0]}"\n\n${helpText(cmd, path)}`);
      return 2;
    }
    cmd = next.load ? await next.load() : next;
    path = `${path} ${next.name}`;
    rest = rest.slice(1);
  }
  let parsed: { flags: FlagValues; args: string[] };
  try {
    parsed = parseFlags(cmd.flags ?? [], rest);
  } catch (e) {
    if (e instanceof UsageError) {
      stderr.write(`${path}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.flags.help || !cmd.run) {
    (parsed.flags.help ? stdout : stderr).write(helpText(cmd, path));
    return parsed.flags.help ? 0 : 2;
  }
  try {
    return await cmd.run({ ...parsed, stdout, stderr, env: opts.env ?? process.env, path });
  } catch (e) {
    if (e instanceof UsageError) {
      stderr.write(`${path}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** A flag's value when it has the type asked for (given, or its default), else undefined. */
export function stringFlag(ctx: Pick<CommandContext, 'flags'>, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function listFlag(ctx: Pick<CommandContext, 'flags'>, name: string): string[] | undefined {
  const v = ctx.flags[name];
  return Array.isArray(v) ? v : undefined;
}

export function booleanFlag(ctx: Pick<CommandContext, 'flags'>, name: string): boolean | undefined {
  const v = ctx.flags[name];
  return typeof v === 'boolean' ? v : undefined;
}

export function numberFlag(ctx: Pick<CommandContext, 'flags'>, name: string): number | undefined {
  const v = ctx.flags[name];
  return typeof v === 'number' ? v : undefined;
}
