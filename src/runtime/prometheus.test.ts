import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  PROMETHEUS_CONTENT_TYPE,
  Registry,
  escapeHelp,
  escapeLabelValue,
  formatValue,
} from './prometheus.js';
import { RuntimeMetrics } from './metrics.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)/;

function unescape(s: string): string {
  return s.replace(/\\([\\"n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseNumber(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  assert.match(s, /^-?\d+(\.\d+)?(e[+-]\d+)?$/, `a number: ${s}`);
  return Number(s);
}

/**
 * Reads the text format back as a scraper does, strictly: every sample belongs to the family
 * declared by the HELP and TYPE lines before it, families appear once, label values are quoted
 * and escaped, histograms have cumulative buckets ending in +Inf that equal their _count.
 */
function parse(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'the text ends with a newline');
  const families = new Map<string, Family>();
  let current: (Family & { name: string }) | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram)$`).exec(line);
    if (help) {
      assert.ok(!families.has(help[1]!), `${help[1]} appears once`);
      current = {
        name: help[1]!,
        help: help[2]!.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c)),
        type: '',
        samples: [],
      };
      families.set(current.name, current);
      continue;
    }
    if (type) {
      assert.ok(current && type[1] === current.name, `TYPE of ${type[1]} follows its HELP`);
      current.type = type[2]!;
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    assert.ok(current?.type, `${line}: a sample after its TYPE`);
    const suffixes = current.type === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
    assert.ok(
      suffixes.some((s) => m[1] === current!.name + s),
      `${m[1]} belongs to ${current.name}`,
    );
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest) {
      const l = LABEL.exec(rest);
      assert.ok(l, `label pairs: ${m[2]}`);
      assert.ok(!(l[1]! in labels), `${l[1]} once`);
      labels[l[1]!] = unescape(l[2]!);
      rest = rest.slice(l[0].length);
    }
    current.samples.push({ name: m[1]!, labels, value: parseNumber(m[3]!) });
  }
  for (const [name, f] of families) {
    if (f.type !== 'histogram') continue;
    const bySeries = new Map<string, Sample[]>();
    for (const s of f.samples) {
      const { le: _le, ...rest } = s.labels;
      const k = JSON.stringify(rest);
      bySeries.set(k, [...(bySeries.get(k) ?? []), s]);
    }
    for (const samples of bySeries.values()) {
      const buckets = samples.filter((s) => s.name === `${name}_bucket`);
      const bounds = buckets.map((b) => parseNumber(b.labels.le!));
      assert.equal(bounds.at(-1), Infinity, `${name} ends with +Inf`);
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(bounds[i]! > bounds[i - 1]!, `${name} bounds increase`);
        assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${name} buckets are cumulative`);
      }
      const count = samples.find((s) => s.name === `${name}_count`);
      assert.equal(count?.value, buckets.at(-1)!.value, `${name}: +Inf equals _count`);
      assert.ok(
        samples.some((s) => s.name === `${name}_sum`),
        `${name} has _sum`,
      );
    }
  }
  return families;
}

describe('Prometheus text format', () => {
  it('writes numbers as Prometheus does', () => {
    for (const [v, s] of [
      [0, '0'],
      [42, '42'],
      [-3, '-3'],
      [0.25, '0.25'],
      [1e-8, '1e-8'],
      [1e21, '1e+21'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
      [NaN, 'NaN'],
    ] as const) {
      assert.equal(formatValue(v), s);
      if (!Number.isNaN(v)) assert.equal(parseNumber(s), v);
    }
  });

  it('escapes label values and help texts', () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    assert.equal(escapeHelp('a\\b"c\nd'), 'a\\\\b"c\\nd');
    const r = new Registry();
    r.gauge({ name: 'g', help: 'one\\two\nthree "q"', labelNames: ['v'] }).set(
      { v: 'C:\\dir\n"quoted"' },
      1,
    );
    const text = r.expose();
    assert.ok(text.includes('# HELP g one\\\\two\\nthree "q"\n'), text);
    assert.ok(text.includes('g{v="C:\\\\dir\\n\\"quoted\\""} 1\n'), text);
    const g = parse(text).get('g')!;
    assert.equal(g.help, 'one\\two\nthree "q"');
    assert.deepEqual(g.samples[0]!.labels, { v: 'C:\\dir\n"quoted"' });
  });

  it('counts and sets with labels in their declared order', () => {
    const r = new Registry();
    const c = r.counter({ name: 'c_total', help: 'c', labelNames: ['b', 'a'] });
    c.inc({ a: '1', b: '2' });
    c.inc({ a: '1', b: '2' }, 2.5);
    c.inc({ b: 'x', a: 3 });
    const g = r.gauge({ name: 'g', help: 'g' });
    g.set(5);
    g.inc();
    g.dec(3);
    assert.equal(r.contentType, PROMETHEUS_CONTENT_TYPE);
    assert.equal(
      r.expose(),
      [
        '# HELP c_total c',
        '# TYPE c_total counter',
        'c_total{b="2",a="1"} 3.5',
        'c_total{b="x",a="3"} 1',
        '# HELP g g',
        '# TYPE g gauge',
        'g 3',
        '',
      ].join('\n'),
    );
    parse(r.expose());
  });

  it('exposes a metric without labels at 0 before its first use, one with labels without samples', () => {
    const r = new Registry();
    r.counter({ name: 'plain_total', help: 'p' });
    r.counter({ name: 'labelled_total', help: 'l', labelNames: ['k'] });
    r.histogram({ name: 'h', help: 'h', buckets: [1] });
    const f = parse(r.expose());
    assert.deepEqual(f.get('plain_total')!.samples, [
      { name: 'plain_total', labels: {}, value: 0 },
    ]);
    assert.deepEqual(f.get('labelled_total')!.samples, []);
    assert.deepEqual(
      f.get('h')!.samples.map((s) => s.value),
      [0, 0, 0, 0],
    );
  });

  it('writes histograms with cumulative buckets, +Inf, _sum and _count', () => {
    const r = new Registry();
    const h = r.histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['q'],
      buckets: [1e-8, 0.5, 1, 10],
    });
    for (const v of [1e-9, 1e-8, 0.3, 0.5, 7, 100, Infinity]) h.observe({ q: 'a' }, v);
    h.observe({ q: 'b' }, 0.75);
    const text = r.expose();
    assert.ok(
      text.includes(
        [
          'h_seconds_bucket{q="a",le="1e-8"} 2',
          'h_seconds_bucket{q="a",le="0.5"} 4',
          'h_seconds_bucket{q="a",le="1"} 4',
          'h_seconds_bucket{q="a",le="10"} 5',
          'h_seconds_bucket{q="a",le="+Inf"} 7',
          'h_seconds_sum{q="a"} +Inf',
          'h_seconds_count{q="a"} 7',
          'h_seconds_bucket{q="b",le="1e-8"} 0',
          'h_seconds_bucket{q="b",le="0.5"} 0',
          'h_seconds_bucket{q="b",le="1"} 1',
        ].join('\n'),
      ),
      text,
    );
    parse(text);
  });

  it('times with startTimer', () => {
    const r = new Registry();
    const h = r.histogram({ name: 't', help: 't', labelNames: ['c'], buckets: [3600] });
    const end = h.startTimer({ c: 'x' });
    const seconds = end();
    assert.ok(seconds >= 0 && seconds < 3600);
    const f = parse(r.expose()).get('t')!;
    assert.equal(f.samples.find((s) => s.name === 't_count')!.value, 1);
    assert.equal(f.samples.find((s) => s.name === 't_sum')!.value, seconds);
  });

  it('runs collect hooks at every scrape', () => {
    const r = new Registry();
    let depth = 1;
    r.gauge({
      name: 'depth',
      help: 'd',
      labelNames: ['queue'],
      collect: (report) => report({ queue: 'q' }, depth),
    });
    let total = 0.5;
    r.counter({ name: 'cpu_seconds_total', help: 'c', collect: (report) => report(total) });
    assert.match(r.expose(), /^depth\{queue="q"\} 1$/m);
    depth = NaN;
    total = 1e-8;
    const text = r.expose();
    assert.match(text, /^depth\{queue="q"\} NaN$/m);
    assert.match(text, /^cpu_seconds_total 1e-8$/m);
    parse(text);
  });

  it('refuses a label it does not declare, a missing one, a second metric of a name, bad names', () => {
    const r = new Registry();
    const c = r.counter({ name: 'c_total', help: 'c', labelNames: ['kind'] });
    assert.throws(
      () => c.inc({ kind: 'a', typo: 'b' } as unknown as { kind: string }),
      /metric c_total has no label "typo"/,
    );
    assert.throws(() => c.inc({} as { kind: string }), /metric c_total: label "kind" has no value/);
    assert.throws(
      () => (c as unknown as { inc(n: number): void }).inc(1),
      /metric c_total: label values for kind needed/,
    );
    const plain = r.counter({ name: 'plain_total', help: 'p' });
    assert.throws(
      () => (plain as unknown as { inc(l: object): void }).inc({ kind: 'a' }),
      /metric plain_total has no label "kind" \(its labels: none\)/,
    );
    assert.throws(() => c.inc({ kind: 'a' }, -1), /c_total: a counter cannot be increased by -1/);
    assert.throws(
      () => r.gauge({ name: 'c_total', help: 'again' }),
      /metric c_total is already registered/,
    );
    assert.throws(() => r.gauge({ name: 'bad-name', help: 'x' }), /not a Prometheus metric name/);
    assert.throws(
      () => r.gauge({ name: 'g', help: 'x', labelNames: ['__x'] }),
      /"__x" cannot be a label/,
    );
    assert.throws(
      () => r.histogram({ name: 'h', help: 'x', labelNames: ['le'], buckets: [1] }),
      /"le" cannot be a label/,
    );
    assert.throws(
      () => r.histogram({ name: 'h', help: 'x', buckets: [2, 1] }),
      /buckets must increase/,
    );
    // A refused metric takes no name.
    r.gauge({ name: 'g', help: 'x' });
  });
});

describe('RuntimeMetrics', () => {
  it('exposes the runtime and process metrics in a format a scraper reads', () => {
    const m = new RuntimeMetrics();
    m.reconcileTotal.inc({ controller: 'c', result: 'success' });
    m.reconcileTime.observe({ controller: 'c' }, 0.02);
    m.queueLatency.observe({ name: 'c', controller: 'c' }, 1e-7);
    m.leader.set({ name: 'lease' }, 1);
    const f = parse(m.registry.expose());
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_cpu_system_seconds_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_virtual_memory_bytes',
      'process_heap_bytes',
      'process_start_time_seconds',
      'process_open_fds',
      'process_max_fds',
      'nodejs_heap_size_total_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_external_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_active_resources_total',
    ]) {
      const s = f.get(name)?.samples;
      assert.equal(s?.length, 1, `${name} has one sample`);
      assert.ok(s[0]!.value >= 0 && Number.isFinite(s[0]!.value), `${name} = ${s[0]!.value}`);
    }
    assert.equal(f.get('process_cpu_user_seconds_total')!.type, 'counter');
    assert.ok(f.get('process_resident_memory_bytes')!.samples[0]!.value > 1e6);
    assert.ok(f.get('process_open_fds')!.samples[0]!.value > 2);
    const start = f.get('process_start_time_seconds')!.samples[0]!.value;
    assert.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) < 2);
    assert.deepEqual(f.get('nodejs_version_info')!.samples[0]!.labels, {
      version: process.version,
      major: process.versions.node.split('.')[0],
      minor: process.versions.node.split('.')[1],
      patch: process.versions.node.split('.')[2],
    });
    const spaces = f.get('nodejs_heap_space_size_used_bytes')!.samples.map((s) => s.labels.space);
    assert.ok(spaces.includes('old') && spaces.includes('new'), spaces.join());
    assert.equal(
      f
        .get('workqueue_queue_duration_seconds')!
        .samples.find((s) => s.name.endsWith('_bucket') && s.labels.le === '1e-7')!.value,
      1,
    );
    assert.deepEqual(f.get('controller_runtime_reconcile_total')!.samples, [
      {
        name: 'controller_runtime_reconcile_total',
        labels: { controller: 'c', result: 'success' },
        value: 1,
      },
    ]);
  });

  it('reports how late the event loop ran its once-a-second tick', async () => {
    const m = new RuntimeMetrics();
    // The loop blocked for 1.5 s (asleep, not spinning): the tick due within that time runs at
    // least 0.5 s late, whenever the timer started; the next turn of the loop runs it.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
    await new Promise((r) => setTimeout(r, 20));
    const lag = parse(m.registry.expose()).get('nodejs_eventloop_lag_seconds')!.samples[0]!.value;
    assert.ok(lag >= 0.45, `lag ${lag} s`);
  });

  it('loads no built-in module beyond what importing the runtime did, neither made nor scraped', () => {
    // A fresh process: this test runner has loaded modules of its own.
    const runtime = new URL('./index.js', import.meta.url).href;
    const script =
      `const { RuntimeMetrics } = await import(${JSON.stringify(runtime)});` +
      'const loaded = new Set(process.moduleLoadList);' +
      'new RuntimeMetrics().registry.expose();' +
      'const added = process.moduleLoadList.filter((m) => !loaded.has(m));' +
      'console.log(JSON.stringify({ all: process.moduleLoadList, added }));';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const { all, added } = JSON.parse(r.stdout) as { all: string[]; added: string[] };
    assert.deepEqual(
      added.filter((m) => m.startsWith('NativeModule')),
      [],
    );
    for (const m of ['perf_hooks', 'zlib', 'cluster']) {
      assert.ok(!all.includes(`NativeModule ${m}`), `${m} was loaded`);
    }
    assert.ok(all.includes('NativeModule v8'), 'the list names loaded modules');
  });

  it('leaves the process metrics out when asked and takes a registry of its own per manager', () => {
    const a = new RuntimeMetrics({ processMetrics: false });
    const b = new RuntimeMetrics({ processMetrics: false });
    a.leader.set({ name: 'x' }, 1);
    assert.doesNotMatch(a.registry.expose(), /process_|nodejs_/);
    assert.doesNotMatch(b.registry.expose(), /leader_election_master_status\{/);
  });
});
