import { z } from 'zod';
import { Actor, MicroUsd, ReasonCode, ToolArgs, ToolName } from './common.js';

/** Risk flags derived from the tool's registration and the validated args. */
export const Risk = z.strictObject({
  write: z.boolean(),
  bulk: z.boolean(),
  pii: z.boolean(),
  money: z.boolean().optional(),
});

/** `policy.decided`: Cedar's answer for one intent (step 3). */
export const PolicyDecided = z.strictObject({
  tool: ToolName,
  /** The args the decision was about, passed on so the governor and executor act on exactly these. */
  args: ToolArgs,
  step: z.number().int().positive(),
  effect: z.enum(['allow', 'deny', 'approval_required']),
  determining_policy_ids: z.array(z.string()),
  policy_version: z.number().int().nonnegative(),
  errors: z.array(z.string()),
  eval_us: z.number().nonnegative(),
  risk: Risk.optional(),
  reason: ReasonCode.optional(),
});
export type PolicyDecided = z.infer<typeof PolicyDecided>;

/** `approval.requested`: a human must approve these exact args (step 3a). */
export const ApprovalRequested = z.strictObject({
  tool: ToolName,
  args_hash: z.string().min(1),
  policy_ids: z.array(z.string()),
  expires_at: z.string(),
  approvers: z.array(z.string()).optional(),
});

/** `approval.granted` / `approval.denied`: a named human answered. */
export const ApprovalAnswered = z.strictObject({
  args_hash: z.string().min(1),
  approver: Actor,
  comment: z.string().max(2048).optional(),
});

/** `approval.expired`: nobody answered in time. */
export const ApprovalExpired = z.strictObject({ args_hash: z.string().min(1) });

/** `budget.reserved`: the estimated cost is held against the run's and agent's budgets (step 4). */
export const BudgetReserved = z.strictObject({
  tool: ToolName,
  /** The args that were authorised and priced: the executor runs exactly these. */
  args: ToolArgs,
  reserved_micro_usd: MicroUsd,
  step: z.number().int().positive(),
  /** Steps the run has used, this one included, and its cap. */
  run_steps: z.number().int().positive().optional(),
  max_steps: z.number().int().positive().optional(),
});

/** `budget.settled`: the actual cost booked and the rest of the reservation released (step 6). */
export const BudgetSettled = z.strictObject({
  cost_micro_usd: MicroUsd,
  released_micro_usd: MicroUsd,
  run_cost_micro_usd: MicroUsd.optional(),
  run_steps: z.number().int().nonnegative().optional(),
});

/** `budget.configured`: an operator set limits for a scope. */
export const BudgetConfigured = z.strictObject({
  scope: z.enum(['run', 'agent', 'workflow']),
  scope_id: z.string().min(1),
  limits: z.record(z.string(), z.number()),
  by: Actor,
});

/** `tool.started`: the executor is about to apply the side effect (step 5). */
export const ToolStarted = z.strictObject({
  tool: ToolName,
  attempt: z.number().int().positive(),
});

/** `tool.registered`: a tool declaration version went live. */
export const ToolRegistered = z.strictObject({
  name: ToolName,
  version: z.number().int().positive(),
  kind: z.enum(['read', 'write']),
  by: Actor.optional(),
});

/** `policy.published`: an immutable policy set version. */
export const PolicyPublished = z.strictObject({
  version: z.number().int().positive(),
  content_hash: z.string().min(1),
  author: Actor,
  message: z.string().max(2048).optional(),
});

/** `breaker.opened` / `breaker.closed`: a tool upstream's circuit breaker changed state. */
export const BreakerChanged = z.strictObject({
  tool: ToolName,
  reason: z.string().max(512).optional(),
});
