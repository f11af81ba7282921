import { describe, expect, it } from 'vitest';
import { CliError } from '../output.js';
import { reportWindow } from './canary-read.js';
import {
  canaryFromEvents,
  canaryFromView,
  canaryReportFrom,
  canaryReportText,
  formatMicros,
  formatP,
  type CanaryInfo,
  type CanaryReportRows,
} from './canary-report.js';
import { compareProportions, mannWhitneyU, rankSummary } from './stats.js';

const CANARY = '01JD4K6Z8V3M2T9Q7W5XC0000A';

const canary: CanaryInfo = canaryFromView({
  workflow: 'support-triage',
  canary_id: CANARY,
  version: 'v2',
  baseline: 'v1',
  percent: 10,
  policy_version: 7,
  started_at: '2026-11-02T09:00:00.000000Z',
  started_by: 'human:alice',
  reason: 'looser bulk rule',
});

/** An arm row as the collector answers it: 64-bit counts as strings, quantiles as numbers. */
function armRow(arm: string, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    arm,
    runs: '0',
    succeeded: '0',
    failed: '0',
    halted: '0',
    running: '0',
    calls: '0',
    runs_with_denial: '0',
    calls_denied: '0',
    approvals_requested: '0',
    escaped_errors: '0',
    runs_with_escaped_error: '0',
    cost_micro_usd: '0',
    succeeded_cost_micro_usd: '0',
    durations: '0',
    duration_us: [null, null, null],
    versions: [],
    policy_versions: [],
    ...fields,
  };
}

// 450 baseline runs and 50 canary runs: every canary run closed tickets with no human.
const escapedCounts = { baseline: Array<number>(450).fill(0), canary: Array<number>(50).fill(1) };
const escapedRanks = rankSummary(escapedCounts.baseline, escapedCounts.canary);

const rows: CanaryReportRows = {
  arms: [
    armRow('baseline', {
      runs: '450',
      succeeded: '440',
      failed: '5',
      halted: '3',
      running: '2',
      calls: '900',
      runs_with_denial: '20',
      calls_denied: '22',
      approvals_requested: '450',
      cost_micro_usd: '4500000',
      succeeded_cost_micro_usd: '4400000',
      durations: '448',
      duration_us: [2_000_000, 5_500_000.4, 9_000_000],
      versions: ['v1'],
      policy_versions: ['6'],
    }),
    armRow('canary', {
      runs: '50',
      succeeded: '50',
      calls: '100',
      runs_with_denial: '2',
      calls_denied: '2',
      escaped_errors: '50',
      runs_with_escaped_error: '50',
      cost_micro_usd: '600000',
      succeeded_cost_micro_usd: '600000',
      durations: '50',
      duration_us: [1_500_000, 3_000_000, 4_000_000],
      versions: ['v2'],
      policy_versions: ['7'],
    }),
  ],
  latency: [
    { arm: 'baseline', calls: '900', latency_us: [12_000, 40_000.7, 90_000] },
    { arm: 'canary', calls: '100', latency_us: [11_000, 38_000, 85_000] },
  ],
  ranks: [
    {
      metric: 'escaped_errors',
      n_baseline: escapedRanks.na,
      n_canary: escapedRanks.nb,
      sum_baseline: 0,
      sum_canary: 50,
      rank_sum_canary: escapedRanks.rankSumB,
      tie_term: escapedRanks.tieTerm,
    },
    {
      metric: 'cost_per_successful_run',
      n_baseline: 440,
      n_canary: 50,
      sum_baseline: 4_400_000,
      sum_canary: 600_000,
      rank_sum_canary: 14_000,
      tie_term: 0,
    },
  ],
};

const window = { since: '7d', from: '2026-10-26T09:00:00.000000Z' };

describe('canaryReportFrom', () => {
  const report = canaryReportFrom({ env: 'dev', canary, window, rows });

  it('puts each arm’s figures side by side', () => {
    expect(report.arms.baseline).toEqual({
      version: 'v1',
      recorded_versions: ['v1'],
      policy_versions: [6],
      runs: 450,
      finished: 448,
      succeeded: 440,
      failed: 5,
      halted: 3,
      running: 2,
      other_endings: 0,
      calls: 900,
      runs_with_denial: 20,
      calls_denied: 22,
      approvals_requested: 450,
      escaped_errors: 0,
      runs_with_escaped_error: 0,
      cost_micro_usd: '4500000',
      cost_per_successful_run_micro_usd: 10_000,
      cost_per_successful_run_usd: '0.01',
      call_latency_us: { p50: 12_000, p95: 40_001, p99: 90_000 },
      run_duration_us: { p50: 2_000_000, p95: 5_500_000, p99: 9_000_000 },
    });
    expect(report.arms.canary).toMatchObject({
      version: 'v2',
      runs: 50,
      escaped_errors: 50,
      cost_per_successful_run_usd: '0.012',
    });
    expect(report.canary).toEqual(canary);
    expect(report).toMatchObject({ env: 'dev', workflow: 'support-triage', window, alpha: 0.05 });
  });

  it('tests each rate with the proportion test and each mean with the rank test', () => {
    const by = new Map(report.comparisons.map((c) => [c.metric, c]));
    expect(by.get('runs_with_escaped_error')).toEqual({
      metric: 'runs_with_escaped_error',
      label: 'runs with an escaped error',
      statistic: 'rate',
      unit: 'share of runs',
      baseline: 0,
      canary: 1,
      n_baseline: 450,
      n_canary: 50,
      ...compareProportions({ successes: 0, trials: 450 }, { successes: 50, trials: 50 }),
      verdict: 'significant',
    });
    const escaped = by.get('escaped_errors');
    expect(escaped).toMatchObject({
      statistic: 'mean',
      baseline: 0,
      canary: 1,
      test: 'mann-whitney u',
      p_value: mannWhitneyU(escapedRanks).p_value,
      verdict: 'significant',
    });
    expect(escaped?.p_value).toBeLessThan(1e-50);
    // Rates over finished runs: the two still running are left out.
    expect(by.get('succeeded')).toMatchObject({ baseline: 440 / 448, n_baseline: 448 });
    expect(by.get('cost_per_successful_run')).toMatchObject({
      baseline: 10_000,
      canary: 12_000,
      n_canary: 50,
    });
    // Medians come from the percentiles.
    expect(by.get('call_latency')).toMatchObject({ baseline: 12_000, canary: 11_000 });
  });

  it('has no p-value and says so where an arm has no observation', () => {
    const duration = report.comparisons.find((c) => c.metric === 'run_duration');
    expect(duration).toMatchObject({
      p_value: null,
      verdict: 'not enough evidence',
      note: 'no runs in the baseline arm: nothing to compare',
    });
  });

  it('notes a small arm, runs still running and what to read with care', () => {
    const small = canaryReportFrom({
      env: 'dev',
      canary,
      window,
      rows: { ...rows, arms: [rows.arms[0]!, armRow('canary', { runs: '12', succeeded: '12' })] },
    });
    expect(small.notes[0]).toBe(
      'the canary arm has 12 runs (fewer than 30): p-values are rough and a real difference may not show yet; report again later',
    );
    expect(small.notes).toContain(
      '2 runs are still running: left out of the rates over finished runs and of run durations',
    );
    expect(small.comparisons[0]?.note).toBe('only 12 runs in the canary arm: the p-value is rough');
  });

  it('reports no run at all with one note and no p-value', () => {
    const empty = canaryReportFrom({
      env: 'dev',
      canary,
      window,
      rows: { arms: [], latency: [], ranks: [] },
    });
    expect(empty.arms.canary).toMatchObject({ runs: 0, call_latency_us: { p50: null } });
    expect(empty.comparisons.every((c) => c.p_value === null)).toBe(true);
    expect(empty.notes).toEqual([
      `no run in the log names canary ${CANARY} since ${window.from}: a run joins the canary when its agent starts it through Warden's release assignment for workflow support-triage`,
    ]);
  });

  it("takes the baseline's version from its runs when the workflow has no release", () => {
    const { baseline: _none, ...unreleased } = canary;
    const report = canaryReportFrom({ env: 'dev', canary: unreleased, window, rows });
    expect(report.arms.baseline.version).toBe('v1');
    const mixed = canaryReportFrom({
      env: 'dev',
      canary: unreleased,
      window,
      rows: { ...rows, arms: [armRow('baseline', { runs: '3', versions: ['', 'a', 'b'] })] },
    });
    expect(mixed.arms.baseline.version).toBeNull();
    expect(mixed.notes).toContain('the baseline runs recorded several versions: (none), a, b');
  });

  it('refuses a row of an unexpected shape, naming it', () => {
    expect(() =>
      canaryReportFrom({
        env: 'dev',
        canary,
        window,
        rows: { ...rows, latency: [{ arm: 'control', calls: '1', latency_us: [1, 2, 3] }] },
      }),
    ).toThrow(CliError);
  });
});

describe('canaryReportText', () => {
  const text = canaryReportText(canaryReportFrom({ env: 'dev', canary, window, rows }));

  it('says which canary, since when, and under which policies', () => {
    expect(text.summary).toEqual([
      `canary ${CANARY} of support-triage, env dev: v2 on 10% of new runs, baseline v1`,
      '  started 2026-11-02T09:00:00Z by human:alice: "looser bulk rule"; in force',
      "  policy: the canary arm's intents are decided under version 7, the baseline's under the active one",
      '  runs started since 2026-10-26T09:00:00Z (7d)',
    ]);
  });

  it('puts the arms side by side', () => {
    const row = (name: string) => text.arms.rows.find((r) => r[''] === name);
    expect(text.arms.columns).toEqual(['', 'baseline', 'canary']);
    expect(row('succeeded / failed / halted / running')).toEqual({
      '': 'succeeded / failed / halted / running',
      baseline: '440 / 5 / 3 / 2',
      canary: '50 / 0 / 0 / 0',
    });
    expect(row('escaped errors')).toMatchObject({
      baseline: '0 in 0 runs',
      canary: '50 in 50 runs',
    });
    expect(row('cost per successful run')).toMatchObject({ baseline: '0.01 USD' });
    expect(row('call latency p50 / p95 / p99')).toMatchObject({
      baseline: '12.0 ms / 40.0 ms / 90.0 ms',
    });
    expect(row('run duration p50 / p95 / p99')).toMatchObject({
      canary: '1.50 s / 3.00 s / 4.00 s',
    });
  });

  it('gives each comparison its values, p-value and verdict', () => {
    expect(text.comparisons.columns).toEqual([
      'metric',
      'baseline',
      'canary',
      'p-value',
      'verdict',
    ]);
    expect(text.comparisons.rows.find((r) => r.metric === 'escaped errors per run (mean)')).toEqual(
      {
        metric: 'escaped errors per run (mean)',
        baseline: '0.00',
        canary: '1.00',
        'p-value': '<0.001',
        verdict: 'significant',
      },
    );
    expect(text.comparisons.rows[0]).toMatchObject({
      metric: 'succeeded, of finished runs',
      baseline: '98.2%',
      canary: '100.0%',
    });
    expect(text.notes).toContain(
      'note: run duration: no runs in the baseline arm: nothing to compare',
    );
    expect(text.next[0]).toMatch(/^next: `warden canary promote --workflow support-triage/);
  });

  it('says how an ended canary ended, and offers nothing next', () => {
    const ended = canaryReportText(
      canaryReportFrom({
        env: 'dev',
        canary: {
          ...canary,
          status: 'promoted',
          ended: {
            at: '2026-11-03T10:00:00.000000Z',
            by: 'human:bob',
            reason: 'fine',
            activated_policy_version: 8,
          },
        },
        window,
        rows,
      }),
    );
    expect(ended.summary[1]).toBe(
      '  started 2026-11-02T09:00:00Z by human:alice: "looser bulk rule"; promoted 2026-11-03T10:00:00Z by human:bob: "fine" (policy version 8 activated)',
    );
    expect(ended.next).toEqual([]);
  });
});

describe('canaryFromEvents', () => {
  const event = (at: string, data: Record<string, unknown>) => ({
    occurred_at: at,
    data: JSON.stringify({
      workflow: 'support-triage',
      canary_id: CANARY,
      version: 'v2',
      percent: 10,
      by: 'human:alice',
      ...data,
    }),
  });

  it('takes the definition from the start and the ending from an abort', () => {
    expect(
      canaryFromEvents([
        event('2026-11-02 09:00:00.000001', { change: 'started' }),
        event('2026-11-02 10:00:00.000000', {
          change: 'aborted',
          by: 'human:bob',
          reason: 'too many escaped errors',
        }),
      ]),
    ).toEqual({
      canary_id: CANARY,
      workflow: 'support-triage',
      version: 'v2',
      percent: 10,
      started_at: '2026-11-02T09:00:00.000001Z',
      started_by: 'human:alice',
      status: 'aborted',
      ended: {
        at: '2026-11-02T10:00:00.000000Z',
        by: 'human:bob',
        reason: 'too many escaped errors',
      },
    });
  });

  it('finds nothing without a start, and refuses an event of another shape', () => {
    expect(canaryFromEvents([])).toBeUndefined();
    expect(() =>
      canaryFromEvents([event('2026-11-02 09:00:00.000001', { change: 'paused' })]),
    ).toThrow(/canary.changed event this CLI does not understand/);
  });
});

describe('reportWindow', () => {
  const now = new Date('2026-11-10T12:00:00Z');

  it("opens an hour before the canary's start by default", () => {
    expect(reportWindow(canary, undefined, now)).toEqual({
      since: 'the canary started, less an hour',
      from: '2026-11-02T08:00:00.000000Z',
      param: '2026-11-02 08:00:00.000000',
    });
  });

  it('takes --since as `runs list` does, and refuses anything else with an example', () => {
    expect(reportWindow(canary, '7d', now)).toEqual({
      since: '7d',
      from: '2026-11-03T12:00:00.000000Z',
      param: '2026-11-03 12:00:00.000000',
    });
    expect(() => reportWindow(canary, 'last week', now)).toThrow(/--since .*not a time/);
  });
});

describe('formatting', () => {
  it('writes durations in the unit a person reads', () => {
    expect([850, 12_345, 4_200_000, 210_000_000, null].map(formatMicros)).toEqual([
      '850 µs',
      '12.3 ms',
      '4.20 s',
      '3.5 min',
      '-',
    ]);
  });

  it('writes p-values to three decimals', () => {
    expect([0.04213, 0.0004, 1, null].map(formatP)).toEqual(['0.042', '<0.001', '1.000', '-']);
  });
});
