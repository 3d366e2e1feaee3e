/**
 * nfd-worker configuration (`nfd-worker.conf`): the options of upstream's worker config with
 * their defaults, strict validation (an unknown or ill-typed key is an error naming the key),
 * and the order in which the file, `-options` and command-line flags override each other.
 */

import { DecodeError, decode, isMap } from '../../api/decode.js';
import { anyValue, arr, bool, int64, obj, opt, str, type Static } from '../../api/schema.js';
import { describeValue, fieldPath, quoteValue } from '../../runtime/quote.js';
import { parseGoDuration } from '../../runtime/duration.js';

/** Logger options upstream passes to klog; we keep them and map `v` onto our logger. */
export interface KlogOptions {
  addDirHeader: boolean;
  alsologtostderr: boolean;
  logBacktraceAt: string;
  logDir: string;
  logFile: string;
  logFileMaxSize: number;
  logtostderr: boolean;
  skipHeaders: boolean;
  skipLogHeaders: boolean;
  stderrthreshold: number;
  v: number;
  vmodule: string;
}

export interface WorkerConfig {
  core: {
    /** Milliseconds between discovery passes; non-positive means discover once. */
    sleepInterval: number;
    /** Sources whose features are discovered and published (`all`, names, `-name`). */
    featureSources: string[];
    /** Sources that produce labels (`core.sources` is the older name of this list). */
    labelSources: string[];
    /** RE2 regex over the label name after the `/`; empty publishes every label. */
    labelWhiteList: string;
    noPublish: boolean;
    noOwnerRefs: boolean;
    klog: KlogOptions;
  };
  sources: {
    cpu: { cpuid: { attributeBlacklist: string[]; attributeWhitelist: string[] } };
    kernel: { kconfigFile: string; configOpts: string[] };
    pci: { deviceClassWhitelist: string[]; deviceLabelFields: string[] };
    usb: { deviceClassWhitelist: string[]; deviceLabelFields: string[] };
    /** Custom rules as written; the custom source validates them. */
    custom: unknown[];
  };
}

/**
 * The seed's default cpuid blacklist spells two names `SSE4.1`/`SSE4.2`; current upstream
 * spells them `SSE4`/`SSE42` and adds `AVX10` and `TDX_GUEST`. We publish the current names and
 * accept the old spellings anywhere a name is configured (see `canonicalCpuidName`).
 */
const DEFAULT_CPUID_BLACKLIST = [
  'AVX10',
  'BMI1',
  'BMI2',
  'CLMUL',
  'CMOV',
  'CX16',
  'ERMS',
  'F16C',
  'HTT',
  'LZCNT',
  'MMX',
  'MMXEXT',
  'NX',
  'POPCNT',
  'RDRAND',
  'RDSEED',
  'RDTSCP',
  'SGX',
  'SGXLC',
  'SSE',
  'SSE2',
  'SSE3',
  'SSE4',
  'SSE42',
  'SSSE3',
  'TDX_GUEST',
];

const PCI_LABEL_FIELDS = ['class', 'vendor', 'device', 'subsystem_vendor', 'subsystem_device'];
const USB_LABEL_FIELDS = ['class', 'vendor', 'device'];

export function defaultConfig(): WorkerConfig {
  return {
    core: {
      sleepInterval: 60_000,
      featureSources: ['all'],
      labelSources: ['all'],
      labelWhiteList: '',
      noPublish: false,
      noOwnerRefs: false,
      klog: {
        addDirHeader: false,
        alsologtostderr: false,
        logBacktraceAt: '',
        logDir: '',
        logFile: '',
        logFileMaxSize: 1800,
        logtostderr: true,
        skipHeaders: false,
        skipLogHeaders: false,
        stderrthreshold: 2,
        v: 0,
        vmodule: '',
      },
    },
    sources: {
      cpu: { cpuid: { attributeBlacklist: [...DEFAULT_CPUID_BLACKLIST], attributeWhitelist: [] } },
      kernel: { kconfigFile: '', configOpts: ['NO_HZ', 'NO_HZ_IDLE', 'NO_HZ_FULL', 'PREEMPT'] },
      pci: { deviceClassWhitelist: ['03', '0b40', '12'], deviceLabelFields: ['class', 'vendor'] },
      usb: {
        deviceClassWhitelist: ['0e', 'ef', 'fe', 'ff'],
        deviceLabelFields: ['class', 'vendor', 'device'],
      },
      custom: [],
    },
  };
}

/** An invalid configuration: `field` is the dotted key at fault. */
export class ConfigError extends Error {
  readonly kind = 'Invalid' as const;
  constructor(
    readonly field: string,
    readonly detail: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}${field ? `${fieldPath(field)}: ` : ''}${detail}`);
    this.name = 'ConfigError';
  }
}

const strings = () => opt(arr(str()));

const Klog = obj({
  addDirHeader: opt(bool()),
  alsologtostderr: opt(bool()),
  logBacktraceAt: opt(str()),
  logDir: opt(str()),
  logFile: opt(str()),
  logFileMaxSize: opt(int64()),
  logtostderr: opt(bool()),
  skipHeaders: opt(bool()),
  skipLogHeaders: opt(bool()),
  stderrthreshold: opt(int64()),
  v: opt(int64()),
  vmodule: opt(str()),
});

const DeviceSource = obj({ deviceClassWhitelist: strings(), deviceLabelFields: strings() });
// Sources without options still accept an (empty) section, as upstream does.
const NoOptions = () => opt(obj({}));

/** The file's schema: every option optional (defaults fill the rest), none unknown. */
const WorkerConfigFile = obj({
  core: opt(
    obj({
      sleepInterval: opt(str()),
      sources: strings(),
      featureSources: strings(),
      labelSources: strings(),
      labelWhiteList: opt(str()),
      noPublish: opt(bool()),
      noOwnerRefs: opt(bool()),
      klog: opt(Klog),
    }),
  ),
  sources: opt(
    obj({
      cpu: opt(
        obj({ cpuid: opt(obj({ attributeBlacklist: strings(), attributeWhitelist: strings() })) }),
      ),
      kernel: opt(obj({ kconfigFile: opt(str()), configOpts: strings() })),
      pci: opt(DeviceSource),
      usb: opt(DeviceSource),
      // Custom rules as written; the custom source checks them.
      custom: opt(arr(anyValue())),
      local: NoOptions(),
      memory: NoOptions(),
      network: NoOptions(),
      storage: NoOptions(),
      system: NoOptions(),
    }),
  ),
});
type WorkerConfigFile = Static<typeof WorkerConfigFile>;

/** The decoder's finding in this file's words, as nfd-worker has always said them. */
function configError(e: DecodeError): ConfigError {
  const p = e.problem;
  if (p?.kind === 'unknown')
    return new ConfigError(
      e.path,
      `unknown option${p.known.length ? `; known here: ${p.known.join(', ')}` : ''}`,
    );
  if (p?.kind !== 'type') return new ConfigError(e.path, e.detail);
  const v = describeValue(p.value);
  switch (p.schema['type']) {
    case 'boolean':
      return new ConfigError(e.path, `${v} is not a boolean; use true or false`);
    case 'integer':
      return new ConfigError(e.path, `${v} is not an integer`);
    case 'string':
      return new ConfigError(e.path, `${v} is not a string`);
    case 'object':
      return new ConfigError(e.path, `${v} is not a map`);
    case 'array': {
      const items = p.schema['items'] as Record<string, unknown> | undefined;
      const what = items?.['type'] === 'string' ? 'strings' : 'rules';
      return new ConfigError(e.path, `${v} is not a list of ${what}`);
    }
  }
  return new ConfigError(e.path, e.detail);
}

/** What the schema leaves to the option: durations and the label fields a source knows. */
function checkValues(f: WorkerConfigFile): ConfigOverlay {
  const out: ConfigOverlay = { ...f };
  const interval = f.core?.sleepInterval;
  if (interval !== undefined) {
    const ms = parseGoDuration(interval.trim());
    if (ms === undefined)
      throw new ConfigError(
        'core.sleepInterval',
        `${describeValue(interval)} is not a duration; write it as Go does, e.g. 60s, 1m30s or 0`,
      );
    out.core = { ...f.core, sleepInterval: ms };
  }
  const fields: [string, string[] | undefined, string[]][] = [
    ['sources.pci.deviceLabelFields', f.sources?.pci?.deviceLabelFields, PCI_LABEL_FIELDS],
    ['sources.usb.deviceLabelFields', f.sources?.usb?.deviceLabelFields, USB_LABEL_FIELDS],
  ];
  for (const [field, given, allowed] of fields)
    for (const name of given ?? [])
      if (!allowed.includes(name))
        throw new ConfigError(
          field,
          `unknown field ${quoteValue(name)}; use ${allowed.join(', ')}`,
        );
  return out;
}

/** A validated partial configuration, as read from one document. */
export type ConfigOverlay = Record<string, unknown>;

/**
 * Parses configuration YAML. Every scalar is read as a string (YAML failsafe schema) and then
 * converted by the schema, so that a PCI class written `0200` stays `0200` instead of becoming
 * the number 200.
 */
export async function parseConfigText(text: string, file?: string): Promise<ConfigOverlay> {
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError('', `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, file);
  }
  let js: unknown;
  try {
    js = doc.toJS();
  } catch (e) {
    // Aliases that would expand past the parser's limit (a "billion laughs" document).
    throw new ConfigError('', `not valid YAML: ${(e as Error).message.split('\n')[0]}`, file);
  }
  if (js === '' || js === null || js === undefined) return {};
  try {
    return checkValues(decode(WorkerConfigFile, js, { strict: true, text: true }));
  } catch (e) {
    const err = e instanceof DecodeError ? configError(e) : e;
    if (err instanceof ConfigError && file) throw new ConfigError(err.field, err.detail, file);
    throw err;
  }
}

/** Overlays `top` onto `base`: maps merge key by key, anything else replaces. */
export function mergeOverlay(base: ConfigOverlay, top: ConfigOverlay): ConfigOverlay {
  const out: ConfigOverlay = { ...base };
  for (const [k, v] of Object.entries(top)) {
    const b = out[k];
    out[k] = isMap(b) && isMap(v) ? mergeOverlay(b, v) : v;
  }
  return out;
}

function applyOverlay(target: Record<string, unknown>, overlay: ConfigOverlay): void {
  for (const [k, v] of Object.entries(overlay)) {
    const t = target[k];
    if (isMap(t) && isMap(v)) applyOverlay(t, v);
    else target[k] = v;
  }
}

/** Settings given on the command line; they win over the file and `-options`. */
export interface FlagOverrides {
  sleepInterval?: number;
  sources?: string[];
  featureSources?: string[];
  labelSources?: string[];
  labelWhiteList?: string;
  noPublish?: boolean;
  noOwnerRefs?: boolean;
}

/** Defaults, then the overlay (file merged with `-options`), then the flags. */
export function buildConfig(overlay: ConfigOverlay, flags: FlagOverrides = {}): WorkerConfig {
  const cfg = defaultConfig();
  const o = mergeOverlay(overlay, {});
  const core = isMap(o.core) ? { ...o.core } : undefined;
  // `core.sources` is the older name for the label source list.
  if (core && 'sources' in core) {
    if (!('labelSources' in core)) core.labelSources = core.sources;
    delete core.sources;
  }
  applyOverlay(cfg as unknown as Record<string, unknown>, core ? { ...o, core } : o);
  if (flags.sleepInterval !== undefined) cfg.core.sleepInterval = flags.sleepInterval;
  if (flags.sources !== undefined) cfg.core.labelSources = flags.sources;
  if (flags.labelSources !== undefined) cfg.core.labelSources = flags.labelSources;
  if (flags.featureSources !== undefined) cfg.core.featureSources = flags.featureSources;
  if (flags.labelWhiteList !== undefined) cfg.core.labelWhiteList = flags.labelWhiteList;
  if (flags.noPublish !== undefined) cfg.core.noPublish = flags.noPublish;
  if (flags.noOwnerRefs !== undefined) cfg.core.noOwnerRefs = flags.noOwnerRefs;
  return cfg;
}

/**
 * Resolves a source list (`all`, names, `-name` to remove) against the known sources. Unknown
 * names are an error naming the option.
 */
export function resolveSourceList(list: string[], known: string[], field: string): Set<string> {
  const out = new Set<string>();
  for (const raw of list) {
    const name = raw.trim();
    if (name === 'all') {
      for (const k of known) out.add(k);
    } else if (name.startsWith('-')) {
      const n = name.slice(1);
      if (!known.includes(n))
        throw new ConfigError(field, `unknown source ${quoteValue(n)}; known: ${known.join(', ')}`);
      out.delete(n);
    } else if (name !== '') {
      if (!known.includes(name))
        throw new ConfigError(
          field,
          `unknown source ${quoteValue(name)}; known: all, ${known.join(', ')}`,
        );
      out.add(name);
    }
  }
  return out;
}
