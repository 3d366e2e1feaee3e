import { EventRecorder, type Manager } from '../../runtime/index.js';
import { setupModuleController } from '../module/controller.js';
import { setupNmcController } from '../nmc/controller.js';
import type { OperatorConfig } from './config.js';

export interface KmmOperatorOptions {
  config: OperatorConfig;
  /** The operator's namespace: the trusted one (SPEC §3.3). */
  operatorNamespace: string;
  /** Image with `hwe` for worker pods (env RELATED_IMAGE_WORKER in deployments). */
  workerImage: string;
  /** Privileged service accounts used in the operator's namespace. */
  workerServiceAccount?: string;
  devicePluginServiceAccount?: string;
  /** First retry after a failed worker pod (default 10 s, doubling). */
  retryBaseMs?: number;
}

/**
 * How far the operator's heap may grow past what the last full collection kept (the runtime's
 * default is 100 %). A roll-out parses thousands of watch events and API answers whose garbage
 * outlives the young generation; at 30 % the heap stays near the live set (peak RSS at 200 nodes
 * about 5 MiB lower, CPU within the bench's noise). `hwe kmm operator` and the bench use it.
 */
export const OPERATOR_HEAP_GROWTH_PERCENT = 30;

/**
 * The operator runs V8 in its optimize-for-size mode (see optimizeForSize in the runtime): after
 * a roll-out its resident memory falls back near the live set instead of staying at the peak
 * (bench at 1,000 nodes, 60 s after convergence: 73.1 MiB against 91.1, side by side).
 */
export const OPERATOR_OPTIMIZE_FOR_SIZE = true;

/**
 * Connections the operator opens to the apiserver at most (the client's default is 64), watches
 * included. Each TLS connection keeps about 200 KiB once opened; a roll-out's burst of writes
 * opened all 64. At 32 the bench's roll-out at 200 nodes was as fast and peaked about 5 MiB lower.
 */
export const OPERATOR_MAX_SOCKETS = 32;

/**
 * Objects per page of the operator's informer lists (the runtime's default is 500, as
 * client-go's). A page is read whole, parsed and dropped: at 500 Nodes the first list grew the
 * heap by several MiB that a resting operator kept; at 100 the bench's operator rested about
 * 7 MiB lower at 1,000 nodes, for 10 list requests instead of 2. Real Nodes, with their image
 * lists, are several times larger than the bench's.
 */
export const OPERATOR_LIST_PAGE_SIZE = 100;

/** Upstream's service account names for module loaders and device plugins. */
export const WORKER_SERVICE_ACCOUNT = 'kmm-operator-module-loader';
export const DEVICE_PLUGIN_SERVICE_ACCOUNT = 'kmm-operator-device-plugin';

/** Registers the KMM core controllers (Module, node config / worker pods) on a manager. */
export function setupKmmControllers(
  mgr: Manager,
  o: KmmOperatorOptions,
  events = new EventRecorder(mgr.client, { component: 'kmm' }, mgr.log),
): void {
  const sec = {
    operatorNamespace: o.operatorNamespace,
    workerServiceAccount: o.workerServiceAccount ?? WORKER_SERVICE_ACCOUNT,
    devicePluginServiceAccount: o.devicePluginServiceAccount ?? DEVICE_PLUGIN_SERVICE_ACCOUNT,
  };
  setupModuleController(mgr, sec);
  setupNmcController(mgr, {
    events,
    workerImage: o.workerImage,
    firmwareHostPath: o.config.worker.firmwareHostPath,
    runAsUser: o.config.worker.runAsUser,
    seLinuxType: o.config.worker.seLinuxType,
    retryBaseMs: o.retryBaseMs,
  });
}

export interface FullOperatorOptions extends KmmOperatorOptions {
  /** Image of signing pods (runs `hwe kmm sign-image`); RELATED_IMAGE_SIGN. */
  signImage: string;
  /** kaniko image of build pods; RELATED_IMAGE_BUILD. */
  buildImage: string;
  /**
   * Managed (spoke) mode, KMM_MANAGED: a KMM-Hub builds and signs, so this operator only checks
   * images, and it publishes its nodes' kernels as a ClusterClaim for the hub.
   */
  managed?: boolean;
}

/**
 * Everything `hwe kmm operator` runs: the core controllers, the image controllers
 * (ModuleImagesConfig / ModuleBuildSignConfig: existence checks, builds, signing) and the
 * preflight controllers, sharing one manager, one cache and one event recorder.
 */
export async function setupKmmOperator(mgr: Manager, o: FullOperatorOptions): Promise<void> {
  const events = new EventRecorder(mgr.client, { component: 'kmm' }, mgr.log);
  setupKmmControllers(mgr, o, events);
  // Imported here, not at the top: what runs only the core controllers (tests, the bench) loads
  // neither the registry client, nor build and signing, nor preflight.
  const [{ setupImageControllers }, { setupPreflightControllers }] = await Promise.all([
    import('../images/index.js'),
    import('../preflight/index.js'),
  ]);
  await setupImageControllers(mgr, {
    signImage: o.signImage,
    buildImage: o.buildImage,
    gcDelayMs: o.config.job.gcDelayMs,
    events,
    buildAndSign: !o.managed,
  });
  setupPreflightControllers(mgr);
  if (o.managed) (await import('../hub/claim.js')).setupKernelClaimController(mgr);
}
