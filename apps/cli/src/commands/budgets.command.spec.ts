import { BudgetSetRequest, BudgetShowRequest } from '@warden/contracts';
import type { Command, CommanderError } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { AGENT_BUDGET_SET, BUDGETS, SPEND } from '../../test/support/governor-views.js';
import { formatDuration, parseDurationMs } from '../duration.js';
import { CliError } from '../output.js';
import { formatUsd, parseUsdToMicros } from '../usd.js';
import {
  AGENT_COLUMNS,
  agentRows,
  budgetSettingFrom,
  budgetShowRequestFrom,
  budgetsCommand,
  describeSet,
  formatRateLimits,
  parseCount,
  parseDay,
  parseRateLimit,
  parseWallClockSeconds,
  printBudgets,
  RUN_COLUMNS,
  runRow,
  SPEND_COLUMNS,
  spendRows,
  WORKFLOW_COLUMNS,
  workflowRows,
} from './budgets.command.js';

describe('USD amounts', () => {
  it('converts to micro-USD exactly, on the digits', () => {
    expect(parseUsdToMicros('5')).toBe(5_000_000);
    expect(parseUsdToMicros('5.00')).toBe(5_000_000);
    expect(parseUsdToMicros('0.000001')).toBe(1);
    expect(parseUsdToMicros('0.3')).toBe(300_000);
    expect(parseUsdToMicros('0')).toBe(0);
    expect(parseUsdToMicros('9007199254.740991')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses 7 decimals, negatives, garbage and amounts beyond 2^53 micro-USD', () => {
    expect(() => parseUsdToMicros('0.0000001')).toThrow(/more than 6 decimals/);
    expect(() => parseUsdToMicros('1.1234567')).toThrow(/more than 6 decimals/);
    expect(() => parseUsdToMicros('-1')).toThrow(/negative/);
    for (const garbage of ['', 'abc', '1e3', '$5', '.5', '5.', '1,000', '0x10', 'NaN', '5 USD']) {
      expect(() => parseUsdToMicros(garbage), garbage).toThrow(/plain decimals/);
    }
    expect(() => parseUsdToMicros('9007199254.740992')).toThrow(/too large/);
  });

  it('formats micro-USD back to what parses to the same amount', () => {
    expect(formatUsd(5_000_000)).toBe('5.00');
    expect(formatUsd(250_000)).toBe('0.25');
    expect(formatUsd(1)).toBe('0.000001');
    expect(formatUsd(12_345_678)).toBe('12.345678');
    for (const micros of [0, 1, 10, 999_999, 1_000_001, Number.MAX_SAFE_INTEGER]) {
      expect(parseUsdToMicros(formatUsd(micros))).toBe(micros);
    }
  });
});

describe('durations', () => {
  it('reads 60s, 1m, 1h, 1h30m and 500ms', () => {
    expect(parseDurationMs('60s')).toBe(60_000);
    expect(parseDurationMs('1m')).toBe(60_000);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('1d')).toBe(86_400_000);
  });

  it('refuses a bare number, unknown units and zero', () => {
    expect(() => parseDurationMs('60')).toThrow(/needs a unit/);
    expect(() => parseDurationMs('1x')).toThrow(/like 30s/);
    expect(() => parseDurationMs('-1m')).toThrow(/like 30s/);
    expect(() => parseDurationMs('')).toThrow(/like 30s/);
    expect(() => parseDurationMs('0s')).toThrow(/longer than 0/);
  });

  it('formats as it reads', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(86_400_000)).toBe('24h');
    expect(formatDuration(1500)).toBe('1s500ms');
  });

  it('takes the wall clock in whole seconds', () => {
    expect(parseWallClockSeconds('30m')).toBe(1800);
    expect(() => parseWallClockSeconds('1500ms')).toThrow(/whole seconds/);
  });
});

describe('counts, days and rate limits', () => {
  it('takes counts as positive whole numbers within the bound', () => {
    expect(parseCount(10_000)('50')).toBe(50);
    for (const bad of ['0', '-1', '1.5', '10001', 'many', '1e3']) {
      expect(() => parseCount(10_000)(bad), bad).toThrow(/from 1 to 10000/);
    }
  });

  it('takes real calendar days only', () => {
    expect(parseDay('2024-02-29')).toBe('2024-02-29');
    for (const bad of ['2025-02-29', '2025-1-31', 'today', '2025-13-01']) {
      expect(() => parseDay(bad), bad).toThrow(/YYYY-MM-DD/);
    }
  });

  it('reads <tool>=<calls>/<window>, with * for every other tool', () => {
    expect(parseRateLimit('zendesk.update_ticket=10/1m')).toEqual({
      tool: 'zendesk.update_ticket',
      calls: 10,
      window_ms: 60_000,
    });
    expect(parseRateLimit('*=100/1h')).toEqual({ tool: '*', calls: 100, window_ms: 3_600_000 });
    expect(parseRateLimit('search=5/60s')).toEqual({ tool: 'search', calls: 5, window_ms: 60_000 });
  });

  it('says which part of a rate limit is wrong', () => {
    expect(() => parseRateLimit('zendesk.update_ticket:10/1m')).toThrow(/<tool>=<calls>\/<window>/);
    expect(() => parseRateLimit('Zendesk.Update=10/1m')).toThrow(/tool name like/);
    expect(() => parseRateLimit('x=0/1m')).toThrow(
      /calls "0" must be a whole number from 1 to 1000/,
    );
    expect(() => parseRateLimit('x=1001/1m')).toThrow(/calls/);
    expect(() => parseRateLimit('x=10/10')).toThrow(/window "10" needs a unit/);
    expect(() => parseRateLimit('x=10/25h')).toThrow(/longer than 24h/);
  });
});

describe('budgets set: the request', () => {
  it('says in --help that setting replaces the whole budget, with pasteable examples', () => {
    const set = budgetsCommand().commands.find((command) => command.name() === 'set');
    let help = '';
    set?.configureOutput({ writeOut: (text) => (help += text) }).outputHelp();
    expect(help).toMatch(/a limit\s+left out is no longer limited/);
    expect(help).toContain('warden budgets set --run --budget-usd 5.00 --max-steps 50');
  });

  it('builds each scope as the contract takes it, leaving out what is not limited', () => {
    const run = budgetSettingFrom({
      run: true,
      budgetUsd: 5_000_000,
      maxSteps: 50,
      maxTokens: 100_000,
      maxWallClock: 1800,
    });
    expect(BudgetSetRequest.parse(run)).toEqual({
      scope: 'run',
      budget_micro_usd: 5_000_000,
      max_steps: 50,
      max_tokens: 100_000,
      max_wall_clock_seconds: 1800,
    });

    const agent = budgetSettingFrom({
      agent: 'support-triage-1',
      dailyUsd: 20_000_000,
      rateLimit: [
        { tool: 'zendesk.update_ticket', calls: 10, window_ms: 60_000 },
        { tool: '*', calls: 100, window_ms: 3_600_000 },
      ],
    });
    expect(BudgetSetRequest.parse(agent)).toEqual(AGENT_BUDGET_SET);

    const workflow = budgetSettingFrom({ workflow: 'refunds', dailyTokens: 2_000_000 });
    expect(BudgetSetRequest.parse(workflow)).toEqual({
      scope: 'workflow',
      workflow: 'refunds',
      max_tokens: 2_000_000,
    });

    // No limit at all: the scope becomes unlimited (setting replaces the whole configuration).
    expect(BudgetSetRequest.parse(budgetSettingFrom({ agent: 'a-1' }))).toEqual({
      scope: 'agent',
      agent_id: 'a-1',
    });
  });

  it('needs exactly one of --run, --agent and --workflow', () => {
    expect(() => budgetSettingFrom({ dailyUsd: 1 })).toThrow(
      /name the scope to set: --run, --agent <id> or --workflow <id>/,
    );
    expect(() => budgetSettingFrom({ run: true, agent: 'a' })).toThrow(
      /--run and --agent name different scopes/,
    );
    expect(() => budgetSettingFrom({ agent: 'a', workflow: 'w' })).toThrow(CliError);
  });

  it('refuses a limit the scope does not have, naming the ones it does', () => {
    const error = catchError(() => budgetSettingFrom({ agent: 'a', budgetUsd: 1 }));
    expect(error.message).toBe('--budget-usd does not apply to --agent <id>');
    expect(error.hint).toMatch(/--daily-usd, --daily-tokens, --rate-limit/);
    expect(() => budgetSettingFrom({ workflow: 'w', rateLimit: [] })).toThrow(
      /--rate-limit does not apply to --workflow/,
    );
    expect(() => budgetSettingFrom({ run: true, dailyUsd: 1 })).toThrow(
      /--daily-usd does not apply to --run/,
    );
  });

  it('refuses the same tool in two rate limits', () => {
    const limit = { tool: 'x', calls: 1, window_ms: 1000 };
    expect(() => budgetSettingFrom({ agent: 'a', rateLimit: [limit, limit] })).toThrow(
      /--rate-limit names x twice/,
    );
  });

  it('refuses bad flag values before anything is sent', async () => {
    for (const args of [
      ['--run', '--budget-usd', '1.0000001'],
      ['--run', '--budget-usd', '-5'],
      ['--run', '--max-wall-clock', '30'],
      ['--agent', 'Support Bot'],
      ['--agent', 'a', '--rate-limit', 'x=10'],
    ]) {
      const error = await quiet(budgetsCommand())
        .parseAsync(['set', ...args, '--token', 't'], { from: 'user' })
        .catch((e: unknown) => e);
      expect((error as CommanderError).code, args.join(' ')).toBe('commander.invalidArgument');
    }
  });
});

describe('budgets show: the request', () => {
  it('names the agent, the workflow and the day as the contract takes them', () => {
    expect(BudgetShowRequest.parse(budgetShowRequestFrom({}))).toEqual({});
    expect(
      BudgetShowRequest.parse(
        budgetShowRequestFrom({ agent: 'a-1', workflow: 'refunds', day: '2025-01-31' }),
      ),
    ).toEqual({ agent_id: 'a-1', workflow: 'refunds', day: '2025-01-31' });
  });

  it('refuses --day without an agent or workflow', () => {
    expect(() => budgetShowRequestFrom({ day: '2025-01-31' })).toThrow(/name one/);
  });
});

describe('budgets tables', () => {
  it('shows the run limits in USD and durations, "not set" where unset', () => {
    expect(RUN_COLUMNS.map((column) => runRow(BUDGETS.run)[column])).toEqual([
      '5.00',
      50,
      'not set',
      '30m',
      'admin',
      '2025-01-01T00:00:00.000000Z',
    ]);
  });

  it('shows agents with their rate limits as --rate-limit takes them, * last', () => {
    const [row] = agentRows(BUDGETS.agents);
    expect(AGENT_COLUMNS.map((column) => row?.[column])).toEqual([
      'support-triage-1',
      '20.00',
      'unlimited',
      'zendesk.update_ticket=10/1m, *=100/1h',
      'admin',
      '2025-01-02T00:00:00.000000Z',
    ]);
    expect(formatRateLimits({})).toBe('none');
  });

  it('shows workflows, unlimited where no limit is set', () => {
    const [row] = workflowRows(BUDGETS.workflows);
    expect(WORKFLOW_COLUMNS.map((column) => row?.[column])).toEqual([
      'refunds',
      'unlimited',
      2_000_000,
      'bob',
      '2025-01-03T00:00:00.000000Z',
    ]);
  });

  it("shows a day's spend in USD to the micro-dollar", () => {
    const [row] = spendRows([SPEND]);
    expect(SPEND_COLUMNS.map((column) => row?.[column])).toEqual([
      'agent',
      'support-triage-1',
      '2025-01-31',
      '20.00',
      '12.345678',
      '0.000001',
      '7.654321',
      '4200',
      '2025-02-01T00:00:00.000000Z',
    ]);
    const [unlimited] = spendRows([
      { ...SPEND, limit_micro_usd: undefined, remaining_micro_usd: undefined, limit_tokens: 10 },
    ]);
    expect(unlimited).toMatchObject({
      limit_usd: 'unlimited',
      remaining_usd: 'unlimited',
      tokens: '4200 of 10',
    });
  });

  it('prints the three sections, and says when a section is empty', () => {
    const out = captureStdout(() => {
      printBudgets({ run: {}, agents: [], workflows: [] });
    });
    expect(out).toMatch(/^Run limits \(every run\)\n/);
    expect(out).toContain('not set');
    expect(out).toContain('no agent budgets set');
    expect(out).toContain('no workflow budgets set');
  });

  it('says when a set changed nothing', () => {
    expect(describeSet({ scope: 'agent', agent_id: 'a-1' }, true)).toBe(
      'set the budget of agent a-1\n\n',
    );
    expect(describeSet({ scope: 'run' }, false)).toMatch(/^unchanged: the run limits/);
  });
});

function catchError(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

function captureStdout(run: () => void): string {
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    run();
  } finally {
    write.mockRestore();
  }
  return out;
}

/** The command with commander's exits turned into throws and its output swallowed. */
function quiet(command: Command): Command {
  command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const sub of command.commands) quiet(sub);
  return command;
}
