import type {
  BudgetSetting,
  ConfiguredBudgets,
  DailySpend,
  DegradedToolView,
  PausedView,
} from '@warden/contracts';

/*
 * Sample answers of the cost governor's API, shared by the unit tests of the budgets and pause
 * commands (src/commands/*.spec.ts) and by the CLI's integration tests against a stand-in.
 */

/** Run limits, one agent with rate limits (`*` and one tool) and one workflow. */
export const BUDGETS: ConfiguredBudgets = {
  run: {
    budget_micro_usd: 5_000_000,
    max_steps: 50,
    max_wall_clock_seconds: 1800,
    set_by: 'admin',
    set_at: '2025-01-01T00:00:00.000000Z',
  },
  agents: [
    {
      agent_id: 'support-triage-1',
      budget_micro_usd: 20_000_000,
      rate_limits: {
        '*': { calls: 100, window_ms: 3_600_000 },
        'zendesk.update_ticket': { calls: 10, window_ms: 60_000 },
      },
      set_by: 'admin',
      set_at: '2025-01-02T00:00:00.000000Z',
    },
  ],
  workflows: [
    {
      workflow: 'refunds',
      max_tokens: 2_000_000,
      set_by: 'bob',
      set_at: '2025-01-03T00:00:00.000000Z',
    },
  ],
};

/**
 * The body of `warden budgets set --agent support-triage-1 --daily-usd 20 --rate-limit
 * zendesk.update_ticket=10/1m --rate-limit '*=100/1h'`: the agent's budget in {@link BUDGETS}.
 */
export const AGENT_BUDGET_SET: BudgetSetting = {
  scope: 'agent',
  agent_id: 'support-triage-1',
  budget_micro_usd: 20_000_000,
  rate_limits: {
    'zendesk.update_ticket': { calls: 10, window_ms: 60_000 },
    '*': { calls: 100, window_ms: 3_600_000 },
  },
};

/** The day's spend of the agent in {@link BUDGETS}, amounts down to the micro-dollar. */
export const SPEND: DailySpend = {
  scope: 'agent',
  id: 'support-triage-1',
  day: '2025-01-31',
  limit_micro_usd: 20_000_000,
  booked_micro_usd: 12_345_678,
  reserved_micro_usd: 1,
  booked_tokens: 4200,
  remaining_micro_usd: 7_654_321,
  resets_at: '2025-02-01T00:00:00.000000Z',
};

export const AGENT_PAUSE: PausedView = {
  scope: 'agent',
  id: 'support-triage-1',
  by: 'alice',
  at: '2025-01-02T00:00:00.000000Z',
  reason: 'looping on ticket 4711',
};

/** Older than {@link AGENT_PAUSE}, and without a reason. */
export const WORKFLOW_PAUSE: PausedView = {
  scope: 'workflow',
  id: 'refunds',
  by: 'bob',
  at: '2025-01-01T00:00:00.000000Z',
};

export const DEGRADED: DegradedToolView = {
  tool: 'zendesk.update_ticket',
  since: '2025-01-03T00:00:00.000000Z',
  reason: 'circuit open after 5 upstream errors',
};
