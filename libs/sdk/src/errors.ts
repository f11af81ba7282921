import type { Envelope, ResolutionStatus, Stage } from '@warden/contracts';

/**
 * A governed call that did not execute: Warden's answer, not a transport failure. Branch on the
 * subclass (`DeniedError`, `RejectedError`, `InDoubtError`, `CallTimeoutError`) or on `status`.
 */
export class WardenCallError extends Error {
  override readonly name: string = 'WardenCallError';
  constructor(
    message: string,
    /** The intent this answer is about (retry with the same id to get the same answer). */
    readonly intentId: string,
    /** `denied`, `rejected`, `in_doubt`, or `timeout` when no answer came in time. */
    readonly status: ResolutionStatus | 'timeout',
    /** The stage that answered (`identity`, `policy`, `budget`, `executor`…), `''` on timeout. */
    readonly stage: Stage | '',
    /** A stable reason code (`not_allowed`, `step_cap`, `token_expired`…). */
    readonly reason: string | undefined,
    /** The `intent.resolved` event, when there was one. */
    readonly event?: Envelope<'intent.resolved'>,
  ) {
    super(message);
  }
}

/** A policy or budget said no (`status: 'denied'`): the agent may not do this now. */
export class DeniedError extends WardenCallError {
  override readonly name = 'DeniedError';
  /** The policies that determined the denial, when a policy did. */
  readonly policyIds: readonly string[];
  constructor(event: Envelope<'intent.resolved'>, intentId: string) {
    const { data } = event;
    super(describe(data), intentId, 'denied', data.stage, data.reason, event);
    this.policyIds = data.policy_ids ?? [];
  }
}

/** The call was refused as malformed or unauthenticated (`status: 'rejected'`): fix and retry. */
export class RejectedError extends WardenCallError {
  override readonly name = 'RejectedError';
  /** What was wrong, path by path, when Warden said. */
  readonly details: readonly { path: string; message: string }[];
  constructor(event: Envelope<'intent.resolved'>, intentId: string) {
    const { data } = event;
    super(describe(data), intentId, 'rejected', data.stage, data.reason, event);
    this.details = data.details ?? [];
  }
}

/**
 * The executor cannot tell whether the side effect happened (`status: 'in_doubt'`): a person
 * resolves it. Do not retry blindly.
 */
export class InDoubtError extends WardenCallError {
  override readonly name = 'InDoubtError';
  constructor(event: Envelope<'intent.resolved'>, intentId: string) {
    const { data } = event;
    super(describe(data), intentId, 'in_doubt', data.stage, data.reason, event);
  }
}

/**
 * No outcome arrived in time. The call may still complete: `run.call` with the same `intentId`
 * later returns its outcome without doing it twice.
 */
export class CallTimeoutError extends WardenCallError {
  override readonly name = 'CallTimeoutError';
  constructor(intentId: string, timeoutMs: number) {
    super(
      `no outcome for intent ${intentId} within ${timeoutMs} ms; call again with the same intentId to get it`,
      intentId,
      'timeout',
      '',
      'timeout',
    );
  }
}

/** Connecting failed, or the client is closed: nothing was proposed. */
export class WardenConnectionError extends Error {
  override readonly name = 'WardenConnectionError';
}

function describe(data: Envelope<'intent.resolved'>['data']): string {
  const what = `${data.tool ?? 'call'} ${data.status} at ${data.stage}`;
  const why = data.reason ? ` (${data.reason})` : '';
  return data.message ? `${what}${why}: ${data.message}` : `${what}${why}`;
}

/** The error a non-executing outcome becomes, or `undefined` for executed and failed calls. */
export function errorOf(
  event: Envelope<'intent.resolved'>,
  intentId: string,
): WardenCallError | undefined {
  switch (event.data.status) {
    case 'executed':
    case 'failed':
      return undefined;
    case 'denied':
      return new DeniedError(event, intentId);
    case 'rejected':
      return new RejectedError(event, intentId);
    case 'in_doubt':
      return new InDoubtError(event, intentId);
  }
}
