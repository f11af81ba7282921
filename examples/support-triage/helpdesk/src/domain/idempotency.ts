import { createHash } from 'node:crypto';

/** The first answer to a write, replayed for every retry with the same `Idempotency-Key`. */
export interface StoredResponse {
  readonly fingerprint: string;
  readonly status: number;
  readonly body: unknown;
  readonly created_at: string;
}

/** A write that changed the data, in the order applied (`GET /_admin/writes`). */
export interface AppliedWrite {
  readonly seq: number;
  readonly at: string;
  readonly operation: 'update_ticket' | 'add_note' | 'bulk_close';
  readonly ticket_ids: readonly number[];
  readonly idempotency_key: string | null;
}

// Keys sorted at every level: the same JSON with fields in another order is the same request.
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/**
 * What makes two writes "the same request" for an idempotency key: method, path and the parsed
 * body (so whitespace and field order do not matter).
 */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(canonical(body))}`)
    .digest('hex');
}

/** An `Idempotency-Key` is 1–255 visible ASCII characters. */
export function isValidIdempotencyKey(key: string): boolean {
  return /^[\x21-\x7e]{1,255}$/.test(key);
}
