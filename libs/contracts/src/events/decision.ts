import { z } from 'zod';
import { SubjectToken, Ulid } from '../ids.js';
import { Timestamp } from '../time.js';
import { Actor, MicroUsd, ReasonCode, ToolArgs, ToolName } from './common.js';

/** A risk flag a tool's own rules may raise (`urgent_priority`), beside the standard ones. */
export const RiskFlag = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/);

/** Risk flags derived from the tool's registration and the validated args. */
export const Risk = z.strictObject({
  write: z.boolean(),
  bulk: z.boolean(),
  pii: z.boolean(),
  money: z.boolean().optional(),
  permission: z.boolean().optional(),
  production: z.boolean().optional(),
  /** The tool's own flags that held for this call. */
  raised: z.array(RiskFlag).max(64).optional(),
});
export type Risk = z.infer<typeof Risk>;

/** A policy set version: 1, 2, … (0 is "no policy published", under which everything is denied). */
export const PolicyVersion = z.number().int().nonnegative();

/** The approval an `approval_required` decision asks for: which group must answer, and how. */
export const ApprovalRequirement = z.strictObject({
  /** The role whose members may approve (`@approval("support-leads")`). */
  group: SubjectToken,
  /** The agent's owner may not approve (`@separation_of_duties`). */
  separation_of_duties: z.boolean(),
});
export type ApprovalRequirement = z.infer<typeof ApprovalRequirement>;

/** `policy.decided`: Cedar's answer for one intent (step 3). */
export const PolicyDecided = z.strictObject({
  tool: ToolName,
  /** The args the decision was about, passed on so the governor and executor act on exactly these. */
  args: ToolArgs,
  step: z.number().int().positive(),
  effect: z.enum(['allow', 'deny', 'approval_required']),
  determining_policy_ids: z.array(z.string()),
  policy_version: PolicyVersion,
  errors: z.array(z.string()),
  eval_us: z.number().nonnegative(),
  risk: Risk.optional(),
  reason: ReasonCode.optional(),
  /** The registered version of the tool whose schema validated `args`. */
  tool_version: z.number().int().positive().optional(),
  /** For `approval_required`: who must approve. */
  approval: ApprovalRequirement.optional(),
  /** The tool's registered price of one call: what the cost governor reserves. */
  cost_micro_usd: MicroUsd.optional(),
});
export type PolicyDecided = z.infer<typeof PolicyDecided>;

/** The SHA-256 (hex) of an args object's canonical JSON: what an approval binds to. */
export const ArgsHash = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a SHA-256 in hex' });

/**
 * `approval.requested`: a human of `group` must approve these exact args (step 3a). Published on
 * the agent's subject, so the waiting agent sees it; humans list it with `warden approvals list`.
 */
export const ApprovalRequested = z.strictObject({
  approval_id: Ulid,
  tool: ToolName,
  tool_version: z.number().int().positive().optional(),
  /** The args to approve, shown to the approver (and redacted in the log like any args). */
  args: ToolArgs,
  args_hash: ArgsHash,
  step: z.number().int().positive(),
  group: SubjectToken,
  separation_of_duties: z.boolean(),
  /** The agent's owner, who may not approve when `separation_of_duties` holds. */
  owner: z.string().min(1).optional(),
  policy_ids: z.array(z.string()),
  policy_version: PolicyVersion,
  expires_at: Timestamp,
  /** The tool's registered price of one call, carried to the grant for the cost governor. */
  cost_micro_usd: MicroUsd.optional(),
});
export type ApprovalRequested = z.infer<typeof ApprovalRequested>;

/**
 * `approval.granted` / `approval.denied`: a named human answered. A grant carries exactly what was
 * approved (tool, args, their hash, step), so the cost governor continues from it alone.
 */
export const ApprovalAnswered = z.strictObject({
  approval_id: Ulid,
  tool: ToolName,
  args: ToolArgs,
  args_hash: ArgsHash,
  step: z.number().int().positive(),
  group: SubjectToken,
  approver: Actor,
  /** The approver's reason, as they wrote it (`--reason`). */
  comment: z.string().min(1).max(2048),
  policy_version: PolicyVersion,
  /** The tool's registered price of one call: what the cost governor reserves on a grant. */
  cost_micro_usd: MicroUsd.optional(),
});
export type ApprovalAnswered = z.infer<typeof ApprovalAnswered>;

/** `approval.expired`: nobody answered in time; the intent is resolved `denied{approval_expired}`. */
export const ApprovalExpired = z.strictObject({
  approval_id: Ulid,
  tool: ToolName,
  args_hash: ArgsHash,
  expires_at: Timestamp,
});
export type ApprovalExpired = z.infer<typeof ApprovalExpired>;

/**
 * `policy.shadow_diverged`: the shadow (candidate) policy version would have decided an intent
 * differently from the active one. Nothing is enforced by it (issue 5).
 */
export const PolicyShadowDiverged = z.strictObject({
  tool: ToolName,
  step: z.number().int().positive(),
  active_version: PolicyVersion,
  active_effect: z.enum(['allow', 'deny', 'approval_required']),
  active_policy_ids: z.array(z.string()),
  shadow_version: PolicyVersion,
  shadow_effect: z.enum(['allow', 'deny', 'approval_required']),
  shadow_policy_ids: z.array(z.string()),
  shadow_errors: z.array(z.string()),
});
export type PolicyShadowDiverged = z.infer<typeof PolicyShadowDiverged>;

/** `budget.reserved`: the estimated cost is held against the run's and agent's budgets (step 4). */
export const BudgetReserved = z.strictObject({
  tool: ToolName,
  /** The args that were authorised and priced: the executor runs exactly these. */
  args: ToolArgs,
  reserved_micro_usd: MicroUsd,
  step: z.number().int().positive(),
  /** The tool version policy decided against: the executor validates and runs that version. */
  tool_version: z.number().int().positive().optional(),
  /** Steps the run has used, this one included, and its cap. */
  run_steps: z.number().int().positive().optional(),
  max_steps: z.number().int().positive().optional(),
  /** What the run may still reserve after this reservation, when its budget is limited. */
  run_remaining_micro_usd: MicroUsd.optional(),
});

/** `budget.settled`: the actual cost booked and the rest of the reservation released (step 6). */
export const BudgetSettled = z.strictObject({
  cost_micro_usd: MicroUsd,
  released_micro_usd: MicroUsd,
  run_cost_micro_usd: MicroUsd.optional(),
  run_steps: z.number().int().nonnegative().optional(),
  /**
   * Booked without a result: the reservation was still open after the governor's timeout (its
   * executor was lost), so it was booked at its reserved price. A late result corrects it.
   */
  reconciled: z.boolean().optional(),
});

/**
 * `budget.configured`: an operator set the limits of a scope (the whole set: a limit left out is
 * no longer limited). `scope_id` is the agent or workflow, `default` for every run.
 */
export const BudgetConfigured = z.strictObject({
  scope: z.enum(['run', 'agent', 'workflow']),
  scope_id: z.string().min(1),
  limits: z.record(z.string(), z.number()),
  by: Actor,
  /** An agent's rate limits per tool (`*`: every tool without its own). */
  rate_limits: z
    .record(z.string(), z.strictObject({ calls: z.number().int(), window_ms: z.number().int() }))
    .optional(),
});

/** `tool.started`: the executor is about to apply the side effect (step 5). */
export const ToolStarted = z.strictObject({
  tool: ToolName,
  attempt: z.number().int().positive(),
});

/**
 * `tool.registered`: a tool declaration version went live. `declaration` is the whole parsed
 * declaration (libs/policy `ToolDeclaration`), so the registry can be rebuilt from the log.
 */
export const ToolRegistered = z.strictObject({
  name: ToolName,
  version: z.number().int().positive(),
  kind: z.enum(['read', 'write']),
  by: Actor.optional(),
  domain: SubjectToken.optional(),
  groups: z.array(SubjectToken).optional(),
  /** SHA-256 (hex) of the declaration's canonical JSON. */
  digest: z.string().optional(),
  declaration: z.record(z.string(), z.unknown()).optional(),
});
export type ToolRegistered = z.infer<typeof ToolRegistered>;

/** One policy file of a published set, as its author wrote it. */
export const PolicyFile = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
      error: 'must be a file name of letters, digits, ".", "_" and "-" (no directories)',
    }),
  text: z.string().max(200_000),
});
export type PolicyFile = z.infer<typeof PolicyFile>;

/**
 * `policy.published`: an immutable policy set version. `active` versions are enforced (the latest
 * wins); a `shadow` version is evaluated beside the active one and only logged. A rollback is a new
 * version with an old one's content (`rollback_of`), so versions only ever go up.
 */
export const PolicyPublished = z.strictObject({
  version: z.number().int().positive(),
  content_hash: z.string().min(1),
  author: Actor,
  message: z.string().max(2048).optional(),
  mode: z.enum(['active', 'shadow']).optional(),
  rollback_of: z.number().int().positive().optional(),
  /** The Cedar schema the set was validated against. */
  schema: z.string().max(100_000).optional(),
  files: z.array(PolicyFile).max(256).optional(),
  policy_ids: z.array(z.string()).optional(),
});
export type PolicyPublished = z.infer<typeof PolicyPublished>;

/** `breaker.opened` / `breaker.closed`: a tool upstream's circuit breaker changed state. */
export const BreakerChanged = z.strictObject({
  tool: ToolName,
  reason: z.string().max(512).optional(),
  /**
   * `breaker.opened`: from then on the executor lets one call through to probe the upstream, so
   * the governor stops refusing the tool's calls then (else no probe could ever close it). A
   * failed probe opens the breaker again, with a later `probe_after`.
   */
  probe_after: Timestamp.optional(),
});
