/**
 * Failures of the module loader, as values with a kind. The worker pod's termination message
 * carries `message`, so the controller can show a user why a module did not load.
 */
export type WorkerErrorKind =
  /** The config file is unreadable or wrong; the message names the field. */
  | 'InvalidConfig'
  /** modprobe could not insert or remove the module (bad signature, missing symbol, in use…). */
  | 'ModprobeFailed'
  /** An in-tree module that had to go first could not be removed. */
  | 'InTreeRemovalFailed'
  /** Copying firmware to the host failed. */
  | 'FirmwareFailed'
  /** /sys/module/firmware_class/parameters/path could not be read or written. */
  | 'FirmwareClassPathFailed';

export class WorkerError extends Error {
  readonly kind: WorkerErrorKind;
  /** The kernel module concerned, when there is one. */
  readonly module: string | undefined;
  /** Why, in a few words (e.g. modprobe's "Required key not available"). */
  readonly reason: string;

  constructor(
    kind: WorkerErrorKind,
    message: string,
    opts: { module?: string; reason?: string } = {},
  ) {
    super(message);
    this.name = 'WorkerError';
    this.kind = kind;
    this.module = opts.module;
    this.reason = opts.reason ?? message;
  }
}
