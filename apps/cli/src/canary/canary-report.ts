import { CanaryChanged, canaryViewOf, formatUsd, type CanaryView } from '@warden/contracts';
import { z } from 'zod';
import { envFlagFor } from '../commands/common-options.js';
import { CliError } from '../output.js';
import { rfc3339, shortTime } from '../runs/run-queries.js';
import {
  ArmRow,
  CanaryEventRow,
  LatencyRow,
  RankRow,
  type RankedMetric,
} from './canary-queries.js';
import {
  ALPHA,
  compareProportions,
  FEW_RUNS,
  mannWhitneyU,
  verdictOf,
  type TestName,
  type TestResult,
  type Verdict,
} from './stats.js';

/*
 * `warden canary report`: the two arms of a canary side by side, and for each rate or mean
 * whether the difference is real. Pure: rows in, report out (canary-read.ts asks the log).
 */

/** The two sides of a canary, in the order the report shows them. */
export const ARMS = ['baseline', 'canary'] as const;
export type ArmName = (typeof ARMS)[number];

/** A canary as the report describes it: its definition, and how it ended if it did. */
export interface CanaryInfo {
  readonly canary_id: string;
  readonly workflow: string;
  /** The release the canary arm runs. */
  readonly version: string;
  /** The release the baseline arm keeps (none when the workflow had no promoted release). */
  readonly baseline?: string;
  readonly percent: number;
  /** The policy version the canary arm's intents are decided under (none: the active one). */
  readonly policy_version?: number;
  readonly started_at: string;
  readonly started_by: string;
  readonly reason?: string;
  readonly status: 'in_force' | 'promoted' | 'aborted';
  readonly ended?: {
    readonly at: string;
    readonly by: string;
    readonly reason?: string;
    /** For a promotion with a policy: the active policy version it published. */
    readonly activated_policy_version?: number;
  };
}

/** The canary in force, as `canary-list` shows it. */
export function canaryFromView(view: CanaryView): CanaryInfo {
  return { ...view, status: 'in_force' };
}

/**
 * A canary from its `canary.changed` events (CANARY_EVENTS_SQL, in log order): the start
 * defines it, a promotion or an abort ends it. Undefined when the log has no start of it.
 */
export function canaryFromEvents(rows: readonly Record<string, unknown>[]): CanaryInfo | undefined {
  let canary: CanaryInfo | undefined;
  for (const row of parseRows(CanaryEventRow, 'canary.changed', rows)) {
    const parsed = CanaryChanged.safeParse(JSON.parse(row.data));
    if (!parsed.success) {
      throw new CliError(
        `the audit log holds a canary.changed event this CLI does not understand: ${z.prettifyError(parsed.error)}`,
        'Are the CLI and the services the same version?',
      );
    }
    const data = parsed.data;
    const at = rfc3339(row.occurred_at);
    if (data.change === 'started') {
      canary = canaryFromView(canaryViewOf(data, at));
    } else if (canary !== undefined) {
      canary = {
        ...canary,
        status: data.change,
        ended: {
          at,
          by: data.by,
          ...(data.reason === undefined ? {} : { reason: data.reason }),
          ...(data.activated_policy_version === undefined
            ? {}
            : { activated_policy_version: data.activated_policy_version }),
        },
      };
    }
  }
  return canary;
}

/** Percentiles of a measure, in microseconds (null without any observation). */
export interface Percentiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** One arm's figures. */
export interface ArmStats {
  /**
   * The release this arm runs: the canary's; for the baseline, the workflow's promoted release,
   * else the one version its runs recorded themselves (null: none, or several).
   */
  readonly version: string | null;
  /** The versions its runs recorded on `run.started` ('' for a run that recorded none). */
  readonly recorded_versions: readonly string[];
  /** The policy versions its calls were decided under. */
  readonly policy_versions: readonly number[];
  readonly runs: number;
  /** Runs that ended or were halted. */
  readonly finished: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly halted: number;
  readonly running: number;
  /** Cancelled, or ended without saying how. */
  readonly other_endings: number;
  /** Governed calls (intents) of its runs. */
  readonly calls: number;
  readonly runs_with_denial: number;
  /** Calls Warden refused: denied or rejected, as `warden runs list` counts denials. */
  readonly calls_denied: number;
  readonly approvals_requested: number;
  /**
   * Executed calls whose decision's risk was a write that is also bulk, money, permission or
   * production, with no approval granted: risky writes that ran without a human.
   */
  readonly escaped_errors: number;
  readonly runs_with_escaped_error: number;
  readonly cost_micro_usd: string;
  /** The mean spend of its succeeded runs, to the micro-USD (null: none succeeded). */
  readonly cost_per_successful_run_micro_usd: number | null;
  readonly cost_per_successful_run_usd: string | null;
  /** Proposed to resolved, over its calls. */
  readonly call_latency_us: Percentiles;
  /** run.started to its end or halt, over its finished runs. */
  readonly run_duration_us: Percentiles;
  /** With `--suite`: the intent cases that failed under this arm's policy. */
  readonly eval_failures?: number;
}

/** Every metric the report compares, in the order it shows them. */
export const COMPARED = [
  'succeeded',
  'halted',
  'runs_with_denial',
  'runs_with_escaped_error',
  'calls_denied',
  'approvals_requested',
  'escaped_errors',
  'cost_per_successful_run',
  'run_duration',
  'call_latency',
] as const;
export type ComparedMetric = (typeof COMPARED)[number];

/** What a comparison's values are. */
export type Unit = 'share of finished runs' | 'share of runs' | 'per run' | 'micro-USD' | 'µs';

/** One compared rate or mean, and whether the difference is real. */
export interface Comparison {
  readonly metric: ComparedMetric;
  readonly label: string;
  /** `rate` (a share, 0 to 1), `mean`, or `median` (the rank test compares whole distributions). */
  readonly statistic: 'rate' | 'mean' | 'median';
  readonly unit: Unit;
  readonly baseline: number | null;
  readonly canary: number | null;
  /** The observations each arm contributed: runs, finished runs, succeeded runs or calls. */
  readonly n_baseline: number;
  readonly n_canary: number;
  readonly test: TestName;
  /** Two-sided; null when an arm has no observation. */
  readonly p_value: number | null;
  readonly verdict: Verdict;
  readonly note?: string;
}

/** One intent case that failed under an arm's policy. */
export interface EvalFailure {
  readonly suite: string;
  readonly case: string;
  readonly expected: string;
  readonly actual: string;
}

/** The suite's intent cases under one arm's policy version. */
export interface ArmEval {
  /** The policy version the cases were decided under. */
  readonly policy_version: number;
  /** How it was chosen, in words: `version 4 (active)`, `version 5 (the canary's)`. */
  readonly decided_with: string;
  readonly cases: number;
  readonly passed: number;
  readonly failed: number;
  readonly failures: readonly EvalFailure[];
}

/** `--suite`: golden intent cases decided under each arm's policy. */
export interface CanaryEval {
  readonly suites: readonly string[];
  /** The canary has no policy version of its own: both arms are decided alike. */
  readonly same_policy: boolean;
  readonly baseline: ArmEval;
  readonly canary: ArmEval;
  readonly notes: readonly string[];
}

/** What `warden canary report --json` prints. */
export interface CanaryReport {
  readonly env: string;
  readonly workflow: string;
  readonly canary: CanaryInfo;
  /** The runs compared: those the canary assigned whose run.started is at or after `from`. */
  readonly window: { readonly since: string; readonly from: string };
  /** Below this p-value a difference is called significant. */
  readonly alpha: number;
  readonly arms: { readonly baseline: ArmStats; readonly canary: ArmStats };
  readonly comparisons: readonly Comparison[];
  readonly eval?: CanaryEval;
  readonly notes: readonly string[];
}

/** The rows of the three report queries, as the collector answers them. */
export interface CanaryReportRows {
  readonly arms: readonly Record<string, unknown>[];
  readonly latency: readonly Record<string, unknown>[];
  readonly ranks: readonly Record<string, unknown>[];
}

/** Everything the report is built from. */
export interface CanaryReportInput {
  readonly env: string;
  readonly canary: CanaryInfo;
  readonly window: { readonly since: string; readonly from: string };
  readonly rows: CanaryReportRows;
  readonly eval?: CanaryEval;
}

/**
 * Builds the report from the rows (each validated: a view that changed shape fails here with its
 * name, not as a wrong table).
 */
export function canaryReportFrom(input: CanaryReportInput): CanaryReport {
  const { canary } = input;
  const armRows = new Map(parseRows(ArmRow, 'arm', input.rows.arms).map((r) => [r.arm, r]));
  const latency = new Map(
    parseRows(LatencyRow, 'latency', input.rows.latency).map((r) => [r.arm, r]),
  );
  const ranks = new Map(parseRows(RankRow, 'rank', input.rows.ranks).map((r) => [r.metric, r]));

  const armStats = (arm: ArmName): ArmStats => {
    const row = armRows.get(arm);
    const calls = latency.get(arm);
    const recorded = row?.versions ?? [];
    const version = arm === 'canary' ? canary.version : (canary.baseline ?? soleVersion(recorded));
    const runs = row?.runs ?? 0;
    const succeeded = row?.succeeded ?? 0;
    const mean =
      row === undefined || succeeded === 0
        ? null
        : Math.round(Number(row.succeeded_cost_micro_usd) / succeeded);
    const finished = runs - (row?.running ?? 0);
    return {
      version,
      recorded_versions: recorded,
      policy_versions: row?.policy_versions ?? [],
      runs,
      finished,
      succeeded,
      failed: row?.failed ?? 0,
      halted: row?.halted ?? 0,
      running: row?.running ?? 0,
      other_endings: finished - succeeded - (row?.failed ?? 0) - (row?.halted ?? 0),
      calls: row?.calls ?? 0,
      runs_with_denial: row?.runs_with_denial ?? 0,
      calls_denied: row?.calls_denied ?? 0,
      approvals_requested: row?.approvals_requested ?? 0,
      escaped_errors: row?.escaped_errors ?? 0,
      runs_with_escaped_error: row?.runs_with_escaped_error ?? 0,
      cost_micro_usd: String(row?.cost_micro_usd ?? 0n),
      cost_per_successful_run_micro_usd: mean,
      cost_per_successful_run_usd: mean === null ? null : formatUsd(mean),
      call_latency_us: percentiles(calls?.calls ?? 0, calls?.latency_us),
      run_duration_us: percentiles(row?.durations ?? 0, row?.duration_us),
      ...(input.eval === undefined ? {} : { eval_failures: input.eval[arm].failed }),
    };
  };
  const arms = { baseline: armStats('baseline'), canary: armStats('canary') };

  const rate = (
    metric: ComparedMetric,
    label: string,
    unit: Unit,
    of: (arm: ArmStats) => { successes: number; trials: number },
  ): Comparison => {
    const b = of(arms.baseline);
    const c = of(arms.canary);
    return comparison(
      { metric, label, statistic: 'rate', unit },
      { value: b.trials === 0 ? null : b.successes / b.trials, n: b.trials },
      { value: c.trials === 0 ? null : c.successes / c.trials, n: c.trials },
      compareProportions(b, c),
    );
  };
  const ranked = (
    metric: RankedMetric & ComparedMetric,
    label: string,
    unit: Unit,
    statistic: 'mean' | 'median',
    median?: (arm: ArmStats) => number | null,
  ): Comparison => {
    const row = ranks.get(metric);
    const nb = row?.n_baseline ?? 0;
    const nc = row?.n_canary ?? 0;
    const center = (arm: ArmName, n: number, sum: number | undefined) =>
      median !== undefined ? median(arms[arm]) : n === 0 ? null : (sum ?? 0) / n;
    return comparison(
      { metric, label, statistic, unit },
      { value: center('baseline', nb, row?.sum_baseline), n: nb },
      { value: center('canary', nc, row?.sum_canary), n: nc },
      mannWhitneyU({
        na: nb,
        nb: nc,
        rankSumB: row?.rank_sum_canary ?? 0,
        tieTerm: row?.tie_term ?? 0,
      }),
    );
  };

  const comparisons: Comparison[] = [
    rate('succeeded', 'succeeded, of finished runs', 'share of finished runs', (a) => ({
      successes: a.succeeded,
      trials: a.finished,
    })),
    rate('halted', 'halted, of finished runs', 'share of finished runs', (a) => ({
      successes: a.halted,
      trials: a.finished,
    })),
    rate('runs_with_denial', 'runs with a denial', 'share of runs', (a) => ({
      successes: a.runs_with_denial,
      trials: a.runs,
    })),
    rate('runs_with_escaped_error', 'runs with an escaped error', 'share of runs', (a) => ({
      successes: a.runs_with_escaped_error,
      trials: a.runs,
    })),
    ranked('calls_denied', 'calls denied per run', 'per run', 'mean'),
    ranked('approvals_requested', 'approvals requested per run', 'per run', 'mean'),
    ranked('escaped_errors', 'escaped errors per run', 'per run', 'mean'),
    ranked('cost_per_successful_run', 'cost per successful run', 'micro-USD', 'mean'),
    ranked('run_duration', 'run duration', 'µs', 'median', (a) => a.run_duration_us.p50),
    ranked('call_latency', 'call latency', 'µs', 'median', (a) => a.call_latency_us.p50),
  ];

  return {
    env: input.env,
    workflow: canary.workflow,
    canary,
    window: input.window,
    alpha: ALPHA,
    arms,
    comparisons,
    ...(input.eval === undefined ? {} : { eval: input.eval }),
    notes: reportNotes(canary, arms, input.window),
  };
}

function comparison(
  what: Pick<Comparison, 'metric' | 'label' | 'statistic' | 'unit'>,
  baseline: { value: number | null; n: number },
  canary: { value: number | null; n: number },
  result: TestResult,
): Comparison {
  const fewest = Math.min(baseline.n, canary.n);
  const arm = baseline.n <= canary.n ? 'baseline' : 'canary';
  const unit = what.metric === 'call_latency' ? 'calls' : 'runs';
  const note =
    result.p_value === null
      ? `no ${unit} in the ${arm} arm: nothing to compare`
      : fewest < FEW_RUNS
        ? `only ${fewest} ${unit} in the ${arm} arm: the p-value is rough`
        : undefined;
  return {
    ...what,
    baseline: baseline.value,
    canary: canary.value,
    n_baseline: baseline.n,
    n_canary: canary.n,
    test: result.test,
    p_value: result.p_value,
    verdict: verdictOf(result.p_value),
    ...(note === undefined ? {} : { note }),
  };
}

/** The one version runs recorded, if they agree on one. */
function soleVersion(recorded: readonly string[]): string | null {
  const named = recorded.filter((version) => version !== '');
  return named.length === 1 ? (named[0] ?? null) : null;
}

function percentiles(count: number, values: readonly number[] | undefined): Percentiles {
  const at = (i: number): number | null => {
    const value = values?.[i];
    return count === 0 || value === undefined || Number.isNaN(value) ? null : Math.round(value);
  };
  return { p50: at(0), p95: at(1), p99: at(2) };
}

function reportNotes(
  canary: CanaryInfo,
  arms: { baseline: ArmStats; canary: ArmStats },
  window: { from: string },
): string[] {
  const notes: string[] = [];
  if (arms.baseline.runs + arms.canary.runs === 0) {
    notes.push(
      `no run in the log names canary ${canary.canary_id} since ${window.from}: a run joins the canary when its agent starts it through Warden's release assignment for workflow ${canary.workflow}`,
    );
    return notes;
  }
  for (const arm of ARMS) {
    const runs = arms[arm].runs;
    if (runs < FEW_RUNS) {
      notes.push(
        `the ${arm} arm has ${runs} run${runs === 1 ? '' : 's'} (fewer than ${FEW_RUNS}): p-values are rough and a real difference may not show yet; report again later`,
      );
    }
  }
  const running = arms.baseline.running + arms.canary.running;
  if (running > 0) {
    notes.push(
      `${running} run${running === 1 ? ' is' : 's are'} still running: left out of the rates over finished runs and of run durations`,
    );
  }
  const names = (versions: readonly string[]) => versions.map((v) => v || '(none)').join(', ');
  for (const arm of ARMS) {
    const { version, recorded_versions: recorded } = arms[arm];
    if (version === null) {
      if (recorded.length > 1) {
        notes.push(`the ${arm} runs recorded several versions: ${names(recorded)}`);
      }
    } else {
      const other = recorded.filter((v) => v !== version);
      if (other.length > 0) {
        notes.push(`some ${arm} runs recorded another version than ${version}: ${names(other)}`);
      }
    }
  }
  notes.push(
    `${COMPARED.length} comparisons at p < ${ALPHA}: when nothing changed, about one in twenty is called significant by chance`,
    'call latency is tested over calls, which are not independent within a run: read its p-value as optimistic',
    'escaped errors: executed writes that are also bulk, money, permission or production, with no approval granted',
  );
  return notes;
}

function parseRows<S extends z.ZodType>(
  schema: S,
  what: string,
  rows: readonly unknown[],
): z.output<S>[] {
  return rows.map((row) => {
    const parsed = schema.safeParse(row);
    if (!parsed.success) {
      throw new CliError(
        `the audit log answered an unexpected ${what} row: ${z.prettifyError(parsed.error)}`,
        'Are the CLI and the trace collector the same version? Restarting the collector applies its migrations.',
      );
    }
    return parsed.data;
  });
}

/*
 * The readable report.
 */

/** A duration in microseconds as a person reads it: `850 µs`, `12.3 ms`, `4.20 s`, `3.5 min`. */
export function formatMicros(us: number | null): string {
  if (us === null) return '-';
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(1)} ms`;
  if (us < 120_000_000) return `${(us / 1_000_000).toFixed(2)} s`;
  return `${(us / 60_000_000).toFixed(1)} min`;
}

/** A p-value to three decimals, `<0.001` below. */
export function formatP(p: number | null): string {
  if (p === null) return '-';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

function formatValue(comparison: Comparison, value: number | null): string {
  if (value === null) return '-';
  switch (comparison.unit) {
    case 'share of finished runs':
    case 'share of runs':
      return `${(100 * value).toFixed(1)}%`;
    case 'per run':
      return value.toFixed(2);
    case 'micro-USD':
      return `${formatUsd(Math.round(value))} USD`;
    case 'µs':
      return formatMicros(value);
  }
}

const share = (part: number, whole: number) =>
  whole === 0 ? String(part) : `${part} (${((100 * part) / whole).toFixed(1)}%)`;

const triple = (p: Percentiles) =>
  `${formatMicros(p.p50)} / ${formatMicros(p.p95)} / ${formatMicros(p.p99)}`;

/** The report as summary lines and two tables (arms side by side; comparisons), then notes. */
export function canaryReportText(report: CanaryReport): {
  summary: string[];
  arms: { columns: string[]; rows: Record<string, string>[] };
  comparisons: { columns: string[]; rows: Record<string, string>[] };
  eval: string[];
  notes: string[];
  next: string[];
} {
  const { canary, arms } = report;
  const summary = [
    `canary ${canary.canary_id} of ${canary.workflow}, env ${report.env}: ${canary.version} on ${canary.percent}% of new runs, baseline ${canary.baseline ?? '(no release: runs keep their own version)'}`,
    `  started ${shortTime(canary.started_at)} by ${canary.started_by}${canary.reason === undefined ? '' : `: "${canary.reason}"`}; ${endedText(canary)}`,
    `  policy: ${
      canary.policy_version === undefined
        ? 'both arms are decided under the active version'
        : `the canary arm's intents are decided under version ${canary.policy_version}, the baseline's under the active one`
    }`,
    `  runs started since ${shortTime(report.window.from)} (${report.window.since})`,
  ];
  const row = (metric: string, of: (arm: ArmStats) => string): Record<string, string> => ({
    '': metric,
    baseline: of(arms.baseline),
    canary: of(arms.canary),
  });
  const armRows = [
    row('version', (a) => versionText(a)),
    row('policy versions decided under', (a) => a.policy_versions.join(', ') || '-'),
    row('runs', (a) => String(a.runs)),
    row(
      'succeeded / failed / halted / running',
      (a) =>
        `${a.succeeded} / ${a.failed} / ${a.halted} / ${a.running}${a.other_endings > 0 ? ` (+${a.other_endings} other)` : ''}`,
    ),
    row('runs with a denial', (a) => share(a.runs_with_denial, a.runs)),
    row('calls / denied', (a) => `${a.calls} / ${a.calls_denied}`),
    row('approvals requested', (a) => String(a.approvals_requested)),
    row(
      'escaped errors',
      (a) =>
        `${a.escaped_errors} in ${a.runs_with_escaped_error} run${a.runs_with_escaped_error === 1 ? '' : 's'}`,
    ),
    row('cost per successful run', (a) =>
      a.cost_per_successful_run_usd === null ? '-' : `${a.cost_per_successful_run_usd} USD`,
    ),
    row('call latency p50 / p95 / p99', (a) => triple(a.call_latency_us)),
    row('run duration p50 / p95 / p99', (a) => triple(a.run_duration_us)),
    ...(report.eval === undefined
      ? []
      : [
          row(
            'eval failures',
            (a) => `${a.eval_failures ?? 0} of ${report.eval?.baseline.cases ?? 0} intent case(s)`,
          ),
        ]),
  ];
  const comparisonRows = report.comparisons.map((c) => ({
    metric: `${c.label}${c.statistic === 'median' ? ' (median)' : c.statistic === 'mean' ? ' (mean)' : ''}`,
    baseline: formatValue(c, c.baseline),
    canary: formatValue(c, c.canary),
    'p-value': formatP(c.p_value),
    verdict: c.verdict,
  }));
  // A comparison's own note, unless the note on an arm under FEW_RUNS runs already says it.
  // None at all when no run was found: the report's note says so once.
  const fewRuns = ARMS.some((arm) => arms[arm].runs < FEW_RUNS);
  const anyRun = arms.baseline.runs + arms.canary.runs > 0;
  const comparisonNotes = report.comparisons.flatMap((c) =>
    c.note === undefined || !anyRun || (fewRuns && c.p_value !== null)
      ? []
      : [`note: ${c.label}: ${c.note}`],
  );
  const envFlag = envFlagFor(report.env);
  return {
    summary,
    arms: { columns: ['', 'baseline', 'canary'], rows: armRows },
    comparisons: {
      columns: ['metric', 'baseline', 'canary', 'p-value', 'verdict'],
      rows: comparisonRows,
    },
    eval: report.eval === undefined ? [] : evalLines(report.eval),
    notes: [
      `tests: rates by the two-proportion z-test (Fisher's exact test where a cell expects fewer than 5 runs), the rest by the Mann-Whitney U test`,
      ...comparisonNotes,
      ...report.notes.map((note) => `note: ${note}`),
    ],
    next:
      canary.status === 'in_force'
        ? [
            `next: \`warden canary promote --workflow ${canary.workflow} --reason "…"${envFlag}\` gives ${canary.version} to every new run; \`warden canary abort --workflow ${canary.workflow} --reason "…"${envFlag}\` ends the canary`,
          ]
        : [],
  };
}

function versionText(arm: ArmStats): string {
  const names = (versions: readonly string[]) => versions.map((v) => v || '(none)').join(', ');
  if (arm.version === null)
    return arm.recorded_versions.length > 1 ? names(arm.recorded_versions) : '(none)';
  const other = arm.recorded_versions.filter((v) => v !== arm.version);
  return other.length === 0 ? arm.version : `${arm.version} (also recorded: ${names(other)})`;
}

function endedText(canary: CanaryInfo): string {
  const ended = canary.ended;
  if (canary.status === 'in_force' || ended === undefined) return 'in force';
  const why = ended.reason === undefined ? '' : `: "${ended.reason}"`;
  const policy =
    ended.activated_policy_version === undefined
      ? ''
      : ` (policy version ${ended.activated_policy_version} activated)`;
  return `${canary.status} ${shortTime(ended.at)} by ${ended.by}${why}${policy}`;
}

function evalLines(result: CanaryEval): string[] {
  const line = (arm: ArmName) => {
    const e = result[arm];
    return `  ${arm.padEnd(8)} ${e.failed} of ${e.cases} failed, decided with policy ${e.decided_with}`;
  };
  const lines = [`eval (${result.suites.join(', ')}): intent cases under each arm's policy`];
  lines.push(line('baseline'), line('canary'));
  for (const arm of ARMS) {
    for (const failure of result[arm].failures) {
      lines.push(
        `  FAILED under the ${arm}'s policy: ${failure.suite} › ${failure.case}`,
        `    expected: ${failure.expected}`,
        `    actual:   ${failure.actual}`,
      );
    }
  }
  lines.push(...result.notes.map((note) => `  note: ${note}`));
  return lines;
}
