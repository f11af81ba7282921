import type { DailyBudgetLimits, RunBudgetLimits } from '@warden/contracts';

/**
 * The limits of one scope, in the same shape a run declares them (`RunLimits` of `run.started`),
 * so configured and declared limits compare field by field. An absent field is no limit.
 */
export interface ScopeLimits {
  readonly budget_micro_usd?: number | undefined;
  readonly max_steps?: number | undefined;
  readonly max_tokens?: number | undefined;
  readonly max_duration_ms?: number | undefined;
}

/** The fields of {@link ScopeLimits}, in a fixed order (for reports and logs). */
export const LIMIT_FIELDS = [
  'budget_micro_usd',
  'max_steps',
  'max_tokens',
  'max_duration_ms',
] as const;
export type LimitField = (typeof LIMIT_FIELDS)[number];

/** The limits a configured run budget sets (wall clock converted to milliseconds). */
export function runLimitsOf(config: RunBudgetLimits): ScopeLimits {
  return {
    budget_micro_usd: config.budget_micro_usd,
    max_steps: config.max_steps,
    max_tokens: config.max_tokens,
    max_duration_ms:
      config.max_wall_clock_seconds === undefined
        ? undefined
        : config.max_wall_clock_seconds * 1000,
  };
}

/** The limits a configured daily budget sets. */
export function dailyLimitsOf(config: DailyBudgetLimits): ScopeLimits {
  return { budget_micro_usd: config.budget_micro_usd, max_tokens: config.max_tokens };
}

/** A declared limit that was looser than the configured one, and was not honoured. */
export interface ClampedLimit {
  readonly field: LimitField;
  readonly declared: number;
  readonly configured: number;
}

/** The limits in force, and the declared ones that were clamped (for the caller to log). */
export interface EffectiveLimits {
  readonly limits: ScopeLimits;
  readonly clamped: readonly ClampedLimit[];
}

/**
 * The limits in force for a run: a run's declared limits can only tighten the configured ones.
 * Per field: the smaller of the two when both are present; a declared value above the configured
 * one is clamped to it (and listed in `clamped`); a declared value where nothing is configured is
 * honoured (it only tightens "unlimited"); a field neither sets stays absent.
 */
export function effectiveLimits(
  configured: ScopeLimits,
  /** A run's `limits` from `run.started` (`RunLimits` of the contracts), if it declared any. */
  declared: ScopeLimits | undefined,
): EffectiveLimits {
  const limits: Record<LimitField, number | undefined> = {
    budget_micro_usd: undefined,
    max_steps: undefined,
    max_tokens: undefined,
    max_duration_ms: undefined,
  };
  const clamped: ClampedLimit[] = [];
  for (const field of LIMIT_FIELDS) {
    const own = configured[field];
    const asked = declared?.[field];
    if (own !== undefined && asked !== undefined && asked > own) {
      clamped.push({ field, declared: asked, configured: own });
    }
    limits[field] = own === undefined ? asked : asked === undefined ? own : Math.min(own, asked);
  }
  return { limits: withoutAbsent(limits), clamped };
}

/** Drops absent fields, so records compare and serialise without `undefined` noise. */
function withoutAbsent(limits: Record<LimitField, number | undefined>): ScopeLimits {
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}
