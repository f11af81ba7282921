import type { Envelope } from '@warden/contracts';
import {
  ApprovalDeniedError,
  BudgetExceededError,
  DeniedError,
  InDoubtError,
  RateLimitedError,
  RejectedError,
  RunHaltedError,
  StepCapReachedError,
  WardenCallError,
} from './errors.js';

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
 * `failed`), the error to throw otherwise ({@link outcomeError}). One exhaustive switch over the
 * statuses, so a status added to the contract fails the build here.
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
      return { ok: false, error: deniedError(event, intentId) };
    case 'rejected':
      return { ok: false, error: new RejectedError(event, intentId) };
    case 'in_doubt':
      return { ok: false, error: new InDoubtError(event, intentId) };
  }
}

/**
 * The error of a denial: the one place where a reason code of `intent.resolved{denied}` becomes an
 * error class, the subclass of {@link DeniedError} for its reason (the codes the cost governor and
 * the policy service emit), or a plain `DeniedError` for any other reason.
 *
 * | reason | error |
 * |---|---|
 * | `run_budget`, `daily_budget`, `budget_exhausted` | {@link BudgetExceededError} |
 * | `step_cap` | {@link StepCapReachedError} |
 * | `rate_limited` | {@link RateLimitedError} |
 * | `paused`, `upstream_degraded`, `loop` | {@link RunHaltedError} |
 * | `approval_denied`, `approval_expired` | {@link ApprovalDeniedError} |
 * | anything else (`not_permitted`, `forbidden`, `no_policy`, `no_run`…) | {@link DeniedError} |
 *
 * `no_run` (the governor knows no such run: `startRun` was never called for it) stays a plain
 * `DeniedError`: nothing halted the run, the caller has to start it.
 */
export function deniedError(event: Envelope<'intent.resolved'>, intentId: string): DeniedError {
  switch (event.data.reason) {
    case 'run_budget':
    case 'daily_budget':
    case 'budget_exhausted':
      return new BudgetExceededError(event, intentId);
    case 'step_cap':
      return new StepCapReachedError(event, intentId);
    case 'rate_limited':
      return new RateLimitedError(event, intentId);
    case 'paused':
    case 'upstream_degraded':
    case 'loop':
      return new RunHaltedError(event, intentId);
    case 'approval_denied':
    case 'approval_expired':
      return new ApprovalDeniedError(event, intentId);
    case undefined:
    default:
      return new DeniedError(event, intentId);
  }
}

/**
 * The error of a model call answered by `intent.resolved` instead of `model.routed`: the denial's
 * typed error, or, for a status a model call should never get, a plain {@link WardenCallError}.
 */
export function modelCallError(
  event: Envelope<'intent.resolved'>,
  intentId: string,
): WardenCallError {
  const settled = settle(event, intentId);
  return settled.ok
    ? new WardenCallError(`model call ${intentId} resolved ${event.data.status}`, {
        intentId,
        status: 'rejected',
        stage: event.data.stage,
        reason: event.data.reason,
        event,
      })
    : settled.error;
}
