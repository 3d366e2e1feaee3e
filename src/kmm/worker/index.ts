export { workerCommand } from './command.js';
export {
  checkWorkerConfig,
  DEFAULT_DIR_NAME,
  inTreeModulesOf,
  parseWorkerConfig,
} from './config.js';
export type { WorkerAction, WorkerConfig } from './config.js';
export { WorkerError } from './errors.js';
export type { WorkerErrorKind } from './errors.js';
export { firmwareOwner, installFirmware, MANIFEST_DIR, removeFirmware } from './firmware.js';
export type { FirmwareInstall, FirmwareRemoval } from './firmware.js';
export { failureHint, modprobeFailure, spawnModprobe } from './modprobe.js';
export type { ModprobeFailure, ModprobeResult, ModprobeRunner } from './modprobe.js';
export {
  inTreeToRemove,
  loadedModules,
  modprobeLoadArgs,
  modprobeUnloadArgs,
  softdepConfig,
} from './plan.js';
export { DEFAULT_FIRMWARE_HOST_PATH, FIRMWARE_CLASS_PATH, loadKmod, unloadKmod } from './worker.js';
export type { WorkerEnv } from './worker.js';
