/** The controller runtime every hwe controller is built on. See README.md. */
export {
  KubeClient,
  KubeError,
  isKubeError,
  errorFromResponse,
  type KubeErrorKind,
  type StatusCause,
  type PatchType,
  type RequestInit,
} from './client.js';
export {
  resolveAccess,
  loadKubeconfig,
  inClusterAccess,
  kubeconfigYaml,
  KubeconfigError,
  type ClusterAccess,
} from './kubeconfig.js';
export * from './objects.js';
export * from './resources.js';
export {
  ResourceClient,
  DEFAULT_FIELD_MANAGER,
  METADATA_ONLY_ACCEPT,
  METADATA_ONLY_LIST_ACCEPT,
  decodeList,
  type ListOptions,
  type WriteOptions,
  type PatchOptions,
  type ApplyOptions,
  type DeleteOptions,
  type WatchEvent,
} from './api.js';
export {
  Informer,
  indexers,
  type EventHandler,
  type Indexer,
  type InformerOptions,
} from './informer.js';
export { InformerFactory, type InformerRequest, type InformerDefaults } from './factory.js';
export {
  WorkQueue,
  ItemExponentialLimiter,
  BucketLimiter,
  MaxOfLimiter,
  defaultControllerRateLimiter,
  type RateLimiter,
} from './queue.js';
export {
  Controller,
  ControllerBuilder,
  type Request,
  type Result,
  type Reconciler,
  type ReconcileContext,
} from './controller.js';
export * from './predicates.js';
export {
  Manager,
  isLoopbackAddress,
  metricsBesideProbes,
  type ManagerOptions,
  type Runnable,
  type HealthCheck,
} from './manager.js';
export {
  DelegatingAuth,
  bearerToken,
  verbFor,
  type AuthDecision,
  type DelegatingAuthOptions,
  type ResourceAttributes,
  type UserInfo,
} from './authz.js';
export {
  readLimitedBody,
  replyBodyTooLarge,
  BodyTooLargeError,
  DEFAULT_BODY_LIMIT,
} from './http.js';
export { CertificateFiles, reloadServerCertificate } from './tls.js';
export { apiServes, periodic } from './runnables.js';
export { mapLimit } from './concurrency.js';
export { LeaderElector, type LeaderElectionOptions, type Lease } from './leader.js';
export { RuntimeMetrics } from './metrics.js';
export { Registry, type Counter, type Gauge, type Histogram } from './prometheus.js';
export { createLogger, silentLogger, parseLogLevel, type Logger, type LogLevel } from './log.js';
export { realClock, sleep, type Clock } from './clock.js';
export { Expectations, type ExpectationsOptions } from './expectations.js';
export { throwAll, settleEach } from './errors.js';
export { addFinalizer, removeFinalizer, hasFinalizer } from './finalizers.js';
export {
  setCondition,
  removeCondition,
  findCondition,
  isConditionTrue,
  type ConditionInput,
} from './conditions.js';
export { EventRecorder, type EventType } from './events.js';
export {
  ownerReference,
  controllerOf,
  isOwnedBy,
  setControllerReference,
  setOwnerReference,
  OwnerError,
} from './owner.js';
export { createOrPatch, type OperationResult } from './apply.js';
export { mergePatch, jsonPatch, deepEqual, overlay, type JsonPatchOp } from './diff.js';
export {
  WebhookServer,
  allow,
  deny,
  type AdmissionRequest,
  type AdmissionResponse,
  type Validator,
  type Mutator,
  type ValidationResult,
} from './webhook.js';
