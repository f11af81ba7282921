/**
 * `@warden/sdk`: what an agent runtime imports to act through Warden. Connect as an agent, start a
 * run, propose tool calls and get their outcomes (or a typed error saying why not), wait for a
 * human's approval, ask which model to use and report what it used, record spans, end the run;
 * or replay a recorded run (`Warden.replay`) with no side effect.
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
  NonDeterminismError,
  RateLimitedError,
  RecordingError,
  RejectedError,
  RunHaltedError,
  StepCapReachedError,
  WardenCallError,
  WardenConnectionError,
  type ApprovalDenialReason,
  type BudgetReason,
  type CallErrorDetails,
  type HaltReason,
  type RecordingErrorCode,
  type ReplayedCall,
  type WardenConnectionErrorCode,
} from './errors.js';
export type { ScopedNatsOptions } from './agent-connection.js';
export { parseDuration, type Duration } from './duration.js';
export { deniedError, type CallResult } from './outcome.js';
export { fetchRecording, type FetchRecordingRequest } from './load-recording.js';
export {
  parseRecording,
  RECORDING_FORMAT,
  RecordedModelCall,
  RecordedStep,
  recordingFromTimeline,
  RunRecording,
  withOpenedOutputs,
  type SealedStepOutput,
} from './recording.js';
export { canonicalArgs, argsDifference } from './replay-match.js';
export { ReplayRun, type ReplaySummary } from './replay-run.js';
export {
  LiveRun,
  SPAN_KINDS,
  type Run,
  type CallOptions,
  type EndRunOptions,
  type ModelOptions,
  type ModelRoute,
  type ModelUsageReport,
  type SpanKindName,
  type SpanOptions,
} from './run.js';
export type { AgentCredential } from './token-source.js';
/** A run's place in a canary of its workflow ({@link Run.canary}). */
export type { RunCanary } from '@warden/contracts';
export {
  SDK_VERSION,
  Warden,
  type ResumeRunOptions,
  type RunLimitOptions,
  type ReplayOptions,
  type StartRunOptions,
  type WardenOptions,
} from './warden.js';
