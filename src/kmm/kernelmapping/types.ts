/**
 * A Module as kernel mapping reads it, in the API's types (src/api/kmm.ts). A Module read from
 * a file may lack fields the apiserver would require (a mapping's containerImage, a build's
 * dockerfileConfigMap, …), so below the container every field is read as optional.
 */
import type { Loose } from '../../api/decode.js';
import type {
  Build,
  KernelMapping,
  ModprobeSpec,
  ModuleLoaderContainerSpec,
  ModuleLoaderSpec,
  Sign,
  TLSOptions,
} from '../../api/kmm.js';

/** The container of the loader: its modprobe settings and kernel mappings are there. */
export type MappableContainer = Loose<ModuleLoaderContainerSpec> & {
  modprobe: ModprobeSpec;
  kernelMappings: Loose<KernelMapping>[];
};

/** A Module as kernel mapping sees it; a Module of the API is one. */
export interface MappableModule {
  metadata: { name?: string; namespace?: string };
  spec: {
    moduleLoader?: Loose<Omit<ModuleLoaderSpec, 'container'>> & { container: MappableContainer };
  };
}

/** What a Module needs on nodes running one kernel: upstream's ModuleLoaderData, trimmed. */
export interface ResolvedMapping {
  /** The kernel the mapping was chosen for (a trailing `+` removed, as upstream does). */
  kernelVersion: string;
  /** The kernel with characters outside [A-Za-z0-9._-] replaced by `_`, used for variables. */
  normalizedKernelVersion: string;
  /** Index of the chosen entry in `spec.moduleLoader.container.kernelMappings`. */
  mappingIndex: number;
  containerImage: string;
  imagePullPolicy?: ModuleLoaderContainerSpec['imagePullPolicy'];
  build?: Loose<Build>;
  sign?: Loose<Sign>;
  registryTLS: TLSOptions;
  inTreeModulesToRemove?: string[];
  modprobe: ModprobeSpec;
  version?: string;
  /** Notes for the user, e.g. a variable name that is not defined and became empty. */
  warnings: string[];
}
