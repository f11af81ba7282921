import { formatUsd } from '@warden/contracts';
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { CliError } from '../output.js';

/*
 * What `warden runs list|show` asks the audit log, through the trace collector's `audit.sql`.
 * The views live in deploy/clickhouse/0004_run_views.sql (run_overview, run_denials) and
 * 0002_views.sql (tool_calls, approvals). Values are bound, never spliced; an empty filter value
 * means "any", so each statement is one fixed text.
 */

/** How a run stands, as run_overview says it; `ended` in a filter means any ending. */
export const RUN_STATUSES = [
  'running',
  'halted',
  'ended',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type RunStatusFilter = (typeof RUN_STATUSES)[number];

/** Recent runs, newest first. */
export const RUN_LIST_SQL = `SELECT run_id, agent_id, workflow, started_at, status, halt_reason, steps, cost_micro_usd,
       denied, rejected, approvals_pending
FROM run_overview
WHERE env = {env:String}
  AND started_at >= {since:DateTime64(6, 'UTC')}
  AND ({agent:String} = '' OR agent_id = {agent:String})
  AND ({workflow:String} = '' OR workflow = {workflow:String})
  AND ({status:String} = ''
       OR status = {status:String}
       OR ({status:String} = 'ended' AND status IN ('succeeded', 'failed', 'cancelled', 'ended')))
ORDER BY started_at DESC, run_id
LIMIT {limit:UInt32}`;

/** One run's row of run_overview (none when the log has no event of that run). */
export const RUN_OVERVIEW_SQL = `SELECT * EXCEPT env
FROM run_overview
WHERE env = {env:String} AND run_id = {run_id:String}`;

/** The run's calls per tool and outcome (model calls have no tool). */
export const RUN_TOOL_COUNTS_SQL = `SELECT if(tool = '', '(model calls)', tool) AS tool, status, count() AS calls
FROM tool_calls
WHERE env = {env:String} AND run_id = {run_id:String}
GROUP BY tool, status
ORDER BY tool, status`;

/** The run's refused intents, with the policies that decided them. */
export const RUN_DENIALS_SQL = `SELECT intent_id, tool, step, resolved_at, status, stage, reason, message, effect,
       policy_ids, policy_version
FROM run_denials
WHERE env = {env:String} AND run_id = {run_id:String}
ORDER BY resolved_at, intent_id`;

/** The run's approval requests and who answered them. */
export const RUN_APPROVALS_SQL = `SELECT intent_id, tool, requested_at, answered_at, outcome, approver, comment
FROM approvals
WHERE env = {env:String} AND run_id = {run_id:String}
ORDER BY requested_at, intent_id`;

/** The audit log keeps 400 days (deploy/clickhouse/0001_events.sql, TTL). */
const MAX_DAYS = 400;
const HOUR_MS = 3_600_000;
const DURATION = /^(\d{1,5})([dhm])$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const SINCE_FORMS = 'use a time back (30m, 24h, 7d) or a UTC date (2026-11-01)';

/** Where `--since` starts: the text typed, and the instant as ClickHouse parses a DateTime64. */
export interface RunsSince {
  readonly text: string;
  /** `YYYY-MM-DD hh:mm:ss.ffffff`, UTC. */
  readonly from: string;
}

/**
 * Parses `runs list --since`: `30m`, `24h` and `7d` count back from `now` to the minute (a run
 * list is about recent runs, unlike `warden costs`, which is per day); `2026-11-01` is that UTC
 * day's midnight.
 *
 * @throws InvalidArgumentError for anything else, zero, past the log's 400 days, or a date that
 * does not exist.
 */
export function parseRunsSince(text: string, now: Date = new Date()): RunsSince {
  const duration = DURATION.exec(text);
  if (duration !== null) {
    const amount = Number(duration[1]);
    const ms = amount * { d: 24 * HOUR_MS, h: HOUR_MS, m: 60_000 }[duration[2] as 'd' | 'h' | 'm'];
    if (amount === 0) throw new InvalidArgumentError(`${text} is no time at all: ${SINCE_FORMS}`);
    if (ms > MAX_DAYS * 24 * HOUR_MS)
      throw new InvalidArgumentError(
        `${text} reaches past the audit log's ${MAX_DAYS} days: use at most ${MAX_DAYS}d`,
      );
    return { text, from: clickHouseTime(new Date(now.getTime() - ms)) };
  }
  const date = DATE.exec(text);
  if (date !== null) {
    const parsed = new Date(Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3])));
    // Date.UTC rolls 2026-02-30 over to March: a date that does not round-trip does not exist.
    if (parsed.toISOString().slice(0, 10) !== text)
      throw new InvalidArgumentError(`${text} is not a calendar date`);
    return { text, from: clickHouseTime(parsed) };
  }
  throw new InvalidArgumentError(`${JSON.stringify(text)} is not a time: ${SINCE_FORMS}`);
}

/**
 * `--since` of a command that reads it itself (not as a commander argument): the same forms, a
 * bad one refused as a usage error with an example.
 */
export function parseSinceOption(text: string, now: Date = new Date()): RunsSince {
  try {
    return parseRunsSince(text, now);
  } catch (error) {
    throw new CliError(
      `--since ${error instanceof Error ? error.message : String(error)}`,
      'Example: --since 7d',
    );
  }
}

/** A 64-bit count in an audit-log row: the store sends 64-bit integers as strings. */
export const LogCount = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])
  .transform(Number);

/** A time as ClickHouse takes a DateTime64(6) parameter: `2026-11-27 10:00:00.000000`, UTC. */
export function clickHouseTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}.000000`;
}

/** `2026-11-27 10:00:00.123456` (how ClickHouse prints a UTC DateTime64) as RFC 3339. */
export function rfc3339(clickHouseTime: string): string {
  return clickHouseTime.endsWith('Z') ? clickHouseTime : `${clickHouseTime.replace(' ', 'T')}Z`;
}

/** A view's cell as text: strings as they are, numbers written out, anything else ''. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return '';
}

/**
 * A view's micro-USD (64-bit sums arrive as strings and may pass 2^53, so they are read as
 * BigInt) as USD; '' when there is none.
 */
export function usd(microUsd: unknown): string {
  if (typeof microUsd === 'number' && Number.isSafeInteger(microUsd)) return formatUsd(microUsd);
  if (typeof microUsd === 'string' && /^-?\d+$/.test(microUsd)) return formatUsd(BigInt(microUsd));
  return '';
}

/** A DateTime64 as a view prints it (`2026-11-02 09:00:00.000001`) in RFC 3339, to the second. */
export function shortTime(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  return `${value.replace(' ', 'T').slice(0, 19)}Z`;
}

/** `runs list` rows as a table: one run a row, money in USD, status with its halt reason. */
export function runListTable(rows: readonly Record<string, unknown>[]): {
  columns: string[];
  rows: Record<string, string>[];
} {
  return {
    columns: [
      'run',
      'agent',
      'workflow',
      'started (UTC)',
      'status',
      'steps',
      'cost USD',
      'denials',
      'pending approvals',
    ],
    rows: rows.map((row) => ({
      run: String(row.run_id),
      agent: text(row.agent_id),
      workflow: row.workflow === '' ? '(none)' : String(row.workflow),
      'started (UTC)': shortTime(row.started_at),
      status: statusText(row.status, row.halt_reason),
      steps: text(row.steps) || '0',
      'cost USD': usd(row.cost_micro_usd),
      denials: String(Number(row.denied ?? 0) + Number(row.rejected ?? 0)),
      'pending approvals': text(row.approvals_pending) || '0',
    })),
  };
}

/** `halted (loop)`, or `succeeded, halted before (paused)` when a halted run ended afterwards. */
export function statusText(status: unknown, haltReason: unknown): string {
  const standing = text(status);
  const reason = text(haltReason);
  if (reason === '') return standing;
  return standing === 'halted' ? `halted (${reason})` : `${standing}, halted before (${reason})`;
}
