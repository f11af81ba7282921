/**
 * `@warden/helpdesk`: the support-triage example's upstream, a small Zendesk-like helpdesk the
 * tool executor acts on. Embed it with {@link startHelpdesk}; run it alone with `main.ts`.
 */
export { startHelpdesk, type HelpdeskOptions, type RunningHelpdesk } from './helpdesk.js';
export {
  HelpdeskConfig,
  HelpdeskConfigError,
  helpdeskOptions,
  parseHelpdeskConfig,
} from './config.js';
export { MAX_TOKEN_LIFETIME_S, TOKEN_AUDIENCE } from './http/auth.js';
export type { FaultPlan } from './domain/faults.js';
export type { AppliedWrite } from './domain/idempotency.js';
export type { Note, Ticket, TicketPriority, TicketStatus } from './domain/ticket.js';
export type { LogSink } from './log.js';
