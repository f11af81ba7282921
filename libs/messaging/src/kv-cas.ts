import { JetStreamApiCodes } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { MessagingError } from './messaging.errors.js';
import { isApiError } from './provision.js';

/** Options of {@link casUpdate}. */
export interface CasOptions<T = unknown> {
  /** Attempts (read, compute, write) before giving up with `cas_conflict`. Default 10. */
  maxAttempts?: number;
  /** Upper bound of the random pause after a conflict, doubled per attempt. Default 2 ms. */
  backoffMs?: number;
  /**
   * The value and revision this caller last read or wrote (a cache of its own): the first round
   * computes on it instead of reading the key, saving a round trip and a parse. When someone
   * wrote since, that round loses like any other and the next one reads. Omit it when unsure:
   * `undefined` as `value` means the key was absent at `revision`.
   */
  known?: { readonly value: T | undefined; readonly revision: number } | undefined;
}

/** What {@link casUpdate} ended with. */
export interface CasResult<T> {
  /** The value now stored (`undefined`: the key is absent and `mutate` left it so). */
  readonly value: T | undefined;
  /** The key's revision after the call (0 when it never existed). */
  readonly revision: number;
  /** Whether this call wrote (false when `mutate` returned `undefined`). */
  readonly written: boolean;
  /** How many read-compute-write rounds it took. */
  readonly attempts: number;
}

const encoder = new TextEncoder();

/**
 * Read-modify-write of one JSON value under compare-and-set (DESIGN §4): reads the value and its
 * revision, computes the next value with `mutate`, and writes it only if nobody wrote in between
 * (`update(key, value, revision)`, or `create` when the key is absent). When another writer won
 * (`wrong last sequence`), it reads again and retries, so concurrent replicas never lose an
 * increment or overspend a budget. `mutate` may run several times: keep it free of side effects.
 *
 * `mutate` returning `undefined` means "leave it": nothing is written.
 *
 * @throws MessagingError `cas_conflict` (retryable) after `maxAttempts` lost races.
 * @example
 * await casUpdate<{ spent: number }>(budgets, runId, (b) => ({ spent: (b?.spent ?? 0) + cost }));
 */
export async function casUpdate<T>(
  kv: KV,
  key: string,
  mutate: (current: T | undefined) => T | undefined | Promise<T | undefined>,
  options: CasOptions<T> = {},
): Promise<CasResult<T>> {
  const { maxAttempts = 10, backoffMs = 2 } = options;
  let known = options.known;
  for (let attempt = 1; ; attempt++) {
    const { value, revision } = known ?? (await read(kv, key));
    const current = value as T | undefined;
    const fromCache = known !== undefined;
    known = undefined;
    const next = await mutate(current);
    if (next === undefined) return { value: current, revision, written: false, attempts: attempt };
    const bytes = encoder.encode(JSON.stringify(next));
    try {
      const written =
        revision === 0 ? await kv.create(key, bytes) : await kv.update(key, bytes, revision);
      return { value: next, revision: written, written: true, attempts: attempt };
    } catch (error) {
      const conflict = isApiError(
        error,
        JetStreamApiCodes.StreamWrongLastSequence,
        JetStreamApiCodes.StreamWrongLastSequenceUnknown,
      );
      if (!conflict) throw error;
      if (attempt >= maxAttempts) {
        throw new MessagingError(
          'cas_conflict',
          `compare-and-set of KV key ${key} lost to concurrent writers ${attempt} times`,
          { cause: error },
        );
      }
      // A stale cache is no collision: read again at once.
      if (fromCache) continue;
      // Jittered pause: writers that collided should not collide again in lockstep.
      const pause = Math.random() * backoffMs * 2 ** Math.min(attempt - 1, 6);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

async function read(kv: KV, key: string): Promise<{ value: unknown; revision: number }> {
  const entry = await kv.get(key);
  // A deleted or purged key keeps a revision (its tombstone): write over it with that revision.
  const present = entry !== null && entry.operation === 'PUT';
  return { value: present ? entry.json() : undefined, revision: entry?.revision ?? 0 };
}
