import { quoteValue } from '../../runtime/quote.js';
import { fail, ok, type Result } from './errors.js';
import type {
  Build,
  KernelMapping,
  LocalObjectReference,
  MappableModule,
  ModprobeArgs,
  ModprobeSpec,
  ModuleLoaderContainerSpec,
  ModuleLoaderSpec,
  Sign,
  TLSOptions,
} from './types.js';
import { describeValue } from '../../api/decode.js';
import { isMap } from '../../runtime/objects.js';

/**
 * Checks a parsed YAML/JSON document against the parts of the Module schema that kernel mapping
 * reads, and names the first field that is wrong. Fields it does not read are left alone, as the
 * API server would keep them.
 */

class DecodeError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string): Obj {
  if (!isMap(v)) throw new DecodeError(field, `must be a map, not ${describeValue(v)}`);
  return v;
}

function optObj(parent: Obj, key: string, field: string): Obj | undefined {
  const v = parent[key];
  return v === undefined || v === null ? undefined : obj(v, `${field}.${key}`);
}

function optString(parent: Obj, key: string, field: string): string | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw new DecodeError(`${field}.${key}`, `must be a string, not ${describeValue(v)}; quote it`);
  }
  return v;
}

function optBool(parent: Obj, key: string, field: string): boolean | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    throw new DecodeError(`${field}.${key}`, `must be true or false, not ${describeValue(v)}`);
  }
  return v;
}

function optStrings(parent: Obj, key: string, field: string): string[] | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new DecodeError(`${field}.${key}`, `must be a list of strings`);
  return v.map((s, i) => {
    if (typeof s !== 'string') {
      throw new DecodeError(`${field}.${key}[${i}]`, `must be a string, not ${describeValue(s)}`);
    }
    return s;
  });
}

function optList<T>(
  parent: Obj,
  key: string,
  field: string,
  item: (o: Obj, f: string) => T,
): T[] | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new DecodeError(`${field}.${key}`, `must be a list`);
  return v.map((x, i) => item(obj(x, `${field}.${key}[${i}]`), `${field}.${key}[${i}]`));
}

function assign<T extends object>(target: T, values: Partial<T>): T {
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined) (target as Record<string, unknown>)[k] = v;
  }
  return target;
}

function tls(parent: Obj, key: string, field: string): TLSOptions | undefined {
  const o = optObj(parent, key, field);
  if (!o) return undefined;
  const f = `${field}.${key}`;
  return assign<TLSOptions>(
    {},
    {
      insecure: optBool(o, 'insecure', f),
      insecureSkipTLSVerify: optBool(o, 'insecureSkipTLSVerify', f),
    },
  );
}

function ref(parent: Obj, key: string, field: string): LocalObjectReference | undefined {
  const o = optObj(parent, key, field);
  if (!o) return undefined;
  return { name: optString(o, 'name', `${field}.${key}`) ?? '' };
}

function build(parent: Obj, field: string): Build | undefined {
  const o = optObj(parent, 'build', field);
  if (!o) return undefined;
  const f = `${field}.build`;
  const kaniko = optObj(o, 'kanikoParams', f);
  const selector = optObj(o, 'selector', f);
  return assign<Build>(
    {},
    {
      buildArgs: optList(o, 'buildArgs', f, (a, af) => ({
        name: optString(a, 'name', af) ?? '',
        value: optString(a, 'value', af) ?? '',
      })),
      secrets: optList(o, 'secrets', f, (s, sf) => ({ name: optString(s, 'name', sf) ?? '' })),
      baseImageRegistryTLS: tls(o, 'baseImageRegistryTLS', f),
      dockerfileConfigMap: ref(o, 'dockerfileConfigMap', f),
      kanikoParams: kaniko
        ? assign({}, { tag: optString(kaniko, 'tag', `${f}.kanikoParams`) })
        : undefined,
      selector: selector
        ? Object.fromEntries(
            Object.keys(selector).map((k) => [k, optString(selector, k, `${f}.selector`) ?? '']),
          )
        : undefined,
    },
  );
}

function sign(parent: Obj, field: string): Sign | undefined {
  const o = optObj(parent, 'sign', field);
  if (!o) return undefined;
  const f = `${field}.sign`;
  return assign<Sign>(
    {},
    {
      unsignedImage: optString(o, 'unsignedImage', f),
      unsignedImageRegistryTLS: tls(o, 'unsignedImageRegistryTLS', f),
      keySecret: ref(o, 'keySecret', f),
      certSecret: ref(o, 'certSecret', f),
      filesToSign: optStrings(o, 'filesToSign', f),
    },
  );
}

function modprobeArgs(parent: Obj, key: string, field: string): ModprobeArgs | undefined {
  const o = optObj(parent, key, field);
  if (!o) return undefined;
  const f = `${field}.${key}`;
  return assign<ModprobeArgs>(
    {},
    { load: optStrings(o, 'load', f), unload: optStrings(o, 'unload', f) },
  );
}

function modprobe(o: Obj, f: string): ModprobeSpec {
  return assign<ModprobeSpec>(
    {},
    {
      moduleName: optString(o, 'moduleName', f),
      parameters: optStrings(o, 'parameters', f),
      dirName: optString(o, 'dirName', f),
      args: modprobeArgs(o, 'args', f),
      rawArgs: modprobeArgs(o, 'rawArgs', f),
      firmwarePath: optString(o, 'firmwarePath', f),
      modulesLoadingOrder: optStrings(o, 'modulesLoadingOrder', f),
      modprobedDir: optString(o, 'modprobedDir', f),
    },
  );
}

function mapping(o: Obj, f: string): KernelMapping {
  return assign<KernelMapping>(
    {},
    {
      literal: optString(o, 'literal', f),
      regexp: optString(o, 'regexp', f),
      containerImage: optString(o, 'containerImage', f),
      build: build(o, f),
      sign: sign(o, f),
      registryTLS: tls(o, 'registryTLS', f),
      inTreeModulesToRemove: optStrings(o, 'inTreeModulesToRemove', f),
      inTreeModuleToRemove: optString(o, 'inTreeModuleToRemove', f),
    },
  );
}

function container(o: Obj, f: string): ModuleLoaderContainerSpec {
  const mp = o.modprobe;
  const mappings = optList(o, 'kernelMappings', f, mapping);
  if (!mappings) {
    throw new DecodeError(`${f}.kernelMappings`, 'required: list the kernels this Module supports');
  }
  return assign<ModuleLoaderContainerSpec>(
    {
      modprobe:
        mp === undefined || mp === null ? {} : modprobe(obj(mp, `${f}.modprobe`), `${f}.modprobe`),
      kernelMappings: mappings,
    },
    {
      containerImage: optString(o, 'containerImage', f),
      imagePullPolicy: optString(o, 'imagePullPolicy', f),
      version: optString(o, 'version', f),
      registryTLS: tls(o, 'registryTLS', f),
      build: build(o, f),
      sign: sign(o, f),
      inTreeModulesToRemove: optStrings(o, 'inTreeModulesToRemove', f),
      inTreeModuleToRemove: optString(o, 'inTreeModuleToRemove', f),
    },
  );
}

export const MODULE_API_GROUP = 'kmm.sigs.x-k8s.io';

/** Decodes one `Module` document, naming the first field that does not fit the schema. */
export function decodeModule(doc: unknown): Result<MappableModule> {
  return guard(() => {
    const root = obj(doc, '(document)');
    const kind = optString(root, 'kind', '');
    if (kind !== undefined && kind !== 'Module') {
      throw new DecodeError('kind', `is ${quoteValue(kind)}; expected Module`);
    }
    const apiVersion = optString(root, 'apiVersion', '');
    if (apiVersion !== undefined && !apiVersion.startsWith(`${MODULE_API_GROUP}/`)) {
      throw new DecodeError(
        'apiVersion',
        `is ${quoteValue(apiVersion)}; expected ${MODULE_API_GROUP}/v1beta1`,
      );
    }
    const meta = optObj(root, 'metadata', '') ?? {};
    const spec = obj(root.spec, 'spec');
    const loader = optObj(spec, 'moduleLoader', 'spec');
    const module: MappableModule = {
      metadata: assign(
        {},
        {
          name: optString(meta, 'name', 'metadata'),
          namespace: optString(meta, 'namespace', 'metadata'),
        },
      ),
      spec: {},
    };
    if (loader) {
      const f = 'spec.moduleLoader';
      module.spec.moduleLoader = assign<ModuleLoaderSpec>(
        { container: container(obj(loader.container, `${f}.container`), `${f}.container`) },
        { serviceAccountName: optString(loader, 'serviceAccountName', f) },
      );
    }
    return module;
  });
}

function guard<T>(decode: () => T): Result<T> {
  try {
    return ok(decode());
  } catch (e) {
    if (e instanceof DecodeError) {
      return fail('InvalidModule', e.field.replace(/^\./, ''), e.message);
    }
    throw e;
  }
}
