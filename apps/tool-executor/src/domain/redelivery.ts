import {
  leaseRemainingMs,
  type DoneRecord,
  type ExecutionOutcome,
  type ExecutionRecord,
  type StartedRecord,
} from './execution-record.js';
import { ExecutorReason } from './reasons.js';
import { mayRunAgain, type ToolTraits } from './tools.js';

/** Attempts of one intent (first run and re-executions) before it is given up as `failed`. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** A retry sooner than this would only find the lease still held. */
const MIN_WAIT_MS = 100;

/** What to do with a `budget.reserved` whose intent already has an execution record. */
export type Redelivery =
  /** Resolved before: publish the recorded resolution again (same event id: JetStream drops it). */
  | { readonly action: 'republish'; readonly record: DoneRecord }
  /** An attempt holds a live lease (another replica, or this one, is running it): come back later. */
  | { readonly action: 'wait'; readonly retryMs: number }
  /** The attempt was cut short and running again is safe: run attempt `record.attempt + 1`. */
  | { readonly action: 're_execute'; readonly record: StartedRecord }
  /** The attempt was cut short and cannot be retried: record and publish this outcome. */
  | {
      readonly action: 'resolve';
      readonly record: StartedRecord;
      readonly outcome: ExecutionOutcome;
    }
  /** The intent id was claimed with other args (idempotency-key semantics, DESIGN §5): refuse. */
  | { readonly action: 'refuse'; readonly message: string };

/** What {@link decideRedelivery} weighs besides the record. */
export interface RedeliveryInput {
  /** `digestArgs` of the event being handled. */
  readonly argsDigest: string;
  /** The tool's traits now, or `undefined` if no runner knows the tool any more. */
  readonly traits: ToolTraits | undefined;
  /**
   * Why the tool would not be started if this were the first attempt (its args fail today's
   * schema), or `undefined` when it would.
   */
  readonly rejection: ExecutionOutcome | undefined;
  readonly now: number;
  readonly maxAttempts: number;
}

/**
 * The redelivery rule of DESIGN §5, for an intent whose execution record already exists (this
 * event was redelivered, or a copy of it arrived, or another replica claimed it first):
 *
 * - other args under the same intent id → refuse: an idempotency key names one request;
 * - `done` → republish the recorded resolution, never run the tool again;
 * - `started` under a live lease → wait for the lease to end rather than run it twice at once;
 * - `started` with an expired lease (its executor died or stalled): run it again only if that
 *   cannot apply the side effect twice (read-only, or the upstream honours idempotency keys) and
 *   attempts remain; otherwise resolve `in_doubt` (`interrupted`) for a human to check.
 */
export function decideRedelivery(record: ExecutionRecord, input: RedeliveryInput): Redelivery {
  if (record.args_digest !== input.argsDigest) {
    return {
      action: 'refuse',
      message: `intent ${record.intent_id} was already claimed with other args (${record.tool}); one intent id names one request`,
    };
  }
  if (record.state === 'done') return { action: 'republish', record };

  const remaining = leaseRemainingMs(record, input.now);
  if (remaining > 0)
    return { action: 'wait', retryMs: Math.max(MIN_WAIT_MS, Math.ceil(remaining)) };

  if (input.traits === undefined || !mayRunAgain(input.traits)) {
    return {
      action: 'resolve',
      record,
      outcome: {
        status: 'in_doubt',
        reason: ExecutorReason.interrupted,
        message: `attempt ${record.attempt} of ${record.tool} was interrupted and the tool ${
          input.traits === undefined ? 'is no longer known' : 'may have applied its side effect'
        }: not run again; check the target system before retrying`,
      },
    };
  }
  if (record.attempt >= input.maxAttempts) {
    return {
      action: 'resolve',
      record,
      outcome: {
        status: 'failed',
        reason: ExecutorReason.attemptsExhausted,
        message: `${record.tool} was started ${record.attempt} times without finishing`,
      },
    };
  }
  // The tool's schema changed since the first attempt and these args no longer pass it.
  if (input.rejection !== undefined) return { action: 'resolve', record, outcome: input.rejection };
  return { action: 're_execute', record };
}
