import { CommanderError, InvalidArgumentError } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import {
  agentDaysTable,
  costsCommand,
  formatMicroUsd,
  haltedTable,
  parseSince,
  workflowDaysTable,
} from './costs.command.js';

const NOW = new Date('2026-11-08T09:30:00Z');

describe('parseSince', () => {
  it('counts days and hours back and starts at the UTC day that time falls on', () => {
    expect(parseSince('7d', NOW)).toEqual({ text: '7d', day: '2026-11-01' });
    expect(parseSince('24h', NOW)).toEqual({ text: '24h', day: '2026-11-07' });
    expect(parseSince('9h', NOW)).toEqual({ text: '9h', day: '2026-11-08' });
    expect(parseSince('10h', NOW)).toEqual({ text: '10h', day: '2026-11-07' });
    expect(parseSince('400d', NOW).day).toBe('2025-10-04');
  });

  it('takes a UTC date as the first day', () => {
    expect(parseSince('2026-11-01', NOW)).toEqual({ text: '2026-11-01', day: '2026-11-01' });
    expect(parseSince('2024-02-29', NOW).day).toBe('2024-02-29');
  });

  it.each([
    ['', /is not a time: use .*7d, 24h.*2026-11-01/],
    ['7', /is not a time/],
    ['7 d', /is not a time/],
    ['-7d', /is not a time/],
    ['1.5d', /is not a time/],
    ['7w', /is not a time/],
    ['yesterday', /is not a time/],
    ['0d', /no time at all/],
    ['401d', /past the audit log's 400 days/],
    ['9601h', /past the audit log's 400 days/],
    ['2026-02-30', /not a calendar date/],
    ['2026-13-01', /not a calendar date/],
    ['2026-11-1', /is not a time/],
  ])('refuses %j with a message that says what works', (text, message) => {
    const error = (() => {
      try {
        parseSince(text, NOW);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('formatMicroUsd', () => {
  it('prints micro-USD exactly, with two to six decimals', () => {
    expect(formatMicroUsd('1234567')).toBe('1.234567');
    expect(formatMicroUsd('250000')).toBe('0.25');
    expect(formatMicroUsd('1500000')).toBe('1.50');
    expect(formatMicroUsd('1')).toBe('0.000001');
    expect(formatMicroUsd('0')).toBe('0.00');
    expect(formatMicroUsd(4_000)).toBe('0.004');
    expect(formatMicroUsd('-1500000')).toBe('-1.50');
  });

  it('stays exact past 2^53 (64-bit sums arrive as strings)', () => {
    expect(formatMicroUsd('9007199254740993')).toBe('9007199254.740993');
  });

  it('shows n/a where there is nothing to divide by', () => {
    expect(formatMicroUsd(null)).toBe('n/a');
  });

  it('refuses what is not a whole number of micro-USD', () => {
    expect(() => formatMicroUsd('1.5')).toThrow(TypeError);
    expect(() => formatMicroUsd({})).toThrow(TypeError);
  });
});

describe('tables', () => {
  const days = [
    {
      day: '2026-11-02',
      workflow: 'refunds',
      runs: '2',
      succeeded_runs: '1',
      cost_micro_usd: '1242567',
      cost_per_successful_run_micro_usd: '1242567',
    },
    {
      day: '2026-11-03',
      workflow: '',
      runs: '1',
      succeeded_runs: '0',
      cost_micro_usd: '700',
      cost_per_successful_run_micro_usd: null,
    },
  ];

  it('renders a day per row in USD, the workflow column only when several are shown', () => {
    expect(workflowDaysTable(days, true).columns).toEqual([
      'day',
      'runs',
      'succeeded',
      'cost USD',
      'per successful run USD',
    ]);
    const all = workflowDaysTable(days, false);
    expect(all.columns).toEqual([
      'day',
      'workflow',
      'runs',
      'succeeded',
      'cost USD',
      'per successful run USD',
    ]);
    expect(all.rows).toEqual([
      {
        day: '2026-11-02',
        workflow: 'refunds',
        runs: '2',
        succeeded: '1',
        'cost USD': '1.242567',
        'per successful run USD': '1.242567',
      },
      {
        day: '2026-11-03',
        workflow: '(none)',
        runs: '1',
        succeeded: '0',
        'cost USD': '0.0007',
        'per successful run USD': 'n/a',
      },
    ]);
  });

  it('renders halted runs by reason and an agent’s spend', () => {
    expect(
      haltedTable([{ day: '2026-11-02', workflow: 'refunds', reason: 'loop', runs: '3' }], true),
    ).toEqual({
      columns: ['day', 'reason', 'runs'],
      rows: [{ day: '2026-11-02', workflow: 'refunds', reason: 'loop', runs: '3' }],
    });
    expect(
      agentDaysTable([
        {
          day: '2026-11-02',
          agent_id: 'refund-bot',
          cost_micro_usd: '1242567',
          settled_calls: '4',
          runs: '2',
        },
      ]),
    ).toEqual({
      columns: ['day', 'cost USD', 'settled calls', 'runs'],
      rows: [{ day: '2026-11-02', 'cost USD': '1.242567', 'settled calls': '4', runs: '2' }],
    });
  });
});

describe('warden costs options', () => {
  /** Parses `args` without running the action; returns commander's error output, if any. */
  async function parseError(args: string[]): Promise<string> {
    let output = '';
    const command = costsCommand()
      .exitOverride()
      .configureOutput({ writeErr: (text) => (output += text), writeOut: () => undefined })
      .action(() => undefined);
    await expect(command.parseAsync(args, { from: 'user' })).rejects.toBeInstanceOf(CommanderError);
    return output;
  }

  it('says which --since forms work', async () => {
    expect(await parseError(['--since', '7x'])).toMatch(
      /option '--since <when>' argument '7x' is invalid\. "7x" is not a time: use .*7d, 24h/,
    );
  });

  it('refuses --agent with --workflow, and a workflow that is not an id', async () => {
    expect(await parseError(['--agent', 'bot', '--workflow', 'refunds'])).toMatch(
      /cannot be used with option '--workflow/,
    );
    expect(await parseError(['--workflow', 'Refunds Team'])).toMatch(/workflow must be 1-64/);
  });

  it('shows an example in --help', () => {
    const write = vi.fn();
    const command = costsCommand().configureOutput({ writeOut: write });
    command.outputHelp();
    const help = write.mock.calls.map((call) => String(call[0])).join('');
    expect(help).toContain('warden costs --workflow refunds --since 7d');
    expect(help).toContain('--since <when>');
  });
});
