/** Contract constants of the image controllers (event reasons, annotations). */

/** On a MIC: the imageRebuildTriggerGeneration the controller last acted on. */
export const ANNOTATION_REBUILD_TRIGGER = 'kmm.node.kubernetes.io/image-rebuild-trigger-generation';

/** Event reasons, on the Module (or the MIC when it has no Module owner). */
export const REASONS = {
  BuildCreated: 'BuildCreated',
  BuildSucceeded: 'BuildSucceeded',
  BuildFailed: 'BuildFailed',
  /** The build pod cannot start (its image cannot be pulled, …). */
  BuildPending: 'BuildPending',
  SignCreated: 'SignCreated',
  SignSucceeded: 'SignSucceeded',
  SignFailed: 'SignFailed',
  SignPending: 'SignPending',
  ImageCheckFailed: 'ImageCheckFailed',
  ImageMissing: 'ImageMissing',
  ImageRebuildTriggered: 'ImageRebuildTriggered',
} as const;
