/**
 * Preflight validation: can every Module be loaded on a kernel the cluster will run after an
 * upgrade? The operator calls setupPreflightControllers(manager, options). See README.md.
 */
export {
  LABEL_PREFLIGHT,
  preflightMicName,
  setupPreflightControllers,
  type PreflightOptions,
} from './controller.js';
export {
  verifyModule,
  type Verdict,
  type VerificationStage,
  type VerificationStatus,
  type VerifyDeps,
  type VerifyInput,
} from './verify.js';
