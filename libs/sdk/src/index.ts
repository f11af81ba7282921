/**
 * `@warden/sdk`: what an agent runtime imports to act through Warden. Connect as an agent, start a
 * run, propose tool calls and get their outcomes (or a typed error saying why not), end the run.
 */
export {
  CallTimeoutError,
  DeniedError,
  InDoubtError,
  isWardenCallError,
  RejectedError,
  WardenCallError,
  WardenConnectionError,
  type CallErrorDetails,
  type WardenConnectionErrorCode,
} from './errors.js';
export type { ScopedNatsOptions } from './agent-connection.js';
export type { CallResult } from './outcome.js';
export { Run, type CallOptions, type EndRunOptions } from './run.js';
export type { AgentCredential } from './token-source.js';
export {
  SDK_VERSION,
  Warden,
  type ResumeRunOptions,
  type StartRunOptions,
  type WardenOptions,
} from './warden.js';
