/**
 * The nfd-worker loop: load the configuration, discover, publish the NodeFeature when it changed,
 * then sleep until `core.sleepInterval` passes or an input (config file, features.d, custom.d)
 * changes. A configuration that fails to load at start stops the worker; one that fails on reload
 * is reported and the last good one stays in force.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildConfig,
  ConfigError,
  type ConfigOverlay,
  defaultConfig,
  type KlogOptions,
  type FlagOverrides,
  mergeOverlay,
  parseConfigText,
  resolveSourceList,
  type WorkerConfig,
} from './config.js';
import { buildNodeFeature, discover, type NodeFeatureObject, sourceNames } from './discover.js';
import type { OwnerReference } from '../../runtime/objects.js';
import type { HostPaths } from './hostfs.js';
import type { PublishOutcome } from './publish.js';
import { ChangeWatcher } from './watch.js';
import { boundedMessage } from '../../runtime/quote.js';
import { isoTimestamp } from '../../runtime/clock.js';

export interface LoadedConfig {
  config: WorkerConfig;
  labelFilter?: (name: string) => boolean;
}

/** Reads the file (a missing file means defaults), overlays `-options`, then the flags. */
export async function loadConfig(a: {
  configFile?: string;
  optionsText?: string;
  flags?: FlagOverrides;
}): Promise<LoadedConfig> {
  let fileOverlay: ConfigOverlay = {};
  if (a.configFile) {
    let text: string | undefined;
    try {
      text = readFileSync(a.configFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new ConfigError('', `cannot read: ${(e as Error).message}`, a.configFile);
    }
    if (text !== undefined) fileOverlay = await parseConfigText(text, a.configFile);
  }
  const optionsOverlay = a.optionsText ? await parseConfigText(a.optionsText, '-options') : {};
  const config = buildConfig(mergeOverlay(fileOverlay, optionsOverlay), a.flags);
  const names = sourceNames();
  resolveSourceList(config.core.featureSources, names, 'core.featureSources');
  resolveSourceList(config.core.labelSources, names, 'core.labelSources');
  if (config.sources.custom.length) {
    const { checkCustomRules } = await import('./sources/custom.js');
    await checkCustomRules(config.sources.custom, 'sources.custom');
  }
  const out: LoadedConfig = { config };
  if (config.core.labelWhiteList) {
    const { RE2JS } = await import('re2js');
    try {
      const re = RE2JS.compile(config.core.labelWhiteList);
      out.labelFilter = (name) => re.test(name);
    } catch (e) {
      throw new ConfigError(
        'core.labelWhiteList',
        `invalid regular expression (RE2 syntax): ${boundedMessage((e as Error).message)}`,
      );
    }
  }
  return out;
}

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Detail shown at verbosity `level` or higher (klog `-v`). */
  debug(level: number, msg: string): void;
  /** Applies `core.klog` (on start and on every reload); `verbosity` is `-v` from the command line. */
  configure(klog: KlogOptions, verbosity?: number): void;
}

const SEVERITY = { I: 0, W: 1, E: 2 } as const;

/**
 * klog's options mapped onto a small logger: `v`, `skipHeaders`, `logtostderr`, `logFile` /
 * `logDir` (file `nfd-worker.log`), `alsologtostderr` and `stderrthreshold` (0 info, 1 warning,
 * 2 error: what still goes to stderr when logging to a file). The other klog options are
 * accepted and have no effect here.
 */
export function stderrLogger(out: NodeJS.WritableStream, verbosity = 0): Logger {
  let v = verbosity;
  let klog: KlogOptions = defaultConfig().core.klog;
  const line = (sev: keyof typeof SEVERITY, msg: string) => {
    const text = `${klog.skipHeaders ? '' : `${sev}${isoTimestamp(Date.now())} nfd-worker: `}${msg}\n`;
    const file = klog.logFile || (klog.logDir ? join(klog.logDir, 'nfd-worker.log') : '');
    if (klog.logtostderr || !file) {
      out.write(text);
      return;
    }
    try {
      appendFileSync(file, text);
    } catch {
      out.write(text);
      return;
    }
    if (klog.alsologtostderr || SEVERITY[sev] >= klog.stderrthreshold) out.write(text);
  };
  return {
    info: (m) => line('I', m),
    warn: (m) => line('W', m),
    error: (m) => line('E', m),
    debug: (level, m) => {
      if (v >= level) line('I', m);
    },
    configure: (k, cliVerbosity) => {
      klog = k;
      v = cliVerbosity ?? k.v;
    },
  };
}

export interface WorkerOptions {
  configFile?: string;
  optionsText?: string;
  flags: FlagOverrides;
  /** `-v` given on the command line wins over `core.klog.v`. */
  verbosity?: number;
  oneshot: boolean;
  paths: HostPaths;
  nodeName: string;
  namespace: string;
  podName?: string;
  podUid?: string;
  output?: 'json' | 'yaml';
  stdout: NodeJS.WritableStream;
  log: Logger;
  /** Creates the client on first publish; the Kubernetes client is only loaded when needed. */
  publish: (nf: NodeFeatureObject) => Promise<PublishOutcome>;
  signal?: AbortSignal;
  /** Called after each pass (tests and benchmarks observe the loop through it). */
  onPass?: (nf: NodeFeatureObject, outcome: PublishOutcome | 'failed' | 'not-published') => void;
  /** First delay before retrying a failed publish; doubles up to a minute. Default 1s. */
  retryDelayMs?: number;
}

const MAX_RETRY_DELAY_MS = 60_000;

function ownerRefs(o: WorkerOptions, config: WorkerConfig): OwnerReference[] {
  if (config.core.noOwnerRefs || !o.podName || !o.podUid) return [];
  return [{ apiVersion: 'v1', kind: 'Pod', name: o.podName, uid: o.podUid }];
}

async function print(o: WorkerOptions, nf: NodeFeatureObject): Promise<void> {
  if (o.output === 'json') o.stdout.write(JSON.stringify(nf, null, 2) + '\n');
  else if (o.output === 'yaml') {
    const { stringify } = await import('yaml');
    o.stdout.write(stringify(nf));
  }
}

/** Runs the worker. Returns the process exit code. */
export async function runWorker(o: WorkerOptions): Promise<number> {
  const { log } = o;
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(o);
  } catch (e) {
    if (e instanceof ConfigError) {
      log.error(`configuration: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const applyVerbosity = () => log.configure(loaded.config.core.klog, o.verbosity);
  applyVerbosity();
  const watcher = o.oneshot
    ? undefined
    : new ChangeWatcher({
        configFile: o.configFile,
        dirs: [o.paths.featuresDir, o.paths.customDir],
      });
  const firstRetryDelay = o.retryDelayMs ?? 1000;
  let retryDelay = firstRetryDelay;
  let warned = new Set<string>();
  let lastNotes = '';
  try {
    while (true) {
      const { config, labelFilter } = loaded;
      const result = await discover({ paths: o.paths, config, nodeName: o.nodeName, labelFilter });
      // Each warning once while it lasts: a pass every minute must not repeat them all.
      const warnings = new Set(result.warnings.map((w) => `${w.source}: ${w.message}`));
      for (const w of warnings) if (!warned.has(w)) log.warn(w);
      warned = warnings;
      // Notes say which way a feature was found; they rarely change, so log them when they do.
      const notes = result.notes.map((n) => `${n.source}: ${n.message}`).join('\n');
      if (notes !== lastNotes) for (const n of notes.split('\n')) if (n) log.info(n);
      lastNotes = notes;
      const nf = buildNodeFeature({
        nodeName: o.nodeName,
        namespace: o.namespace,
        result,
        podUid: o.podUid,
        ownerReferences: ownerRefs(o, config),
      });
      await print(o, nf);
      let outcome: PublishOutcome | 'failed' | 'not-published' = 'not-published';
      if (!config.core.noPublish) {
        try {
          outcome = await o.publish(nf);
          log.debug(
            outcome === 'unchanged' ? 2 : 0,
            `NodeFeature ${o.namespace}/${o.nodeName}: ${outcome}`,
          );
          retryDelay = firstRetryDelay;
        } catch (e) {
          log.error(`publishing NodeFeature ${o.namespace}/${o.nodeName}: ${(e as Error).message}`);
          if (o.oneshot) return 1;
          outcome = 'failed';
        }
      }
      o.onPass?.(nf, outcome);
      if (o.oneshot || !watcher || o.signal?.aborted) return 0;

      watcher.refresh();
      // A failed publish is retried with backoff, sooner than the sleep interval (and even when
      // there is none), so that a node is not left without its features after an apiserver hiccup.
      let wait = config.core.sleepInterval;
      if (outcome === 'failed') {
        wait = wait > 0 ? Math.min(wait, retryDelay) : retryDelay;
        retryDelay = Math.min(retryDelay * 2, MAX_RETRY_DELAY_MS);
      }
      const changed = await watcher.next(wait, o.signal);
      if (o.signal?.aborted) return 0;
      if (changed.has('config')) {
        try {
          loaded = await loadConfig(o);
          applyVerbosity();
          log.info('configuration reloaded');
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          log.error(`configuration not reloaded, keeping the last good one: ${e.message}`);
        }
      }
    }
  } finally {
    watcher?.close();
  }
}
