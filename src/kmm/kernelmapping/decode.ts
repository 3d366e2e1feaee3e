import { DecodeError, decode, quoteValue, type Loose } from '../../api/decode.js';
import { ModuleLoaderSpec } from '../../api/kmm.js';
import { ObjectHeader } from '../../api/resource.js';
import { obj, opt, type Static } from '../../api/schema.js';
import { fail, ok, type Result } from './errors.js';
import type { MappableModule } from './types.js';

export const MODULE_API_GROUP = 'kmm.sigs.x-k8s.io';

/**
 * The parts of a Module document that kernel mapping reads, in the API's schemas. Fields it
 * does not read are left alone, as the apiserver would keep them; fields the apiserver requires
 * may be missing (a file not yet applied), except the few mapping cannot do without.
 */
const ModuleDocument = obj({
  ...ObjectHeader.properties,
  spec: obj({ moduleLoader: opt(ModuleLoaderSpec) }),
});

function read(doc: unknown): MappableModule {
  const m: Loose<Static<typeof ModuleDocument>> = decode(ModuleDocument, doc, { required: false });
  if (m.kind !== undefined && m.kind !== 'Module') {
    throw new DecodeError('kind', `is ${quoteValue(m.kind)}; expected Module`);
  }
  if (m.apiVersion !== undefined && !m.apiVersion.startsWith(`${MODULE_API_GROUP}/`)) {
    throw new DecodeError(
      'apiVersion',
      `is ${quoteValue(m.apiVersion)}; expected ${MODULE_API_GROUP}/v1beta1`,
    );
  }
  if (!m.spec) throw new DecodeError('spec', 'must be a map, not null');
  const module: MappableModule = { metadata: m.metadata ?? {}, spec: {} };
  const loader = m.spec.moduleLoader;
  if (!loader) return module;
  const at = 'spec.moduleLoader.container';
  const { container } = loader;
  if (!container) throw new DecodeError(at, 'must be a map, not null');
  const { kernelMappings, modprobe = {} } = container;
  if (!kernelMappings) {
    throw new DecodeError(
      `${at}.kernelMappings`,
      'required: list the kernels this Module supports',
    );
  }
  module.spec.moduleLoader = { ...loader, container: { ...container, modprobe, kernelMappings } };
  return module;
}

/** Decodes one `Module` document, naming the first field that does not fit the schema. */
export function decodeModule(doc: unknown): Result<MappableModule> {
  try {
    return ok(read(doc));
  } catch (e) {
    if (e instanceof DecodeError) {
      return fail('InvalidModule', e.path || '(document)', e.detail);
    }
    throw e;
  }
}
