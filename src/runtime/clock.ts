/** Time as the runtime sees it; tests pass a fake one. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms`, or at once (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Exponential backoff with jitter, as client-go's wait.Backoff: base·factor^n, capped. */
export class Backoff {
  private n = 0;
  constructor(
    private readonly baseMs: number,
    private readonly capMs: number,
    private readonly factor = 2,
    private readonly jitter = 0.1,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const d = Math.min(this.capMs, this.baseMs * this.factor ** this.n);
    this.n++;
    return d * (1 + this.jitter * this.random());
  }

  reset(): void {
    this.n = 0;
  }
}
