/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. Default 10 s (well under Vitest's 30 s test timeout). */
  timeoutMs?: number;
  /** Time between two checks. Default 25 ms. */
  intervalMs?: number;
  /** What was awaited, for the error thrown on timeout (`"the consumer to drain"`). */
  message?: string;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `predicate` until it returns a truthy value, and resolves to that value. A predicate that
 * throws counts as "not yet" (the condition may depend on something still starting); the last
 * error or value is quoted in the timeout error so a failing test says what it saw.
 *
 * @example
 * const info = await waitFor(async () => {
 *   const ci = await jsm.consumers.info(stream, durable);
 *   return ci.num_ack_pending === 0 && ci;
 * }, { message: 'every message acked' });
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<Awaited<T>>> {
  const { timeoutMs = 10_000, intervalMs = 25, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let last: { error: unknown } | { value: unknown } = { value: undefined };
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const seen =
    'error' in last
      ? `last error: ${last.error instanceof Error ? last.error.message : String(last.error)}`
      : `last value: ${describe(last.value)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${message} (${seen})`);
}

function describe(value: unknown): string {
  try {
    // JSON.stringify returns undefined (despite its type) for undefined and functions.
    const text = JSON.stringify(value) as unknown;
    return typeof text === 'string' ? text : String(value);
  } catch {
    return String(value);
  }
}
