/** Admission checks of the KMM kinds, shared by the webhook and `hwe kmm validate`. */
export { formatErrors, type FieldError } from './fields.js';
export {
  DEVICE_PLUGIN_HOST_PATH_ROOTS,
  hasTagOrDigest,
  imageProblem,
  isUnder,
  labelValueProblem,
  qualifiedNameProblems,
} from './kube.js';
export { MAX_REGEXP_LENGTH, MAX_TOTAL_REGEXP_LENGTH, regexpProblem } from './module.js';
export {
  KMM_GROUP,
  KMM_HUB_GROUP,
  MAX_KERNEL_VERSION_LENGTH,
  VALIDATED_KINDS,
  isValidatedKind,
  kernelVersionProblem,
  validateKmmObject,
  validateManagedClusterModule,
  validateModule,
  validateNamespaceDeletion,
  validatePreflight,
  type ObjectReport,
} from './objects.js';
export { validateCommand } from './command.js';
