/** Structured JSON logs, one object per line: {ts, level, logger, msg, ...fields}. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` (and a longer logger name, if given) to every line. */
  child(fields: LogFields & { logger?: string }): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  name?: string;
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
  clock?: () => Date;
}

function plain(v: unknown): unknown {
  if (v instanceof Error) {
    const e = v as Error & { kind?: string };
    return e.kind ? { kind: e.kind, message: e.message } : e.message;
  }
  return v;
}

class JsonLogger implements Logger {
  constructor(
    private readonly opts: Required<LoggerOptions>,
    private readonly fields: LogFields,
  ) {}

  private emit(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < RANK[this.opts.level]) return;
    const rec: LogFields = { ts: this.opts.clock().toISOString(), level, logger: this.opts.name };
    rec.msg = msg;
    for (const [k, v] of Object.entries(this.fields)) rec[k] = plain(v);
    for (const [k, v] of Object.entries(fields ?? {})) rec[k] = plain(v);
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch {
      line = JSON.stringify({ ts: rec.ts, level, logger: this.opts.name, msg });
    }
    this.opts.write(line + '\n');
  }

  debug(msg: string, fields?: LogFields): void {
    this.emit('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.emit('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.emit('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.emit('error', msg, fields);
  }
  child(fields: LogFields & { logger?: string }): Logger {
    const { logger, ...rest } = fields;
    const name = logger ? `${this.opts.name}/${logger}` : this.opts.name;
    return new JsonLogger({ ...this.opts, name }, { ...this.fields, ...rest });
  }
}

export function parseLogLevel(v: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : fallback;
}

/** A JSON logger; the level defaults to HWE_LOG_LEVEL or info. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return new JsonLogger(
    {
      level: opts.level ?? parseLogLevel(process.env.HWE_LOG_LEVEL),
      name: opts.name ?? 'hwe',
      write: opts.write ?? ((l) => process.stderr.write(l)),
      clock: opts.clock ?? (() => new Date()),
    },
    {},
  );
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => undefined });
