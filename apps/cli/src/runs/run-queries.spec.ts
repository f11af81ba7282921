import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseRunsSince, runListTable, statusText } from './run-queries.js';

const NOW = new Date('2026-11-08T09:30:00Z');

describe('parseRunsSince', () => {
  it('counts minutes, hours and days back to the instant', () => {
    expect(parseRunsSince('30m', NOW)).toEqual({ text: '30m', from: '2026-11-08 09:00:00.000000' });
    expect(parseRunsSince('24h', NOW).from).toBe('2026-11-07 09:30:00.000000');
    expect(parseRunsSince('7d', NOW).from).toBe('2026-11-01 09:30:00.000000');
  });

  it('takes a UTC date as its midnight', () => {
    expect(parseRunsSince('2026-11-01', NOW).from).toBe('2026-11-01 00:00:00.000000');
  });

  it.each([
    ['7', /is not a time/],
    ['7w', /is not a time/],
    ['0h', /no time at all/],
    ['401d', /past the audit log's 400 days/],
    ['2026-02-30', /not a calendar date/],
  ])('refuses %j', (text, message) => {
    expect(() => parseRunsSince(text, NOW)).toThrow(InvalidArgumentError);
    expect(() => parseRunsSince(text, NOW)).toThrow(message);
  });
});

describe('runListTable', () => {
  it('renders a run per row, money in USD, denials and refusals together', () => {
    const table = runListTable([
      {
        run_id: 'run-42',
        agent_id: 'triage-bot',
        workflow: '',
        started_at: '2026-11-02 09:00:00.001000',
        status: 'halted',
        halt_reason: 'loop',
        steps: '3',
        cost_micro_usd: '9007199254740993',
        denied: '1',
        rejected: '2',
        approvals_pending: '1',
      },
    ]);
    expect(table.rows).toEqual([
      {
        run: 'run-42',
        agent: 'triage-bot',
        workflow: '(none)',
        'started (UTC)': '2026-11-02T09:00:00Z',
        status: 'halted (loop)',
        steps: '3',
        // Exact past 2^53: the sum arrives as a string and is read as a BigInt.
        'cost USD': '9007199254.740993',
        denials: '3',
        'pending approvals': '1',
      },
    ]);
  });
});

describe('statusText', () => {
  it('says a run was halted even when it ended afterwards', () => {
    expect(statusText('running', '')).toBe('running');
    expect(statusText('halted', 'paused')).toBe('halted (paused)');
    expect(statusText('succeeded', 'paused')).toBe('succeeded, halted before (paused)');
  });
});
