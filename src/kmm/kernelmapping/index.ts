export { decodeModule, MODULE_API_GROUP } from './decode.js';
export { fail, KernelMappingError, ok } from './errors.js';
export type { KernelMappingErrorKind, Result } from './errors.js';
export { kernelVariables, normalizeKernelVersion, parseKernelVersion } from './kernel.js';
export type { KernelVersion } from './kernel.js';
export {
  compileKernelMapper,
  mergeBuild,
  mergeSign,
  overrideBuildArgs,
  resolveKernelMapping,
} from './mapper.js';
export type { KernelMapper } from './mapper.js';
export { expandTemplate } from './template.js';
export type { Expansion } from './template.js';
export type * from './types.js';
