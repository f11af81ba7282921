import type { Envelope } from '@warden/contracts';
import { DeniedError, InDoubtError, RejectedError, type WardenCallError } from './errors.js';

/** What a governed call that ran returns: `executed`, or `failed` (the tool ran and failed). */
export interface CallResult {
  /** The intent's id: its idempotency key, and the key of its audit trail. */
  readonly intentId: string;
  /** `executed`, or `failed` when the tool ran and reported a failure. */
  readonly status: 'executed' | 'failed';
  /** The tool's output (redacted in the audit log, not here). */
  readonly output?: unknown;
  /** How long the tool took, as the executor measured it. */
  readonly durationMs?: number;
  /** Why it failed, as a stable code. */
  readonly reason?: string;
  /** A message a person can act on. */
  readonly message?: string;
  /** The `intent.resolved` event itself. */
  readonly event: Envelope<'intent.resolved'>;
}

/**
 * What an outcome means for the caller: a {@link CallResult} when the tool ran (`executed` or
 * `failed`), the error to throw otherwise. One exhaustive switch over the statuses, so a status
 * added to the contract fails the build here.
 */
export function settle(
  event: Envelope<'intent.resolved'>,
  intentId: string,
): { ok: true; result: CallResult } | { ok: false; error: WardenCallError } {
  const { data } = event;
  switch (data.status) {
    case 'executed':
    case 'failed':
      return {
        ok: true,
        result: {
          intentId,
          status: data.status,
          event,
          ...(data.output === undefined ? {} : { output: data.output }),
          ...(data.duration_ms === undefined ? {} : { durationMs: data.duration_ms }),
          ...(data.reason === undefined ? {} : { reason: data.reason }),
          ...(data.message === undefined ? {} : { message: data.message }),
        },
      };
    case 'denied':
      return { ok: false, error: new DeniedError(event, intentId) };
    case 'rejected':
      return { ok: false, error: new RejectedError(event, intentId) };
    case 'in_doubt':
      return { ok: false, error: new InDoubtError(event, intentId) };
  }
}
