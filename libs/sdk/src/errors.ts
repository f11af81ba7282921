import type { Envelope, ResolutionStatus, Stage } from '@warden/contracts';

/** The fields every {@link WardenCallError} carries besides its message. */
export interface CallErrorDetails {
  /** The intent this answer is about (call again with the same id to get the same answer). */
  readonly intentId: string;
  /**
   * `denied`, `rejected`, `in_doubt`; `approval_pending` while a human has not answered yet;
   * `timeout` when no answer came in time.
   */
  readonly status:
    Exclude<ResolutionStatus, 'executed' | 'failed'> | 'approval_pending' | 'timeout';
  /** The stage that answered (`identity`, `policy`, `budget`, `executor`…); `''` on a timeout. */
  readonly stage: Stage | '';
  /** A stable reason code (`not_permitted`, `step_cap`, `token_expired`, `timeout`…). */
  readonly reason: string | undefined;
  /** The `intent.resolved` event, when there was one. */
  readonly event?: Envelope<'intent.resolved'>;
}

/**
 * A governed call that did not run: Warden's answer (or its silence), never a transport failure.
 * Branch on the subclass (`DeniedError` and its kinds, `ApprovalPendingError`, `RejectedError`,
 * `InDoubtError`, `CallTimeoutError`) or on `status`.
 */
export class WardenCallError extends Error {
  override readonly name: string = 'WardenCallError';
  /** The intent this answer is about (call again with the same id to get the same answer). */
  readonly intentId: string;
  /** `denied`, `rejected`, `in_doubt`, `approval_pending`, or `timeout`. */
  readonly status: CallErrorDetails['status'];
  /** The stage that answered (`identity`, `policy`, `budget`, `executor`…); `''` on a timeout. */
  readonly stage: Stage | '';
  /** A stable reason code (`not_permitted`, `step_cap`, `token_expired`, `timeout`…). */
  readonly reason: string | undefined;
  /** The `intent.resolved` event, when there was one. */
  readonly event: Envelope<'intent.resolved'> | undefined;

  constructor(message: string, details: CallErrorDetails, options?: ErrorOptions) {
    super(message, options);
    this.intentId = details.intentId;
    this.status = details.status;
    this.stage = details.stage;
    this.reason = details.reason;
    this.event = details.event;
  }
}

/**
 * A policy or a budget said no (`status: 'denied'`): the agent may not do this now. The kinds a
 * caller usually branches on are subclasses ({@link BudgetExceededError},
 * {@link StepCapReachedError}, {@link RateLimitedError}, {@link RunHaltedError},
 * {@link ApprovalDeniedError}), so `instanceof DeniedError` still catches every denial; any other
 * reason (`not_permitted`, `forbidden`, `no_policy`, `no_run`…) is a plain `DeniedError`.
 */
export class DeniedError extends WardenCallError {
  override readonly name: string = 'DeniedError';
  /** The policies that determined the denial, when a policy did. */
  readonly policyIds: readonly string[];

  constructor(event: Envelope<'intent.resolved'>, intentId: string) {
    super(describe(event.data), detailsOf(event, intentId, 'denied'));
    this.policyIds = event.data.policy_ids ?? [];
  }
}

/**
 * Money ran out: the run's budget (`run_budget`, also its wall-clock time), the agent's or
 * workflow's daily budget (`daily_budget`), or, for a model call, no model fits what the run has
 * left (`budget_exhausted`). Retrying will not help until an operator raises the budget or a new
 * day (daily) starts.
 */
export class BudgetExceededError extends DeniedError {
  override readonly name: string = 'BudgetExceededError';
  declare readonly reason: BudgetReason;
}

/** The run has used every step it may take (`step_cap`): end it, or start a new run. */
export class StepCapReachedError extends DeniedError {
  override readonly name: string = 'StepCapReachedError';
  declare readonly reason: 'step_cap';
}

/**
 * The agent called this tool more often than its rate limit allows (`rate_limited`): wait and
 * retry with a new intent id (the message says how long the window is).
 */
export class RateLimitedError extends DeniedError {
  override readonly name: string = 'RateLimitedError';
  declare readonly reason: 'rate_limited';
}

/**
 * Warden stopped the run: the agent or its workflow is paused (`paused`, until an operator runs
 * `warden resume`), the tool's upstream is degraded (`upstream_degraded`, until its breaker
 * closes), or the run was halted as a loop (`loop`, for good: end the run). A `run.halted` event
 * records it once per run and cause.
 */
export class RunHaltedError extends DeniedError {
  override readonly name: string = 'RunHaltedError';
  declare readonly reason: HaltReason;
}

/**
 * The approval this call waited for was refused by a human (`approval_denied`, the message carries
 * who and why) or nobody answered in time (`approval_expired`). The intent is over: propose it
 * again (a new intent id) only if something changed.
 */
export class ApprovalDeniedError extends DeniedError {
  override readonly name: string = 'ApprovalDeniedError';
  declare readonly reason: ApprovalDenialReason;
}

/** The reasons of a {@link BudgetExceededError}. */
export const BUDGET_REASONS = ['run_budget', 'daily_budget', 'budget_exhausted'] as const;
/** A reason of a {@link BudgetExceededError}. */
export type BudgetReason = (typeof BUDGET_REASONS)[number];
/** The reasons of a {@link RunHaltedError}. */
export const HALT_REASONS = ['paused', 'upstream_degraded', 'loop'] as const;
/** A reason of a {@link RunHaltedError}. */
export type HaltReason = (typeof HALT_REASONS)[number];
/** The reasons of an {@link ApprovalDeniedError}. */
export const APPROVAL_DENIAL_REASONS = ['approval_denied', 'approval_expired'] as const;
/** A reason of an {@link ApprovalDeniedError}. */
export type ApprovalDenialReason = (typeof APPROVAL_DENIAL_REASONS)[number];

/**
 * The call waits for a human (`approval.requested`): not a denial, the intent stays pending. A
 * member of `group` approves it with {@link ApprovalPendingError.command}; then `run.call` with the
 * same `intentId` (and `waitForApproval`) returns its outcome, without proposing it twice.
 */
export class ApprovalPendingError extends WardenCallError {
  override readonly name: string = 'ApprovalPendingError';
  /** The approval's id, as `warden approvals list|show|approve|deny` take it. */
  readonly approvalId: string;
  /** The group whose members may approve (`@approval("<group>")` of the policy). */
  readonly group: string;
  /** The agent's owner may not approve it (`@separation_of_duties`); who the owner is, if known. */
  readonly separationOfDuties: boolean;
  /** The agent's owner, when the request says. */
  readonly owner: string | undefined;
  /** When the request expires unanswered (RFC 3339); then the call is denied `approval_expired`. */
  readonly expiresAt: string;
  /** The policies that asked for the approval. */
  readonly policyIds: readonly string[];
  /** The command a member of the group runs to approve it. */
  readonly command: string;
  /** The `approval.requested` event. */
  readonly request: Envelope<'approval.requested'>;

  constructor(request: Envelope<'approval.requested'>, intentId: string) {
    const { data } = request;
    const command = `warden approvals approve ${data.approval_id} --env ${request.env} --reason "<why>"`;
    super(
      `${data.tool} waits for approval ${data.approval_id} by ${data.group} (expires ${data.expires_at}): ${command}`,
      { intentId, status: 'approval_pending', stage: 'approval', reason: 'approval_required' },
    );
    this.approvalId = data.approval_id;
    this.group = data.group;
    this.separationOfDuties = data.separation_of_duties;
    this.owner = data.owner;
    this.expiresAt = data.expires_at;
    this.policyIds = data.policy_ids;
    this.command = command;
    this.request = request;
  }
}

/** The call was refused as malformed or unauthenticated (`status: 'rejected'`): fix it first. */
export class RejectedError extends WardenCallError {
  override readonly name: string = 'RejectedError';
  /** What was wrong, path by path, when Warden said. */
  readonly details: readonly { readonly path: string; readonly message: string }[];

  constructor(event: Envelope<'intent.resolved'>, intentId: string) {
    super(describe(event.data), detailsOf(event, intentId, 'rejected'));
    this.details = event.data.details ?? [];
  }
}

/**
 * The executor cannot tell whether the side effect happened (`status: 'in_doubt'`): a person
 * settles it. Do not retry with a new intent id.
 */
export class InDoubtError extends WardenCallError {
  override readonly name: string = 'InDoubtError';

  constructor(event: Envelope<'intent.resolved'>, intentId: string) {
    super(describe(event.data), detailsOf(event, intentId, 'in_doubt'));
  }
}

/**
 * No outcome arrived in time. The call may still complete: `run.call` with the same `intentId`
 * later returns its outcome without doing it twice.
 */
export class CallTimeoutError extends WardenCallError {
  override readonly name: string = 'CallTimeoutError';
  /** How long the call waited. */
  readonly timeoutMs: number;

  constructor(intentId: string, timeoutMs: number) {
    super(
      `no outcome for intent ${intentId} within ${timeoutMs} ms; call again with the same intentId to get it`,
      { intentId, status: 'timeout', stage: '', reason: 'timeout' },
    );
    this.timeoutMs = timeoutMs;
  }
}

/** Why a {@link WardenConnectionError} was thrown. */
export type WardenConnectionErrorCode =
  /** No NATS server answered at the URL given. */
  | 'nats_unreachable'
  /** A NATS server answered but refused the connection, or has JetStream disabled. */
  | 'nats_rejected'
  /** NATS answered, but no identity broker (Warden is not running for this env). */
  | 'no_identity_broker'
  /** The broker does not know the agent, or the secret or assertion is wrong (same answer for both). */
  | 'invalid_client'
  /** The agent is suspended: an operator must resume it. */
  | 'agent_suspended'
  /** The agent is retired: it gets no more tokens. */
  | 'agent_retired'
  /**
   * The client asked for a NATS credential (`nats.bootstrapCreds`) but this env's broker mints
   * none: set IDENTITY_NATS_ACCOUNT_SIGNING_SEED and IDENTITY_NATS_ACCOUNT on the broker, or
   * connect without `nats` to a server without scoped access.
   */
  | 'nats_credentials_unavailable'
  /** The identity broker answered but gave no token, for another reason (its message says). */
  | 'credential_refused'
  /** The env has no event stream (Warden was never started for it). */
  | 'env_not_provisioned'
  /** An option of `Warden.connect` is invalid. */
  | 'invalid_options'
  /** The client was closed (by `close()`), so the call was abandoned or never made. */
  | 'closed';

/**
 * Connecting failed, or the client is closed: nothing was proposed, or an answer was abandoned.
 * The message says what to do.
 */
export class WardenConnectionError extends Error {
  override readonly name = 'WardenConnectionError';
  /** A stable code for what went wrong. */
  readonly code: WardenConnectionErrorCode;

  constructor(code: WardenConnectionErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** Nobody answers the token API of `env`: Warden is not running there. */
  static noIdentityBroker(env: string, cause?: unknown): WardenConnectionError {
    return new WardenConnectionError(
      'no_identity_broker',
      `no identity broker answers for env "${env}": start Warden (\`npm start\`, or \`warden up --env ${env}\`)`,
      { cause },
    );
  }

  /** The env's stream does not exist: Warden was never started for `env`. */
  static envNotProvisioned(env: string, cause?: unknown): WardenConnectionError {
    return new WardenConnectionError(
      'env_not_provisioned',
      `env "${env}" has no event stream on this NATS server: start Warden (\`npm start\`, or \`warden up --env ${env}\`)`,
      { cause },
    );
  }

  /** The client was closed while a call waited, or before it was made. */
  static closed(): WardenConnectionError {
    return new WardenConnectionError('closed', 'the Warden client was closed');
  }
}

/** Whether `error` is a {@link WardenCallError}: Warden answered, or did not answer in time. */
export function isWardenCallError(error: unknown): error is WardenCallError {
  return error instanceof WardenCallError;
}

function detailsOf(
  event: Envelope<'intent.resolved'>,
  intentId: string,
  status: CallErrorDetails['status'],
): CallErrorDetails {
  return { intentId, status, stage: event.data.stage, reason: event.data.reason, event };
}

function describe(data: Envelope<'intent.resolved'>['data']): string {
  const what = `${data.tool ?? 'call'} ${data.status} at ${data.stage}`;
  const why = data.reason ? ` (${data.reason})` : '';
  return data.message ? `${what}${why}: ${data.message}` : `${what}${why}`;
}

/** A call as a replay compares it: a tool and its args, or a model call and its task class. */
export interface ReplayedCall {
  /** `tool` for `run.call`, `model` for `run.model`. */
  readonly kind: 'tool' | 'model';
  /** The tool's name, or the model call's task class. */
  readonly name: string;
  /** The tool's args (as the audit log stores them: redacted); `{}` for a model call. */
  readonly args: Readonly<Record<string, unknown>>;
}

/**
 * A replayed agent asked for something its recording does not have (`Warden.replay`): another
 * tool or other args at a step, or a step past the recording's end. Deliberately not a
 * {@link WardenCallError}: no Warden answer exists for it, and agent code that branches on
 * Warden's answers must not swallow it as one.
 */
export class NonDeterminismError extends Error {
  override readonly name = 'NonDeterminismError';
  /** The step (1-based, as the run counted it; for a model call, its position among them). */
  readonly step: number;
  /** What the recording has at that step; `undefined` past its end. */
  readonly recorded: ReplayedCall | undefined;
  /** What the agent asked for. */
  readonly asked: ReplayedCall;
  /** Where they differ, e.g. `args.ticket_id: recorded 3, asked 4`; `undefined` past the end. */
  readonly difference: string | undefined;

  constructor(
    step: number,
    recorded: ReplayedCall | undefined,
    asked: ReplayedCall,
    difference: string | undefined,
  ) {
    const what = asked.kind === 'tool' ? 'step' : 'model call';
    super(
      recorded === undefined
        ? `replay ${what} ${step}: the agent asked for ${describeCall(asked)}, but the recording ends before it`
        : `replay ${what} ${step}: the recording has ${describeCall(recorded)}, the agent asked for ${describeCall(asked)} (${difference ?? 'they differ'})`,
    );
    this.step = step;
    this.recorded = recorded;
    this.asked = asked;
    this.difference = difference;
  }
}

/** Why a recording could not be loaded ({@link RecordingError}). */
export type RecordingErrorCode =
  /** The audit log has no intent of that run in that env. */
  | 'not_found'
  /** The recording is not one `warden runs recording` or `Warden.replay` would produce. */
  | 'invalid'
  /** The run has more events than one timeline read returns: replaying part of it would lie. */
  | 'incomplete'
  /** A sealed output no longer opens (its run's key was erased, or it was not sealed by it). */
  | 'output_unavailable'
  /** The trace collector or the tool executor refused (no admin token, wrong role…) or is absent. */
  | 'refused';

/** A run's recording could not be read, opened or parsed; the message says what to do. */
export class RecordingError extends Error {
  override readonly name = 'RecordingError';
  /** A stable code for what went wrong. */
  readonly code: RecordingErrorCode;

  constructor(code: RecordingErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

function describeCall(call: ReplayedCall): string {
  return call.kind === 'tool'
    ? `${call.name} ${JSON.stringify(call.args)}`
    : `a model call for ${call.name}`;
}
