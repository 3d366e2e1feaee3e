/**
 * Per-item failures of one reconcile, reported together. A reconcile that writes to many
 * objects keeps going past a failed write (the others still get their turn), then throws once so
 * that the key is retried with backoff: this error when there is one, an AggregateError whose
 * message names every failure otherwise.
 */
export function throwAll(errors: readonly unknown[]): void {
  if (errors.length === 0) return;
  if (errors.length === 1) throw errors[0];
  const messages = errors.map((e) => (e instanceof Error ? e.message : String(e)));
  throw new AggregateError(errors, `${errors.length} failures: ${messages.join('; ')}`);
}

/**
 * Runs `fn` on every item, `n` at a time, and returns the failures instead of stopping at the
 * first (hand them to throwAll once the rest of the reconcile is done).
 */
export async function settleEach<T>(
  items: readonly T[],
  n: number,
  fn: (item: T) => Promise<unknown>,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  let i = 0;
  const run = async (): Promise<void> => {
    while (i < items.length) {
      const item = items[i++]!;
      try {
        await fn(item);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, run));
  return errors;
}
