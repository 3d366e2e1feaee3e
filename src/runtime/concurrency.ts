/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the items' order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Like `mapLimit`, but a call that throws does not stop the others: every item is tried, and
 * the errors thrown are returned (empty when all succeeded), so a caller can report them all.
 */
export async function settleLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  await mapLimit(items, limit, async (item) => {
    try {
      await fn(item);
    } catch (e) {
      errors.push(e);
    }
  });
  return errors;
}
