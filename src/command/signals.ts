/**
 * How a long-running command stops: on the first SIGTERM (what Kubernetes sends a pod) or
 * SIGINT (Ctrl-C).
 */

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Runs `body` with `abort` aborted on the first stop signal; when `body` ends, the listeners go
 * and `abort` is aborted, so that whatever hangs on its signal is released.
 */
export async function abortOnStopSignal<T>(
  abort: AbortController,
  body: () => Promise<T>,
): Promise<T> {
  const stop = () => abort.abort();
  for (const s of STOP_SIGNALS) process.once(s, stop);
  try {
    return await body();
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, stop);
    abort.abort();
  }
}

/** Resolves on the first stop signal. */
export function stopSignal(): Promise<void> {
  const abort = new AbortController();
  return abortOnStopSignal(
    abort,
    () => new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve())),
  );
}
