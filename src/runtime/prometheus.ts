/**
 * Prometheus metrics in the text exposition format 0.0.4: counters, gauges and histograms with
 * fixed label names, kept in a registry that renders them at scrape time. Small on purpose: a
 * controller needs a handful of metric families, not a client library's worth of modules.
 */

/** The Content-Type of `Registry.expose()`'s text. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One value per declared label name. */
export type LabelValues<L extends string> = Readonly<Record<L, string | number>>;

/** The arguments that name a series: none for a metric without labels, else its label values. */
export type SeriesArgs<L extends string> = [L] extends [never] ? [] : [labels: LabelValues<L>];

/** Sets a series' value, from a metric's `collect` hook at scrape time. */
export type Report<L extends string> = (...args: [...SeriesArgs<L>, value: number]) => void;

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface CollectedOptions<L extends string> extends MetricOptions<L> {
  /**
   * Run at every scrape before the metric is written; it reports current values with `report`
   * (a gauge's level, a counter's total kept elsewhere, such as the process's CPU time).
   */
  collect?: (report: Report<L>) => void;
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, increasing; `+Inf` is always added. */
  buckets: readonly number[];
}

/** A number as Prometheus writes it: `+Inf`, `-Inf`, `NaN`, integers without a fraction. */
export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v); // NaN, 1e-8, 42, 0.25 (and -0 as 0)
}

/** A label value inside double quotes: backslash, double quote and newline escaped. */
export function escapeLabelValue(s: string): string {
  return s.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** A HELP text: backslash and newline escaped. */
export function escapeHelp(s: string): string {
  return s.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

interface Series {
  /** `name="value",…` in the declared order, escaped; empty without labels. */
  labels: string;
}

abstract class Metric<L extends string, S extends Series> {
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  protected readonly series = new Map<string, S>();

  constructor(opts: MetricOptions<L>, reserved: readonly string[] = []) {
    if (!METRIC_NAME.test(opts.name)) {
      throw new Error(`metric name "${opts.name}" is not a Prometheus metric name`);
    }
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    const seen = new Set<string>();
    for (const l of this.labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__') || reserved.includes(l) || seen.has(l)) {
        throw new Error(`metric ${this.name}: "${l}" cannot be a label name here`);
      }
      seen.add(l);
    }
  }

  /** Called at the end of a subclass' constructor: a metric without labels is exposed at once. */
  protected init(): void {
    if (this.labelNames.length === 0) this.series.set('', this.newSeries(''));
  }

  protected abstract newSeries(labels: string): S;

  /** The series of `args[0]` (label values) or the only one of a metric without labels. */
  protected at(args: readonly unknown[]): S {
    const given = args[0];
    const values =
      typeof given === 'object' && given !== null
        ? (given as Record<string, string | number | undefined>)
        : undefined;
    for (const k of Object.keys(values ?? {})) {
      if (!(this.labelNames as readonly string[]).includes(k)) {
        throw new Error(
          `metric ${this.name} has no label "${k}" (its labels: ${this.labelNames.join(', ') || 'none'})`,
        );
      }
    }
    if (this.labelNames.length === 0) return this.series.get('')!;
    if (!values) {
      throw new Error(`metric ${this.name}: label values for ${this.labelNames.join(', ')} needed`);
    }
    let labels = '';
    for (const l of this.labelNames) {
      const v = values[l];
      if (v === undefined) throw new Error(`metric ${this.name}: label "${l}" has no value`);
      labels += `${labels ? ',' : ''}${l}="${escapeLabelValue(String(v))}"`;
    }
    let s = this.series.get(labels);
    if (!s) this.series.set(labels, (s = this.newSeries(labels)));
    return s;
  }

  /** Appends this metric's HELP, TYPE and sample lines to `out`. */
  write(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const s of this.series.values()) this.writeSeries(out, s);
  }

  protected abstract writeSeries(out: string[], s: S): void;
}

interface ValueSeries extends Series {
  value: number;
}

/** Counters and gauges: one number per series. */
abstract class ValueMetric<L extends string> extends Metric<L, ValueSeries> {
  private readonly collectHook: ((report: Report<L>) => void) | undefined;

  constructor(opts: CollectedOptions<L>) {
    super(opts);
    this.collectHook = opts.collect;
    this.init();
  }

  protected newSeries(labels: string): ValueSeries {
    return { labels, value: 0 };
  }

  protected put(args: readonly unknown[]): void {
    const value = args[args.length - 1];
    if (typeof value !== 'number') throw new Error(`metric ${this.name}: value must be a number`);
    this.at(args).value = value;
  }

  protected add(args: readonly unknown[], sign: 1 | -1): void {
    const last = args[args.length - 1];
    const by = typeof last === 'number' ? last : 1;
    if (this.type === 'counter' && !(by >= 0)) {
      throw new Error(`metric ${this.name}: a counter cannot be increased by ${by}`);
    }
    this.at(args).value += sign * by;
  }

  override write(out: string[]): void {
    this.collectHook?.((...args: unknown[]) => this.put(args));
    super.write(out);
  }

  protected writeSeries(out: string[], s: ValueSeries): void {
    out.push(`${this.name}${s.labels ? `{${s.labels}}` : ''} ${formatValue(s.value)}`);
  }
}

export class Counter<L extends string = never> extends ValueMetric<L> {
  readonly type = 'counter';

  /** Adds `value` (default 1, never negative) to a series. */
  inc(...args: [...SeriesArgs<L>, value?: number]): void {
    this.add(args, 1);
  }
}

export class Gauge<L extends string = never> extends ValueMetric<L> {
  readonly type = 'gauge';

  set(...args: [...SeriesArgs<L>, value: number]): void {
    this.put(args);
  }

  inc(...args: [...SeriesArgs<L>, value?: number]): void {
    this.add(args, 1);
  }

  dec(...args: [...SeriesArgs<L>, value?: number]): void {
    this.add(args, -1);
  }
}

interface HistogramSeries extends Series {
  /** Observations per bucket, not cumulative; the last one is +Inf's own. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Metric<L, HistogramSeries> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(opts: HistogramOptions<L>) {
    const buckets = opts.buckets.filter((b) => b !== Infinity);
    super(opts, ['le']);
    buckets.forEach((b, i) => {
      if (Number.isNaN(b) || (i > 0 && b <= buckets[i - 1]!)) {
        throw new Error(`metric ${this.name}: buckets must increase (${buckets.join(', ')})`);
      }
    });
    this.buckets = buckets;
    this.init();
  }

  protected newSeries(labels: string): HistogramSeries {
    return { labels, counts: this.buckets.map(() => 0).concat(0), sum: 0, count: 0 };
  }

  observe(...args: [...SeriesArgs<L>, value: number]): void {
    const value = args[args.length - 1] as number;
    const s = this.at(args);
    let i = 0;
    while (i < this.buckets.length && !(value <= this.buckets[i]!)) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  /** Starts timing; the returned function observes the seconds elapsed and returns them. */
  startTimer(...args: SeriesArgs<L>): () => number {
    const start = process.hrtime.bigint();
    return () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      this.observe(...([...args, seconds] as [...SeriesArgs<L>, number]));
      return seconds;
    };
  }

  protected writeSeries(out: string[], s: HistogramSeries): void {
    const sep = s.labels ? `${s.labels},` : '';
    let cumulative = 0;
    this.buckets.forEach((b, i) => {
      cumulative += s.counts[i]!;
      out.push(`${this.name}_bucket{${sep}le="${formatValue(b)}"} ${cumulative}`);
    });
    out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
    const labels = s.labels ? `{${s.labels}}` : '';
    out.push(`${this.name}_sum${labels} ${formatValue(s.sum)}`);
    out.push(`${this.name}_count${labels} ${s.count}`);
  }
}

interface Family {
  readonly name: string;
  write(out: string[]): void;
}

/** The metrics one process (or one manager) exposes, in the order they were made. */
export class Registry {
  readonly contentType = PROMETHEUS_CONTENT_TYPE;
  private readonly metrics = new Map<string, Family>();

  counter<L extends string = never>(opts: CollectedOptions<L>): Counter<L> {
    return this.add(new Counter<L>(opts));
  }

  gauge<L extends string = never>(opts: CollectedOptions<L>): Gauge<L> {
    return this.add(new Gauge<L>(opts));
  }

  histogram<L extends string = never>(opts: HistogramOptions<L>): Histogram<L> {
    return this.add(new Histogram<L>(opts));
  }

  /** Every metric in the text format, collect hooks run first. */
  expose(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) m.write(out);
    return out.length ? `${out.join('\n')}\n` : '';
  }

  private add<M extends Family>(m: M): M {
    if (this.metrics.has(m.name)) {
      throw new Error(`metric ${m.name} is already registered in this registry`);
    }
    this.metrics.set(m.name, m);
    return m;
  }
}
