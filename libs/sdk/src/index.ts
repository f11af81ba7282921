/**
 * `@warden/sdk`: what an agent runtime imports to act through Warden. Connect as an agent, start a
 * run, propose tool calls and get their outcomes (or a typed error saying why not), wait for a
 * human's approval, ask which model to use and report what it used, record spans, end the run.
 */
export {
  APPROVAL_DENIAL_REASONS,
  ApprovalDeniedError,
  ApprovalPendingError,
  BUDGET_REASONS,
  BudgetExceededError,
  CallTimeoutError,
  DeniedError,
  HALT_REASONS,
  InDoubtError,
  isWardenCallError,
  RateLimitedError,
  RejectedError,
  RunHaltedError,
  StepCapReachedError,
  WardenCallError,
  WardenConnectionError,
  type ApprovalDenialReason,
  type BudgetReason,
  type CallErrorDetails,
  type HaltReason,
  type WardenConnectionErrorCode,
} from './errors.js';
export type { ScopedNatsOptions } from './agent-connection.js';
export { parseDuration, type Duration } from './duration.js';
export { deniedError, type CallResult } from './outcome.js';
export {
  Run,
  SPAN_KINDS,
  type CallOptions,
  type EndRunOptions,
  type ModelOptions,
  type ModelRoute,
  type ModelUsageReport,
  type SpanKindName,
  type SpanOptions,
} from './run.js';
export type { AgentCredential } from './token-source.js';
export {
  SDK_VERSION,
  Warden,
  type ResumeRunOptions,
  type RunLimitOptions,
  type StartRunOptions,
  type WardenOptions,
} from './warden.js';
