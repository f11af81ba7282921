import { formatMicros } from '@warden/contracts';
import type { SealedSigningKey } from './signing-key.js';

/**
 * The broker's signing keys as one document (KV `signing_keys`, key {@link RING_KEY}): the key
 * that signs now, and the previous keys that still verify until `retires_at`. One document
 * written by compare-and-set, so a rotation is one atomic step and replicas that race agree on
 * its outcome (see credentials/key-ring.kv.ts).
 */
export interface KeyRingDocument {
  readonly active: SealedSigningKey;
  readonly previous: readonly RetiringKey[];
}

/** A key that no longer signs; it verifies until `retires_at` (its last token's expiry + leeway). */
export interface RetiringKey extends SealedSigningKey {
  /** RFC 3339 (µs). */
  readonly retires_at: string;
}

/** The KV key of the ring document. */
export const RING_KEY = 'ring';

/** A ring whose only key is `first`. */
export function firstRing(first: SealedSigningKey): KeyRingDocument {
  return { active: first, previous: [] };
}

/**
 * `ring` after `next` replaced the active key at `nowMs`. The replaced key retires once every
 * token it may have signed has expired: `retireAfterMs` is the longest token lifetime plus the
 * clock leeway. Previous keys already past their retirement are dropped.
 */
export function rotatedRing(
  ring: KeyRingDocument,
  next: SealedSigningKey,
  nowMs: number,
  retireAfterMs: number,
): KeyRingDocument {
  const retiring: RetiringKey = {
    ...ring.active,
    retires_at: formatMicros((nowMs + retireAfterMs) * 1000),
  };
  return {
    active: next,
    previous: [retiring, ...ring.previous.filter((key) => !isRetired(key, nowMs))],
  };
}

/**
 * Whether the schedule wants a rotation at `nowMs`: the active key is `periodMs` old. `periodMs`
 * 0 means no schedule. Every replica computes the same answer from the same document, and the
 * rotation it triggers replaces that document: a replica that lost the race reads the new active
 * key, which is not due, and does nothing. Hence exactly one rotation per period.
 */
export function rotationDue(ring: KeyRingDocument, periodMs: number, nowMs: number): boolean {
  return periodMs > 0 && nowMs >= nextRotationAt(ring, periodMs);
}

/** Epoch ms at which the schedule rotates the active key. */
export function nextRotationAt(ring: KeyRingDocument, periodMs: number): number {
  return timestampMs(ring.active.created_at) + periodMs;
}

/** The keys that verify at `nowMs`: the active one and the previous ones not yet retired. */
export function verifyingKeys(ring: KeyRingDocument, nowMs: number): SealedSigningKey[] {
  return [ring.active, ...ring.previous.filter((key) => !isRetired(key, nowMs))];
}

/** Whether a previous key's tokens have all expired at `nowMs`. */
export function isRetired(key: RetiringKey, nowMs: number): boolean {
  return timestampMs(key.retires_at) <= nowMs;
}

/** Epoch ms of an RFC 3339 timestamp with microseconds (`Date.parse` reads at most ms). */
export function timestampMs(value: string): number {
  return Date.parse(value.replace(/(\.\d{3})\d+Z$/, '$1Z'));
}
