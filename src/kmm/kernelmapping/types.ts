/**
 * The parts of a KMM `Module` (kmm.sigs.x-k8s.io/v1beta1) that kernel mapping reads. Field names
 * and nesting follow upstream's `api/v1beta1/module_types.go`, so a full Module object (or one
 * decoded from the shared API types) is assignable to these interfaces.
 */

export interface LocalObjectReference {
  name?: string;
}

export interface TLSOptions {
  insecure?: boolean;
  insecureSkipTLSVerify?: boolean;
}

export interface BuildArg {
  name: string;
  value: string;
}

export interface Build {
  buildArgs?: BuildArg[];
  secrets?: LocalObjectReference[];
  baseImageRegistryTLS?: TLSOptions;
  dockerfileConfigMap?: LocalObjectReference;
  kanikoParams?: { tag?: string };
  selector?: Record<string, string>;
}

export interface Sign {
  unsignedImage?: string;
  unsignedImageRegistryTLS?: TLSOptions;
  keySecret?: LocalObjectReference;
  certSecret?: LocalObjectReference;
  filesToSign?: string[];
}

export interface KernelMapping {
  literal?: string;
  regexp?: string;
  containerImage?: string;
  build?: Build;
  sign?: Sign;
  registryTLS?: TLSOptions;
  inTreeModulesToRemove?: string[];
  /** Deprecated upstream in favour of `inTreeModulesToRemove`; still honoured. */
  inTreeModuleToRemove?: string;
}

export interface ModprobeArgs {
  load?: string[];
  unload?: string[];
}

export interface ModprobeSpec {
  moduleName?: string;
  parameters?: string[];
  dirName?: string;
  args?: ModprobeArgs;
  rawArgs?: ModprobeArgs;
  firmwarePath?: string;
  modulesLoadingOrder?: string[];
  modprobedDir?: string;
}

export interface ModuleLoaderContainerSpec {
  modprobe: ModprobeSpec;
  containerImage?: string;
  imagePullPolicy?: string;
  version?: string;
  registryTLS?: TLSOptions;
  build?: Build;
  sign?: Sign;
  inTreeModulesToRemove?: string[];
  inTreeModuleToRemove?: string;
  kernelMappings: KernelMapping[];
}

export interface ModuleLoaderSpec {
  container: ModuleLoaderContainerSpec;
  serviceAccountName?: string;
}

/** A Module as kernel mapping sees it. */
export interface MappableModule {
  metadata: { name?: string; namespace?: string };
  spec: { moduleLoader?: ModuleLoaderSpec };
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
  imagePullPolicy?: string;
  build?: Build;
  sign?: Sign;
  registryTLS: TLSOptions;
  inTreeModulesToRemove?: string[];
  modprobe: ModprobeSpec;
  version?: string;
  /** Notes for the user, e.g. a variable name that is not defined and became empty. */
  warnings: string[];
}
