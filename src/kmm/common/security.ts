/** Where worker pods get their service account when the Module names none (SPEC §3.3). */
export interface SecurityOptions {
  /** The operator's own, trusted namespace. */
  operatorNamespace: string;
  /** The privileged service account worker pods use in the operator's namespace. */
  workerServiceAccount: string;
}
