/**
 * Admission checks of a Module spec (upstream internal/webhook/module.go, made stricter where
 * upstream lets a mistake through to run time). The CRD's schema and CEL rules check shapes;
 * these checks need code: regexps that must compile, images whose source depends on two
 * fields, paths that must stay inside a directory, and comparisons with the old object.
 */
import { re2 } from '../../api/re2.js';
import { posix } from 'node:path';
import type { Loose } from '../../api/decode.js';
import type {
  Build,
  DevicePluginSpec,
  KernelMapping,
  ModprobeSpec,
  ModuleLoaderContainerSpec,
  ModuleLoaderSpec,
  ModuleSpec,
  Sign,
} from '../../api/kmm.js';
import { obj, opt, str } from '../../api/schema.js';
import type { Errors } from './fields.js';
import { DEVICE_PLUGIN_HOST_PATH_ROOTS, checkTolerations, imageProblem, isUnder } from './kube.js';
import { boundedMessage, quoteValue } from '../../runtime/quote.js';

/**
 * Longest regexp accepted in a kernel mapping. A kernel release is at most 64 characters
 * (__NEW_UTS_LEN), so no useful pattern comes near; the bound keeps compilation (linear in the
 * pattern) well inside the webhook's time budget.
 */
export const MAX_REGEXP_LENGTH = 1024;
/** Bounds the compilation work one object can ask for, whatever the number of mappings. */
export const MAX_TOTAL_REGEXP_LENGTH = 16 * 1024;
const DEFAULT_DIR_NAME = '/opt';

const nonEmpty = (s: string | undefined): s is string => s !== undefined && s !== '';

/** A regexp as kernel mapping compiles it (RE2 syntax through re2js); the error, if any. */
export function regexpProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEXP_LENGTH) {
    return `is ${pattern.length} characters long; at most ${MAX_REGEXP_LENGTH} are accepted`;
  }
  try {
    re2().compile(pattern);
    return undefined;
  } catch (e) {
    return `does not compile as an RE2 regular expression: ${boundedMessage((e as Error).message)}`;
  }
}

function checkInTreeExclusive(
  errors: Errors,
  o: Loose<KernelMapping | ModuleLoaderContainerSpec>,
  field: string,
): void {
  if (nonEmpty(o.inTreeModuleToRemove) && o.inTreeModulesToRemove !== undefined) {
    errors.add(
      `${field}.inTreeModuleToRemove`,
      'set inTreeModulesToRemove or the deprecated inTreeModuleToRemove, not both',
    );
  }
}

function checkModprobe(errors: Errors, modprobe: ModprobeSpec, field: string): string {
  const { moduleName, rawArgs: raw, dirName } = modprobe;
  if (nonEmpty(moduleName) && raw) {
    errors.add(
      `${field}.rawArgs`,
      'set moduleName or rawArgs, not both: rawArgs replaces the whole modprobe command line',
    );
  } else if (!nonEmpty(moduleName)) {
    if (!raw) {
      errors.add(
        `${field}.moduleName`,
        'required: set the module to load, or rawArgs with both load and unload',
      );
    } else {
      for (const k of ['load', 'unload'] as const) {
        if (!raw[k]?.length) {
          errors.missing(
            `${field}.rawArgs.${k}`,
            `required when moduleName is not set: the modprobe arguments used to ${k} the module`,
          );
        }
      }
    }
  }
  if (dirName !== undefined && !dirName.startsWith('/')) {
    errors.add(
      `${field}.dirName`,
      `${quoteValue(dirName)} must be an absolute path in the image, e.g. /opt`,
    );
  }
  const order = modprobe.modulesLoadingOrder;
  if (order?.length) {
    const at = `${field}.modulesLoadingOrder`;
    if (order.length < 2) {
      errors.add(at, 'needs at least two modules: moduleName first, then the module it needs');
    }
    if (order[0] !== moduleName) {
      errors.add(
        `${at}[0]`,
        `must be moduleName ("${moduleName ?? ''}"): the list starts with the module loaded ` +
          'on request and goes down its dependencies',
      );
    }
    const seen = new Map<string, number>();
    order.forEach((m, i) => {
      const first = seen.get(m);
      if (first !== undefined) {
        errors.add(
          `${at}[${i}]`,
          `duplicate of entry ${first} (${quoteValue(m)}); list each module once`,
        );
      } else seen.set(m, i);
    });
  }
  return nonEmpty(dirName) ? dirName : DEFAULT_DIR_NAME;
}

interface SignSource {
  sign: Loose<Sign>;
  field: string;
}

/** The merged sign settings of one mapping (container defaults, mapping overrides). */
function checkSign(
  errors: Errors,
  sources: SignSource[],
  dirName: string,
  hasBuild: boolean,
  where: string,
): void {
  const files: string[] = [];
  let unsignedImage = false;
  const refs = { keySecret: false, certSecret: false };
  for (const { sign, field } of sources) {
    const list = sign.filesToSign ?? [];
    const dir = posix.normalize(dirName).replace(/\/+$/, '');
    list.forEach((f, i) => {
      files.push(f);
      // Cleaned first: /opt/../etc/shadow starts with /opt/ but is not under it.
      const clean = posix.normalize(f);
      if (!f.startsWith('/') || !clean.startsWith(`${dir}/`)) {
        errors.add(
          `${field}.filesToSign[${i}]`,
          `${quoteValue(f)} is not under modprobe.dirName ${quoteValue(dirName)}; the signer only sees files there`,
        );
      }
    });
    const unsigned = sign.unsignedImage;
    if (nonEmpty(unsigned)) {
      unsignedImage = true;
      const p = imageProblem(unsigned);
      if (p) errors.add(`${field}.unsignedImage`, p);
    }
    for (const k of ['keySecret', 'certSecret'] as const) {
      if (nonEmpty(sign[k]?.name)) refs[k] = true;
    }
  }
  const last = sources[sources.length - 1]!.field;
  // A list with an entry of the wrong type is reported already, and was not empty.
  if (files.length === 0 && !sources.some((s) => errors.reported(`${s.field}.filesToSign`))) {
    errors.add(
      `${last}.filesToSign`,
      `empty for ${where}; list the module files to sign, e.g. ${dirName}/lib/modules/` +
        '${KERNEL_FULL_VERSION}/my_module.ko',
    );
  }
  for (const k of ['keySecret', 'certSecret'] as const) {
    if (!refs[k]) {
      errors.add(
        `${last}.${k}.name`,
        `required for ${where}: the Secret holding the Secure Boot ` +
          (k === 'keySecret' ? 'private key (data key "key")' : 'certificate (data key "cert")'),
      );
    }
  }
  if (!unsignedImage && !hasBuild) {
    errors.add(
      `${last}.unsignedImage`,
      `required for ${where} without a build section: the image holding the unsigned modules`,
    );
  }
}

function checkBuild(
  errors: Errors,
  builds: { build: Loose<Build>; field: string }[],
  where: string,
) {
  const named = builds.some(({ build }) => nonEmpty(build.dockerfileConfigMap?.name));
  if (!named) {
    const last = builds[builds.length - 1]!.field;
    errors.add(
      `${last}.dockerfileConfigMap.name`,
      `required for ${where}: the ConfigMap whose key "dockerfile" holds the Dockerfile`,
    );
  }
}

function checkModuleLoader(errors: Errors, loader: Loose<ModuleLoaderSpec>, field: string): void {
  const cField = `${field}.container`;
  const c = loader.container;
  if (!c) {
    errors.missing(cField, 'required: the modprobe settings and kernel mappings of the loader');
    return;
  }
  const mField = `${cField}.modprobe`;
  const modprobe = c.modprobe;
  let dirName = DEFAULT_DIR_NAME;
  if (modprobe) dirName = checkModprobe(errors, modprobe, mField);
  else errors.add(mField, 'required: at least moduleName, the module to load');
  checkInTreeExclusive(errors, c, cField);

  const { containerImage: defaultImage, build: cBuild, sign: cSign } = c;
  const kmField = `${cField}.kernelMappings`;
  const mappings = c.kernelMappings;
  if (!mappings?.length) {
    errors.missing(
      kmField,
      'needs at least one entry: a literal kernel or a regexp, and its image',
    );
    return;
  }
  let defaultImageReported = false;
  let regexpBudget = MAX_TOTAL_REGEXP_LENGTH;
  mappings.forEach((m, i) => {
    const at = `${kmField}[${i}]`;
    const { literal, regexp } = m;
    if (nonEmpty(literal) === nonEmpty(regexp)) {
      errors.add(
        at,
        nonEmpty(literal)
          ? 'has both literal and regexp; keep exactly one'
          : 'needs exactly one of literal (the exact kernel release) or regexp (a pattern)',
      );
    }
    if (nonEmpty(regexp)) {
      regexpBudget -= regexp.length;
      const p =
        regexpBudget < 0
          ? `brings the regexps of this Module over ${MAX_TOTAL_REGEXP_LENGTH} characters in all`
          : regexpProblem(regexp);
      if (p) errors.add(`${at}.regexp`, p);
    }
    const own = m.containerImage;
    if (nonEmpty(own)) {
      const p = imageProblem(own);
      if (p) errors.add(`${at}.containerImage`, p);
    } else if (!nonEmpty(defaultImage)) {
      errors.add(
        `${at}.containerImage`,
        `empty, and ${cField}.containerImage is not set either; give the image for this ` +
          'mapping or a default for all',
      );
    } else if (!defaultImageReported) {
      defaultImageReported = true;
      const p = imageProblem(defaultImage);
      if (p) errors.add(`${cField}.containerImage`, p);
    }
    checkInTreeExclusive(errors, m, at);
    const builds = [
      ...(cBuild ? [{ build: cBuild, field: `${cField}.build` }] : []),
      ...(m.build ? [{ build: m.build, field: `${at}.build` }] : []),
    ];
    // Errors in container-level sections are the same for every mapping: said once (dedupe).
    const whereBuild = m.build ? `kernelMappings[${i}]` : 'every kernel mapping';
    if (builds.length) checkBuild(errors, builds, whereBuild);
    const signs: SignSource[] = [
      ...(cSign ? [{ sign: cSign, field: `${cField}.sign` }] : []),
      ...(m.sign ? [{ sign: m.sign, field: `${at}.sign` }] : []),
    ];
    const whereSign = m.sign ? `kernelMappings[${i}]` : 'every kernel mapping';
    if (signs.length) checkSign(errors, signs, dirName, builds.length > 0, whereSign);
  });
}

/** The part of a core/v1 Volume checked here (the API keeps volume sources as given). */
const HostPathVolume = obj({ hostPath: opt(obj({ path: opt(str()) })) });

function checkDevicePlugin(errors: Errors, dp: Loose<DevicePluginSpec>, field: string): void {
  const cField = `${field}.container`;
  const c = dp.container;
  if (!c) errors.add(cField, 'required: the device plugin container and its image');
  else {
    const image = c.image;
    if (!nonEmpty(image)) errors.add(`${cField}.image`, 'required: the device plugin image');
    else if (/\s/.test(image))
      errors.add(`${cField}.image`, `${quoteValue(image)} contains white space`);
  }
  dp.volumes?.forEach((volume, i) => {
    const at = `${field}.volumes[${i}].hostPath`;
    const hp = errors.read(HostPathVolume, volume, `${field}.volumes[${i}]`)?.hostPath;
    if (!hp) return;
    const path = hp.path ?? '';
    if (!isUnder(path, DEVICE_PLUGIN_HOST_PATH_ROOTS)) {
      errors.add(
        `${at}.path`,
        `${quoteValue(path)} is not allowed: device plugins may only mount host paths under ` +
          `${DEVICE_PLUGIN_HOST_PATH_ROOTS.join(', ')}`,
      );
    }
  });
}

/** Checks a Module spec (also a ManagedClusterModule's moduleSpec) found at `field`. */
export function checkModuleSpec(errors: Errors, spec: Loose<ModuleSpec>, field: string): void {
  if (!spec.selector) {
    errors.missing(`${field}.selector`, 'required: the labels of the nodes that need the module');
  }
  const { moduleLoader: loader, devicePlugin: plugin } = spec;
  const reported = (k: string) => errors.reported(`${field}.${k}`);
  if (!loader && !plugin && !reported('moduleLoader') && !reported('devicePlugin')) {
    errors.add(
      `${field}.moduleLoader`,
      'set moduleLoader, devicePlugin or both: a Module with neither does nothing',
    );
  }
  if (loader) checkModuleLoader(errors, loader, `${field}.moduleLoader`);
  if (plugin) checkDevicePlugin(errors, plugin, `${field}.devicePlugin`);
  checkTolerations(errors, spec.tolerations, `${field}.tolerations`);
}

const versionOf = (spec: Loose<ModuleSpec> | undefined) =>
  spec?.moduleLoader?.container?.version ?? '';

/**
 * On update: `version` drives ordered upgrades through node labels; switching between empty and
 * set would leave nodes labelled for a scheme the Module no longer uses.
 */
export function checkVersionChange(
  errors: Errors,
  oldSpec: Loose<ModuleSpec> | undefined,
  newSpec: Loose<ModuleSpec> | undefined,
  field: string,
): void {
  const before = versionOf(oldSpec);
  const after = versionOf(newSpec);
  if ((before === '') !== (after === '')) {
    errors.add(
      `${field}.moduleLoader.container.version`,
      before === ''
        ? `cannot be set (${quoteValue(after)}) on a Module created without a version; delete and recreate it`
        : `cannot be removed (was ${quoteValue(before)}); set a new version instead, or delete and recreate the Module`,
    );
  }
}
