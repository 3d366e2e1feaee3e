/**
 * Admission checks of a Module spec (upstream internal/webhook/module.go, made stricter where
 * upstream lets a mistake through to run time). The CRD's schema and CEL rules check shapes;
 * these checks need code: regexps that must compile, images whose source depends on two
 * fields, paths that must stay inside a directory, and comparisons with the old object.
 */
import { posix } from 'node:path';
import { RE2JS } from 're2js';
import { Errors, type Obj } from './fields.js';
import { isMap } from '../../runtime/objects.js';
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
    RE2JS.compile(pattern);
    return undefined;
  } catch (e) {
    return `does not compile as an RE2 regular expression: ${boundedMessage((e as Error).message)}`;
  }
}

function refName(errors: Errors, parent: Obj | undefined, key: string, field: string) {
  if (!parent) return undefined;
  const ref = errors.obj(parent, key, `${field}.${key}`);
  return ref ? errors.str(ref, 'name', `${field}.${key}.name`) : undefined;
}

function checkInTreeExclusive(errors: Errors, o: Obj, field: string): void {
  const single = errors.str(o, 'inTreeModuleToRemove', `${field}.inTreeModuleToRemove`);
  const list = errors.strings(o, 'inTreeModulesToRemove', `${field}.inTreeModulesToRemove`);
  if (nonEmpty(single) && list !== undefined) {
    errors.add(
      `${field}.inTreeModuleToRemove`,
      'set inTreeModulesToRemove or the deprecated inTreeModuleToRemove, not both',
    );
  }
}

function checkModprobe(errors: Errors, modprobe: Obj, field: string): string {
  const moduleName = errors.str(modprobe, 'moduleName', `${field}.moduleName`);
  const raw = errors.obj(modprobe, 'rawArgs', `${field}.rawArgs`);
  const dirName = errors.str(modprobe, 'dirName', `${field}.dirName`);
  errors.obj(modprobe, 'args', `${field}.args`);
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
      for (const k of ['load', 'unload']) {
        const v = errors.strings(raw, k, `${field}.rawArgs.${k}`);
        if (!v?.length) {
          errors.add(
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
  const order = errors.strings(modprobe, 'modulesLoadingOrder', `${field}.modulesLoadingOrder`);
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
  sign: Obj;
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
    const list = errors.strings(sign, 'filesToSign', `${field}.filesToSign`) ?? [];
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
    const unsigned = errors.str(sign, 'unsignedImage', `${field}.unsignedImage`);
    if (nonEmpty(unsigned)) {
      unsignedImage = true;
      const p = imageProblem(unsigned);
      if (p) errors.add(`${field}.unsignedImage`, p);
    }
    for (const k of ['keySecret', 'certSecret'] as const) {
      if (nonEmpty(refName(errors, sign, k, field))) refs[k] = true;
    }
  }
  const last = sources[sources.length - 1]!.field;
  if (files.length === 0) {
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

function checkBuild(errors: Errors, builds: { build: Obj; field: string }[], where: string) {
  const named = builds.some(({ build, field }) =>
    nonEmpty(refName(errors, build, 'dockerfileConfigMap', field)),
  );
  if (!named) {
    const last = builds[builds.length - 1]!.field;
    errors.add(
      `${last}.dockerfileConfigMap.name`,
      `required for ${where}: the ConfigMap whose key "dockerfile" holds the Dockerfile`,
    );
  }
}

function checkModuleLoader(errors: Errors, loader: Obj, field: string): void {
  const cField = `${field}.container`;
  const c = errors.obj(loader, 'container', cField);
  if (!c) {
    if (loader['container'] === undefined || loader['container'] === null) {
      errors.add(cField, 'required: the modprobe settings and kernel mappings of the loader');
    }
    return;
  }
  const mField = `${cField}.modprobe`;
  const modprobe = errors.obj(c, 'modprobe', mField);
  let dirName = DEFAULT_DIR_NAME;
  if (modprobe) dirName = checkModprobe(errors, modprobe, mField);
  else errors.add(mField, 'required: at least moduleName, the module to load');
  checkInTreeExclusive(errors, c, cField);

  const defaultImage = errors.str(c, 'containerImage', `${cField}.containerImage`);
  const cBuild = errors.obj(c, 'build', `${cField}.build`);
  const cSign = errors.obj(c, 'sign', `${cField}.sign`);
  const kmField = `${cField}.kernelMappings`;
  const mappings = errors.objs(c, 'kernelMappings', kmField);
  if (!mappings?.length) {
    if (mappings !== undefined || c['kernelMappings'] === undefined) {
      errors.add(kmField, 'needs at least one entry: a literal kernel or a regexp, and its image');
    }
    return;
  }
  let defaultImageReported = false;
  let regexpBudget = MAX_TOTAL_REGEXP_LENGTH;
  mappings.forEach((m, i) => {
    if (!m) return;
    const at = `${kmField}[${i}]`;
    const literal = errors.str(m, 'literal', `${at}.literal`);
    const regexp = errors.str(m, 'regexp', `${at}.regexp`);
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
    const own = errors.str(m, 'containerImage', `${at}.containerImage`);
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
    errors.obj(m, 'registryTLS', `${at}.registryTLS`);
    const builds = [
      ...(cBuild ? [{ build: cBuild, field: `${cField}.build` }] : []),
      ...(isMap(m['build']) ? [{ build: m['build'], field: `${at}.build` }] : []),
    ];
    errors.obj(m, 'build', `${at}.build`);
    // Errors in container-level sections are the same for every mapping: said once (dedupe).
    const whereBuild = isMap(m['build']) ? `kernelMappings[${i}]` : 'every kernel mapping';
    if (builds.length) checkBuild(errors, builds, whereBuild);
    const signs: SignSource[] = [
      ...(cSign ? [{ sign: cSign, field: `${cField}.sign` }] : []),
      ...(isMap(m['sign']) ? [{ sign: m['sign'], field: `${at}.sign` }] : []),
    ];
    errors.obj(m, 'sign', `${at}.sign`);
    const whereSign = isMap(m['sign']) ? `kernelMappings[${i}]` : 'every kernel mapping';
    if (signs.length) checkSign(errors, signs, dirName, builds.length > 0, whereSign);
  });
}

function checkDevicePlugin(errors: Errors, dp: Obj, field: string): void {
  const cField = `${field}.container`;
  const c = errors.obj(dp, 'container', cField);
  if (!c) errors.add(cField, 'required: the device plugin container and its image');
  else {
    const image = errors.str(c, 'image', `${cField}.image`);
    if (!nonEmpty(image)) errors.add(`${cField}.image`, 'required: the device plugin image');
    else if (/\s/.test(image))
      errors.add(`${cField}.image`, `${quoteValue(image)} contains white space`);
  }
  const volumes = errors.objs(dp, 'volumes', `${field}.volumes`);
  volumes?.forEach((v, i) => {
    if (!v) return;
    const at = `${field}.volumes[${i}].hostPath`;
    const hp = errors.obj(v, 'hostPath', at);
    if (!hp) return;
    const path = errors.str(hp, 'path', `${at}.path`) ?? '';
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
export function checkModuleSpec(errors: Errors, spec: Obj, field: string): void {
  const selector = errors.obj(spec, 'selector', `${field}.selector`);
  if (!selector && spec['selector'] === undefined) {
    errors.add(`${field}.selector`, 'required: the labels of the nodes that need the module');
  }
  const loader = errors.obj(spec, 'moduleLoader', `${field}.moduleLoader`);
  const plugin = errors.obj(spec, 'devicePlugin', `${field}.devicePlugin`);
  if (spec['moduleLoader'] == null && spec['devicePlugin'] == null) {
    errors.add(
      `${field}.moduleLoader`,
      'set moduleLoader, devicePlugin or both: a Module with neither does nothing',
    );
  }
  if (loader) checkModuleLoader(errors, loader, `${field}.moduleLoader`);
  if (plugin) checkDevicePlugin(errors, plugin, `${field}.devicePlugin`);
  checkTolerations(errors, spec, `${field}.tolerations`);
}

function versionOf(spec: unknown): string {
  const loader = isMap(spec) ? spec['moduleLoader'] : undefined;
  const c = isMap(loader) ? loader['container'] : undefined;
  const v = isMap(c) ? c['version'] : undefined;
  return typeof v === 'string' ? v : '';
}

/**
 * On update: `version` drives ordered upgrades through node labels; switching between empty and
 * set would leave nodes labelled for a scheme the Module no longer uses.
 */
export function checkVersionChange(
  errors: Errors,
  oldSpec: unknown,
  newSpec: unknown,
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
