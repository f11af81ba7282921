import { z } from 'zod';
import {
  ApprovalAnswered,
  ApprovalExpired,
  ApprovalRequested,
  BreakerChanged,
  BudgetConfigured,
  BudgetReserved,
  BudgetSettled,
  PolicyDecided,
  PolicyPublished,
  PolicyShadowDiverged,
  ToolRegistered,
  ToolStarted,
} from './decision.js';
import {
  AgentRegistered,
  AgentStatusChanged,
  CredentialIssued,
  CredentialRevoked,
  HumanRegistered,
  HumanUpdated,
  SigningKeyRotated,
} from './identity.js';
import { IntentAuthenticated, IntentProposed, IntentResolved } from './intent.js';
import {
  AgentPauseToggled,
  ModelRequested,
  ModelRouted,
  ModelUsage,
  RunEnded,
  RunHalted,
  RunStarted,
  TraceSpan,
  WorkflowToggled,
} from './run.js';
import { CanaryChanged } from './release.js';
import { ExecutionReviewed, RunOutputsErased, RunOutputsOpened, SecretChanged } from './secret.js';
import { EventDeadLettered, EventRejected } from './system.js';

/**
 * Every event type Warden knows, mapped to the strict schema of its `data`. This map is the single
 * source of truth: publishers and consumers are typed by it, and the JSON Schemas in
 * `deploy/schemas/` are generated from it. Add a type here; never change an existing one
 * incompatibly (add optional fields, or a new type beside the old one).
 */
export const EVENTS = {
  'intent.proposed': IntentProposed,
  'intent.authenticated': IntentAuthenticated,
  'intent.resolved': IntentResolved,
  'policy.decided': PolicyDecided,
  'policy.shadow_diverged': PolicyShadowDiverged,
  'approval.requested': ApprovalRequested,
  'approval.granted': ApprovalAnswered,
  'approval.denied': ApprovalAnswered,
  'approval.expired': ApprovalExpired,
  'budget.reserved': BudgetReserved,
  'budget.settled': BudgetSettled,
  'budget.configured': BudgetConfigured,
  'tool.started': ToolStarted,
  'tool.registered': ToolRegistered,
  'model.requested': ModelRequested,
  'model.routed': ModelRouted,
  'model.usage': ModelUsage,
  'run.started': RunStarted,
  'run.ended': RunEnded,
  'run.halted': RunHalted,
  'agent.registered': AgentRegistered,
  'agent.suspended': AgentStatusChanged,
  'agent.resumed': AgentStatusChanged,
  'agent.retired': AgentStatusChanged,
  'credential.issued': CredentialIssued,
  'credential.revoked': CredentialRevoked,
  'signing_key.rotated': SigningKeyRotated,
  'human.registered': HumanRegistered,
  'human.updated': HumanUpdated,
  'policy.published': PolicyPublished,
  'workflow.paused': WorkflowToggled,
  'workflow.resumed': WorkflowToggled,
  'agent.paused': AgentPauseToggled,
  'agent.unpaused': AgentPauseToggled,
  'breaker.opened': BreakerChanged,
  'breaker.closed': BreakerChanged,
  'trace.span': TraceSpan,
  'secret.changed': SecretChanged,
  'execution.reviewed': ExecutionReviewed,
  'run.outputs_opened': RunOutputsOpened,
  'run.outputs_erased': RunOutputsErased,
  'canary.changed': CanaryChanged,
  'event.rejected': EventRejected,
  'event.dead_lettered': EventDeadLettered,
} as const;

/** The name of an event type (`'policy.decided'`, …). */
export type EventType = keyof typeof EVENTS;

/** The list of event types, for schemas and iteration. */
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];

/** zod schema of an event type name. */
export const EventTypeName = z.enum(EVENT_TYPES as [EventType, ...EventType[]]);

/** The `data` payload of event type `T`. */
export type DataOf<T extends EventType> = z.infer<(typeof EVENTS)[T]>;

/** Whether `type` is a known event type. */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENTS, type);
}

export * from './common.js';
export * from './decision.js';
export * from './identity.js';
export * from './intent.js';
export * from './release.js';
export * from './run.js';
export * from './secret.js';
export * from './system.js';
