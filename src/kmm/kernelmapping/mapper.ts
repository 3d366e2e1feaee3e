import { re2 } from '../../api/re2.js';
import { fail, ok, type Result } from './errors.js';
import { kernelVariables, parseKernelVersion } from './kernel.js';
import { expandTemplate } from './template.js';
import type { Loose } from '../../api/decode.js';
import type { Build, BuildArg, KernelMapping, Sign } from '../../api/kmm.js';
import type { MappableContainer, MappableModule, ResolvedMapping } from './types.js';
import { boundedMessage, quoteValue } from '../../runtime/quote.js';

const CONTAINER = 'spec.moduleLoader.container';
const MAPPINGS = `${CONTAINER}.kernelMappings`;

type Matcher = (kernel: string) => boolean;

/** The kernel mappings of one Module with their regexps compiled, ready for any kernel. */
export interface KernelMapper {
  /** Upstream's GetModuleLoaderDataForKernel: find, merge with defaults, substitute. */
  resolve(kernelVersion: string): Result<ResolvedMapping>;
}

function compileMatchers(mappings: readonly Loose<KernelMapping>[]): Result<Matcher[]> {
  const out: Matcher[] = [];
  for (const [i, m] of mappings.entries()) {
    const field = `${MAPPINGS}[${i}]`;
    const hasLiteral = m.literal !== undefined && m.literal !== '';
    const hasRegexp = m.regexp !== undefined && m.regexp !== '';
    if (hasLiteral === hasRegexp) {
      return fail(
        'InvalidModule',
        field,
        hasLiteral
          ? 'has both literal and regexp; keep exactly one'
          : 'needs exactly one of literal (the exact kernel) or regexp (a pattern)',
      );
    }
    if (hasLiteral) {
      const literal = m.literal!;
      out.push((k) => k === literal);
      continue;
    }
    try {
      // Go's regexp.MatchString semantics: RE2 syntax, matches anywhere unless anchored.
      const re = re2().compile(m.regexp!);
      out.push((k) => re.test(k));
    } catch (e) {
      return fail(
        'InvalidModule',
        `${field}.regexp`,
        `invalid regexp: ${boundedMessage((e as Error).message)}`,
      );
    }
  }
  return ok(out);
}

/** The mapping's build merged over the container's, as upstream's GetRelevantBuild. */
export function mergeBuild(base?: Loose<Build>, mapping?: Loose<Build>): Loose<Build> | undefined {
  if (!base && !mapping) return undefined;
  if (!base) return structuredClone(mapping);
  if (!mapping) return structuredClone(base);
  const out = structuredClone(base);
  if (mapping.dockerfileConfigMap) out.dockerfileConfigMap = { ...mapping.dockerfileConfigMap };
  // Upstream keeps only the container's values of these three; a mapping that sets one means it.
  if (mapping.baseImageRegistryTLS) out.baseImageRegistryTLS = { ...mapping.baseImageRegistryTLS };
  if (mapping.kanikoParams) out.kanikoParams = { ...mapping.kanikoParams };
  if (mapping.selector) out.selector = { ...mapping.selector };
  if (mapping.buildArgs?.length)
    out.buildArgs = overrideBuildArgs(out.buildArgs, mapping.buildArgs);
  if (mapping.secrets?.length) {
    out.secrets = [...(out.secrets ?? []), ...mapping.secrets.map((s) => ({ ...s }))];
  }
  return out;
}

/** Args of the same name are replaced in place; the others are appended in their order. */
export function overrideBuildArgs<A extends Loose<BuildArg>>(
  args: readonly A[] | undefined,
  overrides: readonly A[],
): A[] {
  const byName = new Map(overrides.map((o) => [o.name, o]));
  const out = (args ?? []).map((a) => ({ ...(byName.get(a.name) ?? a) }));
  const used = new Set(out.map((a) => a.name));
  for (const o of byName.values()) if (!used.has(o.name)) out.push({ ...o });
  return out;
}

/** The mapping's sign merged over the container's, as upstream's GetRelevantSign. */
export function mergeSign(base?: Loose<Sign>, mapping?: Loose<Sign>): Loose<Sign> | undefined {
  if (!base && !mapping) return undefined;
  if (!base) return structuredClone(mapping);
  if (!mapping) return structuredClone(base);
  const out = structuredClone(base);
  if (mapping.unsignedImage) out.unsignedImage = mapping.unsignedImage;
  if (mapping.unsignedImageRegistryTLS) {
    out.unsignedImageRegistryTLS = { ...mapping.unsignedImageRegistryTLS };
  }
  if (mapping.keySecret) out.keySecret = { ...mapping.keySecret };
  if (mapping.certSecret) out.certSecret = { ...mapping.certSecret };
  if (mapping.filesToSign?.length) {
    out.filesToSign = [...(out.filesToSign ?? []), ...mapping.filesToSign];
  }
  return out;
}

function inTreeModules(c: MappableContainer, m: Loose<KernelMapping>): string[] | undefined {
  // The deprecated singular field wins when set, as upstream (the webhook keeps them exclusive).
  const single = m.inTreeModuleToRemove || c.inTreeModuleToRemove;
  if (single) return [single];
  const list = m.inTreeModulesToRemove ?? c.inTreeModulesToRemove;
  return list ? [...list] : undefined;
}

class CompiledMapper implements KernelMapper {
  constructor(
    private readonly module: MappableModule,
    private readonly container: MappableContainer,
    private readonly matchers: Matcher[],
  ) {}

  resolve(kernelVersion: string): Result<ResolvedMapping> {
    // The Module reconciler strips a trailing "+" (kernels built from a dirty tree) first.
    const kernelStr = kernelVersion.endsWith('+') ? kernelVersion.slice(0, -1) : kernelVersion;
    const parsed = parseKernelVersion(kernelStr);
    if (!parsed.ok) return parsed;
    const kernel = parsed.value;
    const index = this.matchers.findIndex((match) => match(kernelStr));
    if (index < 0) {
      return fail(
        'NoMatch',
        MAPPINGS,
        `no entry matches kernel ${kernelStr} (tried ${this.matchers.length}: ` +
          this.container.kernelMappings
            .map((m) =>
              m.literal ? `literal ${quoteValue(m.literal)}` : `regexp ${quoteValue(m.regexp)}`,
            )
            .join(', ') +
          ')',
      );
    }
    const c = this.container;
    const m = c.kernelMappings[index]!;
    const field = `${MAPPINGS}[${index}]`;
    const warnings: string[] = [];
    const vars = kernelVariables(kernel, this.module.metadata);
    const substitute = (template: string, at: string): Result<string> => {
      const r = expandTemplate(template, vars);
      if (!r.ok) return fail('InvalidModule', at, `${r.message} in ${quoteValue(template)}`);
      for (const name of r.unknown) {
        warnings.push(
          `${at}: unknown variable $${name} became empty; known: ${Object.keys(vars).join(', ')}`,
        );
      }
      return ok(r.value);
    };

    const imageField = m.containerImage ? `${field}.containerImage` : `${CONTAINER}.containerImage`;
    const imageTemplate = m.containerImage || c.containerImage || '';
    if (imageTemplate === '') {
      return fail(
        'InvalidModule',
        `${field}.containerImage`,
        `empty, and ${CONTAINER}.containerImage is not set either; set one of them`,
      );
    }
    const image = substitute(imageTemplate, imageField);
    if (!image.ok) return image;

    const sign = mergeSign(c.sign, m.sign);
    if (sign) {
      const signField = m.sign ? `${field}.sign` : `${CONTAINER}.sign`;
      if (sign.unsignedImage) {
        const r = substitute(sign.unsignedImage, `${signField}.unsignedImage`);
        if (!r.ok) return r;
        sign.unsignedImage = r.value;
      }
      if (sign.filesToSign) {
        const files: string[] = [];
        for (const [i, f] of sign.filesToSign.entries()) {
          const r = substitute(f, `${signField}.filesToSign[${i}]`);
          if (!r.ok) return r;
          files.push(r.value);
        }
        sign.filesToSign = files;
      }
    }

    const resolved: ResolvedMapping = {
      kernelVersion: kernelStr,
      normalizedKernelVersion: kernel.normalized,
      mappingIndex: index,
      containerImage: image.value,
      registryTLS: { ...(m.registryTLS ?? c.registryTLS ?? {}) },
      modprobe: structuredClone(c.modprobe),
      warnings,
    };
    const build = mergeBuild(c.build, m.build);
    if (build) resolved.build = build;
    if (sign) resolved.sign = sign;
    const inTree = inTreeModules(c, m);
    if (inTree) resolved.inTreeModulesToRemove = inTree;
    if (c.imagePullPolicy) resolved.imagePullPolicy = c.imagePullPolicy;
    if (c.version) resolved.version = c.version;
    return ok(resolved);
  }
}

/** Compiles a Module's kernel mappings once; the mapper answers for any number of kernels. */
export function compileKernelMapper(module: MappableModule): Result<KernelMapper> {
  const loader = module.spec.moduleLoader;
  if (!loader) {
    return fail(
      'InvalidModule',
      'spec.moduleLoader',
      'not set: this Module only runs a device plugin for an in-tree driver, so no kernel ' +
        'mapping applies',
    );
  }
  const mappings = loader.container.kernelMappings;
  if (!mappings.length) {
    return fail('InvalidModule', MAPPINGS, 'empty; add at least one literal or regexp entry');
  }
  const matchers = compileMatchers(mappings);
  if (!matchers.ok) return matchers;
  return ok(new CompiledMapper(module, loader.container, matchers.value));
}

// Controllers map the same Module object (from the informer cache) for every node's kernel:
// keep its compiled regexps until the object is replaced.
const compiled = new WeakMap<MappableModule, Result<KernelMapper>>();

/** Maps one kernel; repeated calls with the same Module object reuse its compiled regexps. */
export function resolveKernelMapping(
  module: MappableModule,
  kernelVersion: string,
): Result<ResolvedMapping> {
  let mapper = compiled.get(module);
  if (!mapper) {
    mapper = compileKernelMapper(module);
    compiled.set(module, mapper);
  }
  return mapper.ok ? mapper.value.resolve(kernelVersion) : mapper;
}
