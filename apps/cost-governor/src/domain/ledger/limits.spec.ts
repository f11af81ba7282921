import { describe, expect, it } from 'vitest';
import { BudgetSetting, DailyBudgetLimits, RunBudgetLimits } from '@warden/contracts';
import { dailyLimitsOf, effectiveLimits, runLimitsOf } from './limits.js';

describe('effectiveLimits', () => {
  const configured = { budget_micro_usd: 5_000_000, max_steps: 200, max_tokens: 100_000 };

  it('honours a declared limit below the configured one', () => {
    expect(effectiveLimits(configured, { budget_micro_usd: 1_000_000, max_steps: 12 })).toEqual({
      limits: { budget_micro_usd: 1_000_000, max_steps: 12, max_tokens: 100_000 },
      clamped: [],
    });
  });

  it('clamps a declared limit above the configured one, and says which', () => {
    expect(
      effectiveLimits(configured, { budget_micro_usd: 9_000_000, max_tokens: 50_000 }),
    ).toEqual({
      limits: { budget_micro_usd: 5_000_000, max_steps: 200, max_tokens: 50_000 },
      clamped: [{ field: 'budget_micro_usd', declared: 9_000_000, configured: 5_000_000 }],
    });
  });

  it('honours a declared limit where nothing is configured (it only tightens "unlimited")', () => {
    expect(effectiveLimits({}, { max_duration_ms: 60_000 })).toEqual({
      limits: { max_duration_ms: 60_000 },
      clamped: [],
    });
  });

  it('keeps the configured limits when the run declares none', () => {
    expect(effectiveLimits(configured, undefined)).toEqual({ limits: configured, clamped: [] });
    expect(effectiveLimits({}, {})).toEqual({ limits: {}, clamped: [] });
  });

  it('treats an equal declared limit as neither tightened nor clamped', () => {
    expect(effectiveLimits(configured, { max_steps: 200 }).clamped).toEqual([]);
  });

  it('honours a declared zero budget: the run may spend nothing', () => {
    expect(effectiveLimits(configured, { budget_micro_usd: 0 }).limits.budget_micro_usd).toBe(0);
  });
});

describe('configured budget schemas', () => {
  it('accept integer micro-USD, steps, tokens and wall-clock seconds for runs', () => {
    const run = RunBudgetLimits.parse({
      budget_micro_usd: 2_500_000,
      max_steps: 50,
      max_tokens: 10_000,
      max_wall_clock_seconds: 600,
    });
    expect(runLimitsOf(run)).toEqual({
      budget_micro_usd: 2_500_000,
      max_steps: 50,
      max_tokens: 10_000,
      max_duration_ms: 600_000,
    });
  });

  it('refuse fractional money, negative values and unknown fields', () => {
    expect(RunBudgetLimits.safeParse({ budget_micro_usd: 0.5 }).success).toBe(false);
    expect(RunBudgetLimits.safeParse({ budget_micro_usd: -1 }).success).toBe(false);
    expect(RunBudgetLimits.safeParse({ max_steps: 0 }).success).toBe(false);
    expect(RunBudgetLimits.safeParse({ budget_usd: 1 }).success).toBe(false);
    expect(DailyBudgetLimits.safeParse({ max_wall_clock_seconds: 60 }).success).toBe(false);
    expect(DailyBudgetLimits.safeParse({ max_steps: 60 }).success).toBe(false);
  });

  it('give daily accounts money and tokens', () => {
    expect(dailyLimitsOf(DailyBudgetLimits.parse({ budget_micro_usd: 9, max_tokens: 3 }))).toEqual({
      budget_micro_usd: 9,
      max_tokens: 3,
    });
  });

  it('tell scope kinds apart, with a subject-safe id for agents and workflows', () => {
    expect(BudgetSetting.parse({ scope: 'agent', agent_id: 'bot', budget_micro_usd: 1 })).toEqual({
      scope: 'agent',
      agent_id: 'bot',
      budget_micro_usd: 1,
    });
    expect(BudgetSetting.safeParse({ scope: 'workflow', workflow: 'a.b' }).success).toBe(false);
    expect(BudgetSetting.safeParse({ scope: 'tool', budget_micro_usd: 1 }).success).toBe(false);
  });
});
