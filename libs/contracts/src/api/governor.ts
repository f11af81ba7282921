import { z } from 'zod';
import { MicroUsd } from '../events/common.js';
import { SubjectToken, ToolName } from '../ids.js';
import { Timestamp } from '../time.js';

/*
 * The cost governor's request/reply APIs: `warden.<env>.api.cost.<op>`, one op per entry of
 * GOVERNOR_API. Every op needs a human token in the `Warden-Credential` header: changing budgets
 * and pausing need the `admin` role, reading needs an active human.
 */

const Count = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The most calls a rate limit may allow per window (its state keeps one entry per call). */
export const MAX_RATE_LIMIT_CALLS = 1000;

/** A rate limit: at most `calls` calls in any window of `window_ms` milliseconds. */
export const RateLimit = z.strictObject({
  calls: z.number().int().min(1).max(MAX_RATE_LIMIT_CALLS),
  window_ms: z
    .number()
    .int()
    .min(1)
    .max(24 * 60 * 60 * 1000),
});
export type RateLimit = z.infer<typeof RateLimit>;

/** A tool name, or `*` for every tool without a rule of its own. */
export const RateLimitTool = z.union([ToolName, z.literal('*')]);

/**
 * The limits of every run (the operator's defaults; a run's declared limits can only tighten
 * them). Where a field is absent, the agent's registered default budget, then the governor's
 * environment (`GOVERNOR_MAX_STEPS`, `GOVERNOR_RUN_BUDGET_USD`) apply; else it is unlimited.
 */
export const RunBudgetLimits = z.strictObject({
  budget_micro_usd: MicroUsd.max(Number.MAX_SAFE_INTEGER).optional(),
  max_steps: Count.max(10_000).optional(),
  max_tokens: Count.optional(),
  max_wall_clock_seconds: Count.max(Number.MAX_SAFE_INTEGER / 1000).optional(),
});
export type RunBudgetLimits = z.infer<typeof RunBudgetLimits>;

/** A budget per day (UTC unless configured otherwise) for one agent or workflow, over all its runs. */
export const DailyBudgetLimits = z.strictObject({
  budget_micro_usd: MicroUsd.max(Number.MAX_SAFE_INTEGER).optional(),
  max_tokens: Count.optional(),
});
export type DailyBudgetLimits = z.infer<typeof DailyBudgetLimits>;

/** An agent's budget: per day, and rate limits per tool (`*`: any tool without its own rule). */
export const AgentBudgetLimits = DailyBudgetLimits.extend({
  rate_limits: z.record(RateLimitTool, RateLimit).optional(),
});
export type AgentBudgetLimits = z.infer<typeof AgentBudgetLimits>;

/**
 * One scope's budget as an operator sets it (`warden budgets set`, `budget-set`). Setting a scope
 * replaces its whole configuration: a field left out is no longer limited.
 */
export const BudgetSetting = z.discriminatedUnion('scope', [
  RunBudgetLimits.extend({ scope: z.literal('run') }),
  AgentBudgetLimits.extend({ scope: z.literal('agent'), agent_id: SubjectToken }),
  DailyBudgetLimits.extend({ scope: z.literal('workflow'), workflow: SubjectToken }),
]);
export type BudgetSetting = z.infer<typeof BudgetSetting>;

/** Who set a scope's budget, and when. */
const SetBy = { set_by: z.string(), set_at: Timestamp };

/** The configured budgets. */
export const ConfiguredBudgets = z.strictObject({
  run: RunBudgetLimits.extend({ set_by: z.string().optional(), set_at: Timestamp.optional() }),
  agents: z.array(AgentBudgetLimits.extend({ agent_id: SubjectToken, ...SetBy })),
  workflows: z.array(DailyBudgetLimits.extend({ workflow: SubjectToken, ...SetBy })),
});
export type ConfiguredBudgets = z.infer<typeof ConfiguredBudgets>;

/** What one daily account has spent and holds. */
export const DailySpend = z.strictObject({
  scope: z.enum(['agent', 'workflow']),
  id: SubjectToken,
  /** The day, `YYYY-MM-DD`, in the governor's configured day boundary. */
  day: z.string(),
  limit_micro_usd: MicroUsd.optional(),
  limit_tokens: z.number().int().nonnegative().optional(),
  booked_micro_usd: MicroUsd,
  reserved_micro_usd: MicroUsd,
  booked_tokens: z.number().int().nonnegative(),
  /** Absent when the money is unlimited. */
  remaining_micro_usd: MicroUsd.optional(),
  /** When the next day, and a fresh budget, begins. */
  resets_at: Timestamp,
});
export type DailySpend = z.infer<typeof DailySpend>;

/** `budget-set`: replaces one scope's budget; `changed: false` when it was already so. */
export const BudgetSetRequest = BudgetSetting;
export const BudgetSetResult = z.strictObject({
  budgets: ConfiguredBudgets,
  changed: z.boolean(),
});

/** `budget-show`: the configured budgets and, for the named agent or workflow, its day's spend. */
export const BudgetShowRequest = z.strictObject({
  agent_id: SubjectToken.optional(),
  workflow: SubjectToken.optional(),
  /** `YYYY-MM-DD`; omitted: today. */
  day: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a day as YYYY-MM-DD' })
    .optional(),
});
export const BudgetShowResult = z.strictObject({
  budgets: ConfiguredBudgets,
  spend: z.array(DailySpend),
});

/** What the kill switch applies to. */
export const PauseTarget = z.discriminatedUnion('scope', [
  z.strictObject({ scope: z.literal('agent'), agent_id: SubjectToken }),
  z.strictObject({ scope: z.literal('workflow'), workflow: SubjectToken }),
]);
export type PauseTarget = z.infer<typeof PauseTarget>;

/** A paused scope: who paused it, when and why. */
export const PausedView = z.strictObject({
  scope: z.enum(['agent', 'workflow']),
  id: SubjectToken,
  by: z.string(),
  at: Timestamp,
  reason: z.string().optional(),
});
export type PausedView = z.infer<typeof PausedView>;

/** A tool whose upstream's circuit breaker is open: runs calling it are halted until it closes. */
export const DegradedToolView = z.strictObject({
  tool: ToolName,
  since: Timestamp,
  reason: z.string().optional(),
});
export type DegradedToolView = z.infer<typeof DegradedToolView>;

/** `pause`: every new action of the scope is denied `paused` from the reply on. */
export const PauseRequest = z.strictObject({
  target: PauseTarget,
  reason: z.string().min(1).max(2048),
});
/** `resume`: the scope's actions go through again. */
export const ResumeRequest = z.strictObject({
  target: PauseTarget,
  reason: z.string().min(1).max(2048).optional(),
});
/** `changed: false`: it was already paused (the first pause's who and why stand) or not paused. */
export const PauseResult = z.strictObject({ changed: z.boolean(), paused: z.array(PausedView) });

/** `pause-list`: what is paused, and which tools are degraded. */
export const PauseListRequest = z.strictObject({});
export const PauseListResult = z.strictObject({
  paused: z.array(PausedView),
  degraded: z.array(DegradedToolView),
});

/** Every governor API op: its request and result schemas, and who may call it. */
export const GOVERNOR_API = {
  'budget-set': { request: BudgetSetRequest, result: BudgetSetResult, access: 'admin' },
  'budget-show': { request: BudgetShowRequest, result: BudgetShowResult, access: 'human' },
  pause: { request: PauseRequest, result: PauseResult, access: 'admin' },
  resume: { request: ResumeRequest, result: PauseResult, access: 'admin' },
  'pause-list': { request: PauseListRequest, result: PauseListResult, access: 'human' },
} as const;
export type GovernorApiOp = keyof typeof GOVERNOR_API;
