/**
 * KMM images: the ModuleImagesConfig and ModuleBuildSignConfig controllers and their decisions.
 * The operator calls setupImageControllers(manager, options). See README.md.
 */
export {
  setupImageControllers,
  discoverBuildBackend,
  type ImageControllersOptions,
} from './controllers.js';
export { ANNOTATION_REBUILD_TRIGGER, REASONS } from './constants.js';
export {
  planImage,
  distinctImages,
  resultsByImage,
  buildSignEntries,
  rebuildTriggered,
  triggerText,
  judgeSuccess,
  mbscCounts,
  missingImageEvent,
  micRequeueMs,
  type Existence,
  type ImagePlan,
  type WorkResults,
} from './state.js';
export {
  podOutcome,
  buildOutcome,
  collectAfterMs,
  keptSuccesses,
  describeWork,
  reasonsOf,
  type Outcome,
} from './outcome.js';
export { renderWork, type BuildBackend, type RenderedWork, type WorkSettings } from './work.js';
