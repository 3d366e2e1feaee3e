/** In-cluster builds: the kaniko pod and the OpenShift Build, rendered as plain objects. */
export * from './constants.js';
export * from './types.js';
export {
  DTK_AUTO,
  buildArgs,
  imageHash,
  labelValue,
  stableHash,
  unsignedImageOf,
  usesDtkAuto,
  withTag,
  workObjectName,
} from './common.js';
export { kanikoArgs, renderKanikoPod, type BuildInput } from './kaniko.js';
export { renderOpenShiftBuild } from './openshift.js';
