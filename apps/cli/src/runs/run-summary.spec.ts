import { describe, expect, it } from 'vitest';
import { buildRunSummary, renderRunSummary } from './run-summary.js';

/** Rows as the views return them through `audit.sql` (64-bit integers as strings). */
const OVERVIEW = {
  run_id: 'run-42',
  agent_id: 'triage-bot',
  workflow: 'support',
  started_at: '2026-11-02 09:00:00.001000',
  last_at: '2026-11-02 09:01:00.000000',
  ended_at: '2026-11-02 09:01:00.000000',
  status: 'failed',
  outcome: 'stopped by a loop',
  halted_at: '2026-11-02 09:00:59.000000',
  halt_reason: 'loop',
  halt_message: 'the same call 4 times',
  halted_by: 'service:cost-governor',
  declared_limits: '{"max_steps":10,"budget_micro_usd":500000}',
  max_steps: '10',
  steps: '2',
  intents: '4',
  cost_micro_usd: '8500',
};

const TOOLS = [
  { tool: '(model calls)', status: 'executed', calls: '1' },
  { tool: 'helpdesk.get_ticket', status: 'denied', calls: '1' },
  { tool: 'helpdesk.get_ticket', status: 'executed', calls: '1' },
  { tool: 'payroll.run', status: 'denied', calls: '1' },
];

const DENIALS = [
  {
    intent_id: 'intent-3',
    tool: 'payroll.run',
    step: '3',
    resolved_at: '2026-11-02 09:00:58.000000',
    status: 'denied',
    stage: 'policy',
    reason: 'forbidden',
    message: 'forbidden by policy no-payroll',
    effect: 'deny',
    policy_ids: ['no-payroll'],
    policy_version: '3',
  },
  {
    intent_id: 'intent-4',
    tool: 'helpdesk.get_ticket',
    step: '4',
    resolved_at: '2026-11-02 09:00:59.000000',
    status: 'denied',
    stage: 'budget',
    reason: 'loop',
    message: '',
    effect: 'allow',
    policy_ids: ['reads'],
    policy_version: '3',
  },
];

const APPROVALS = [
  {
    intent_id: 'intent-2',
    tool: 'helpdesk.bulk_close',
    requested_at: '2026-11-02 09:00:01.000000',
    answered_at: '2026-11-02 09:00:31.000000',
    outcome: 'granted',
    approver: 'lee',
    comment: 'spam wave',
  },
];

const summaryOf = (overrides: { env?: string; approvals?: Record<string, unknown>[] } = {}) =>
  buildRunSummary({
    env: overrides.env ?? 'dev',
    overview: OVERVIEW,
    tools: TOOLS,
    denials: DENIALS,
    approvals: overrides.approvals ?? APPROVALS,
  });

describe('buildRunSummary', () => {
  it('says how the run stands, why it was halted, and what it spent', () => {
    expect(summaryOf()).toMatchObject({
      run_id: 'run-42',
      status: 'failed',
      outcome: 'stopped by a loop',
      started_at: '2026-11-02T09:00:00Z',
      halted: {
        reason: 'loop',
        by: 'service:cost-governor',
        at: '2026-11-02T09:00:59Z',
        message: 'the same call 4 times',
      },
      declared_limits: { max_steps: 10, budget_micro_usd: 500000 },
      max_steps: 10,
      steps: 2,
      spend_micro_usd: '8500',
    });
  });

  it('counts calls per tool by outcome', () => {
    expect(summaryOf().tools).toEqual([
      {
        tool: '(model calls)',
        executed: 1,
        failed: 0,
        denied: 0,
        rejected: 0,
        in_doubt: 0,
        pending: 0,
      },
      {
        tool: 'helpdesk.get_ticket',
        executed: 1,
        failed: 0,
        denied: 1,
        rejected: 0,
        in_doubt: 0,
        pending: 0,
      },
      {
        tool: 'payroll.run',
        executed: 0,
        failed: 0,
        denied: 1,
        rejected: 0,
        in_doubt: 0,
        pending: 0,
      },
    ]);
  });

  it('suggests the timeline in the same env, and the approvals list when one waits', () => {
    expect(summaryOf().next).toEqual([
      'warden runs timeline run-42',
      'warden audit sql "SELECT * FROM tool_calls WHERE run_id = {run:String}" --param run=run-42',
    ]);
    const waiting = summaryOf({
      env: 'staging',
      approvals: [{ ...APPROVALS[0], outcome: 'pending', answered_at: null, approver: '' }],
    });
    expect(waiting.next.slice(0, 2)).toEqual([
      'warden runs timeline run-42 --env staging',
      'warden approvals list --status pending --env staging',
    ]);
  });
});

describe('renderRunSummary', () => {
  it('prints the facts, each denial with its policies, and who approved', () => {
    const { head, toolTable, tail } = renderRunSummary(summaryOf());
    expect(head).toBe(
      [
        'Run run-42',
        '  agent     triage-bot',
        '  workflow  support',
        '  status    failed, halted before (loop): stopped by a loop',
        '  started   2026-11-02T09:00:00Z',
        '  ended     2026-11-02T09:01:00Z',
        '  halted    loop · by service:cost-governor · 2026-11-02T09:00:59Z · the same call 4 times',
        '  steps     2 of 10 (4 tool calls proposed)',
        '  spend     $0.0085 of a declared $0.50',
        '',
        'Calls by tool:',
      ].join('\n'),
    );
    expect(toolTable.columns).toEqual([
      'tool',
      'executed',
      'failed',
      'denied',
      'rejected',
      'in_doubt',
      'pending',
    ]);
    expect(tail).toContain(
      '  step 3  payroll.run  denied at policy · forbidden · policies no-payroll (v3) · forbidden by policy no-payroll\n',
    );
    // Policy allowed it; the governor refused it: the policies are named as the ones that allowed.
    expect(tail).toContain(
      '  step 4  helpdesk.get_ticket  denied at budget · loop · allowed by reads (v3)\n',
    );
    expect(tail).toContain(
      '  helpdesk.bulk_close  granted by lee: "spam wave" (2026-11-02T09:00:31Z)\n',
    );
    expect(
      tail.endsWith('  warden runs timeline run-42\n' + `  ${summaryOf().next[1] ?? ''}\n`),
    ).toBe(true);
  });
});
