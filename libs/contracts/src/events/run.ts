import { z } from 'zod';
import { Actor, MicroUsd, ReasonCode, RunLimits, SubjectToken } from './common.js';
import { ReleaseVersion, RunCanary } from './release.js';

/** `run.started`: an agent begins a run, optionally declaring tighter limits. */
export const RunStarted = z.strictObject({
  workflow: SubjectToken.optional(),
  limits: RunLimits.optional(),
  /** The release driving the run (prompt, model, tool schema): the canary's, or the caller's. */
  version: ReleaseVersion.optional(),
  /** The canary that chose the version, and on which side the run is. */
  canary: RunCanary.optional(),
});

/** `run.ended`: the agent finished its run. */
export const RunEnded = z.strictObject({
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  outcome: z.string().max(2048).optional(),
});

/** `run.halted`: Warden stopped a run (loop, kill switch, budget). */
export const RunHalted = z.strictObject({
  reason: ReasonCode,
  by: Actor.optional(),
  message: z.string().max(2048).optional(),
});

/** `workflow.paused` / `workflow.resumed`: the kill switch for a workflow. */
export const WorkflowToggled = z.strictObject({
  workflow: SubjectToken,
  by: Actor,
  reason: z.string().max(2048).optional(),
});

/**
 * `agent.paused` / `agent.unpaused`: the kill switch for one agent (the cost governor denies its
 * actions `paused`). Not `agent.resumed`: that one ends an identity suspension (`agent.suspended`),
 * which refuses the agent's credentials instead.
 */
export const AgentPauseToggled = z.strictObject({
  agent_id: SubjectToken,
  by: Actor,
  reason: z.string().max(2048).optional(),
});

/**
 * `model.requested`: an agent asks which model to use for a task (`intent_id` in the envelope
 * names the call; its `model.usage` carries the same). Refused for budget with
 * `intent.resolved{denied, stage: budget, reason: budget_exhausted}`.
 */
export const ModelRequested = z.strictObject({
  task_class: z.string().min(1).max(64),
  /** Estimated input (prompt) tokens. */
  estimated_tokens: z.number().int().nonnegative(),
  /** A tighter output ceiling than the task class's, if the caller wants one. */
  max_output_tokens: z.number().int().positive().optional(),
});

/** `model.routed`: the governor chose a model, priced the call and reserved the estimate. */
export const ModelRouted = z.strictObject({
  task_class: z.string().min(1).max(64),
  model: z.string().min(1).max(128),
  estimated_micro_usd: MicroUsd,
  /** The most output tokens the call may produce: what the remaining budget pays for. */
  max_output_tokens: z.number().int().positive().optional(),
  tier: z.number().int().positive().optional(),
  /** `preferred`, `low_budget` (routed a tier down), `budget_fit`. */
  reason: z.string().max(32).optional(),
});

/** `model.usage`: the tokens a model call actually used. */
export const ModelUsage = z.strictObject({
  model: z.string().min(1).max(128),
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  latency_ms: z.number().nonnegative(),
});

/** `trace.span`: a span an agent runtime reports (prompt, retrieval, model call). Redacted by the collector. */
export const TraceSpan = z.strictObject({
  name: z.string().min(1).max(256),
  kind: z.enum(['model', 'retrieval', 'prompt', 'tool', 'other']),
  started_at: z.string(),
  duration_ms: z.number().nonnegative(),
  attributes: z.record(z.string(), z.unknown()).optional(),
  trace_id: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
  span_id: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .optional(),
});
