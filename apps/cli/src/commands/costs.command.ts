import {
  formatUsd,
  isSubjectToken,
  SUBJECT_TOKEN_RULE,
  type AuditSqlResult,
} from '@warden/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { connectForCli } from '../nats-client.js';
import { printJson, printTable } from '../output.js';
import { auditSql } from './audit.command.js';
import { envOption, natsOption, type ConnectionOptions } from './common-options.js';

/** Where `--since` starts: the first UTC day shown, and what the operator typed. */
export interface Since {
  readonly text: string;
  /** `YYYY-MM-DD`, UTC. */
  readonly day: string;
}

/** The audit log keeps 400 days (deploy/clickhouse/0001_events.sql, TTL): looking further finds nothing. */
const MAX_DAYS = 400;
const HOUR_MS = 3_600_000;
const DURATION = /^(\d{1,5})([dh])$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const SINCE_FORMS = 'use a number of days or hours back (7d, 24h) or a UTC date (2026-11-01)';

/**
 * Parses `--since`: `7d` and `24h` count back from `now` and start at the UTC day that time falls
 * on (the views are per day, so `24h` shows yesterday and today); `2026-11-01` is that UTC day.
 *
 * @throws InvalidArgumentError for anything else, a zero or a span past the log's 400 days, or a
 * date that does not exist (2026-02-30).
 */
export function parseSince(text: string, now: Date = new Date()): Since {
  const duration = DURATION.exec(text);
  if (duration !== null) {
    const amount = Number(duration[1]);
    const hours = duration[2] === 'd' ? amount * 24 : amount;
    if (amount === 0) throw new InvalidArgumentError(`${text} is no time at all: ${SINCE_FORMS}`);
    if (hours > MAX_DAYS * 24)
      throw new InvalidArgumentError(
        `${text} reaches past the audit log's ${MAX_DAYS} days: use at most ${MAX_DAYS}d`,
      );
    return { text, day: utcDay(new Date(now.getTime() - hours * HOUR_MS)) };
  }
  const date = DATE.exec(text);
  if (date !== null) {
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const parsed = new Date(Date.UTC(year, month - 1, day));
    // Date.UTC rolls 2026-02-30 over to March: a date that does not round-trip does not exist.
    if (utcDay(parsed) !== text) throw new InvalidArgumentError(`${text} is not a calendar date`);
    return { text, day: text };
  }
  throw new InvalidArgumentError(`${JSON.stringify(text)} is not a time: ${SINCE_FORMS}`);
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * A view's amount of micro-USD as USD (`formatUsd`). The views' 64-bit sums arrive as strings and
 * may pass 2^53, so they are read as BigInt. NULL (no successful run to divide by) is `n/a`.
 */
export function formatMicroUsd(microUsd: unknown): string {
  if (microUsd === null || microUsd === undefined) return 'n/a';
  if (typeof microUsd !== 'string' && typeof microUsd !== 'number')
    throw new TypeError(`not an amount of micro-USD: ${JSON.stringify(microUsd)}`);
  if (!/^-?\d+$/.test(String(microUsd)))
    throw new TypeError(`not an amount of micro-USD: ${String(microUsd)}`);
  return formatUsd(BigInt(microUsd));
}

/** A row of `workflow_daily_costs` as `warden costs` reads it. */
export type WorkflowDayRow = Record<string, unknown>;

/** The per-day table: one row per day (and workflow, when no `--workflow` narrows it), USD formatted. */
export function workflowDaysTable(
  rows: readonly WorkflowDayRow[],
  oneWorkflow: boolean,
): { columns: string[]; rows: Record<string, string>[] } {
  const columns = [
    'day',
    ...(oneWorkflow ? [] : ['workflow']),
    'runs',
    'succeeded',
    'cost USD',
    'per successful run USD',
  ];
  return {
    columns,
    rows: rows.map((row) => ({
      day: String(row.day),
      workflow: row.workflow === '' ? '(none)' : String(row.workflow),
      runs: String(row.runs),
      succeeded: String(row.succeeded_runs),
      'cost USD': formatMicroUsd(row.cost_micro_usd),
      'per successful run USD': formatMicroUsd(row.cost_per_successful_run_micro_usd),
    })),
  };
}

/** The halted-runs table: runs Warden stopped, per day (and workflow) and reason. */
export function haltedTable(
  rows: readonly Record<string, unknown>[],
  oneWorkflow: boolean,
): { columns: string[]; rows: Record<string, string>[] } {
  return {
    columns: ['day', ...(oneWorkflow ? [] : ['workflow']), 'reason', 'runs'],
    rows: rows.map((row) => ({
      day: String(row.day),
      workflow: row.workflow === '' ? '(none)' : String(row.workflow),
      reason: String(row.reason),
      runs: String(row.runs),
    })),
  };
}

/** The agent's spend per day. */
export function agentDaysTable(rows: readonly Record<string, unknown>[]): {
  columns: string[];
  rows: Record<string, string>[];
} {
  return {
    columns: ['day', 'cost USD', 'settled calls', 'runs'],
    rows: rows.map((row) => ({
      day: String(row.day),
      'cost USD': formatMicroUsd(row.cost_micro_usd),
      'settled calls': String(row.settled_calls),
      runs: String(row.runs),
    })),
  };
}

// The views live in deploy/clickhouse/0003_cost_views.sql. Values are bound, never spliced; an
// empty {workflow} means every workflow, so each statement is one fixed text.
const WORKFLOW_DAYS_SQL = `SELECT day, workflow, runs, succeeded_runs, cost_micro_usd, cost_per_successful_run_micro_usd
FROM workflow_daily_costs
WHERE env = {env:String} AND day >= {since:Date} AND ({workflow:String} = '' OR workflow = {workflow:String})
ORDER BY day, workflow`;

const HALTED_SQL = `SELECT day, workflow, reason, runs
FROM halted_runs_by_reason
WHERE env = {env:String} AND day >= {since:Date} AND ({workflow:String} = '' OR workflow = {workflow:String})
ORDER BY day, workflow, reason`;

const AGENT_DAYS_SQL = `SELECT day, agent_id, cost_micro_usd, settled_calls, runs
FROM agent_daily_spend
WHERE env = {env:String} AND agent_id = {agent:String} AND day >= {since:Date}
ORDER BY day`;

/** Enough for a year of days across a few dozen workflows; more is reported as truncated. */
const MAX_ROWS = 20_000;

interface CostsOptions extends ConnectionOptions {
  workflow?: string;
  agent?: string;
  since: Since;
  json?: boolean;
}

/** `warden costs`: what runs cost, per workflow and day or per agent and day, from the audit log. */
export function costsCommand(): Command {
  return new Command('costs')
    .description(
      'what runs cost per workflow and day (and which were halted, why), or what an agent spent per day',
    )
    .addOption(envOption())
    .addOption(natsOption())
    .addOption(
      new Option('--workflow <workflow>', 'only this workflow (default: every workflow)').argParser(
        token('workflow'),
      ),
    )
    .addOption(
      new Option('--agent <agent_id>', "this agent's spend per day instead")
        .argParser(token('agent'))
        .conflicts('workflow'),
    )
    .addOption(
      new Option('--since <when>', 'from this UTC day: 7d, 24h or 2026-11-01')
        .default(parseSince('7d'), '7d')
        .argParser((value: string) => parseSince(value)),
    )
    .option('--json', 'print the rows as JSON for scripts (amounts in micro-USD, as strings)')
    .addHelpText(
      'after',
      [
        '',
        'Amounts are what budget.settled booked (model and tool calls), in USD. A run counts on',
        'the UTC day it started; "per successful run" is the day\'s whole cost (failed and halted',
        'runs included) divided by its successful runs, rounded down to the micro-USD.',
        '',
        'Examples:',
        '  warden costs --workflow refunds --since 7d',
        '  warden costs --agent refund-bot --since 2026-11-01 --json',
      ].join('\n'),
    )
    .action(async (options: CostsOptions) => {
      const nc = await connectForCli(options.nats);
      try {
        if (options.agent !== undefined) await showAgent(nc, options, options.agent);
        else await showWorkflows(nc, options);
      } finally {
        await nc.close();
      }
    });
}

async function showWorkflows(nc: NatsConnection, options: CostsOptions): Promise<void> {
  const params = { env: options.env, since: options.since.day, workflow: options.workflow ?? '' };
  const days = await query(nc, options, WORKFLOW_DAYS_SQL, params);
  const halted = await query(nc, options, HALTED_SQL, params);
  if (options.json) {
    printJson({
      env: options.env,
      workflow: options.workflow ?? null,
      since: options.since.day,
      days: days.rows,
      halted: halted.rows,
    });
    return;
  }
  const scope = options.workflow === undefined ? '' : ` of workflow ${options.workflow}`;
  const period = `since ${options.since.day} (UTC) in env ${options.env}`;
  if (days.rows.length === 0) {
    process.stdout.write(
      `No runs${scope} ${period}.\n` +
        (options.workflow === undefined
          ? ''
          : 'Run `warden costs` without --workflow to see every workflow.\n'),
    );
    return;
  }
  const oneWorkflow = options.workflow !== undefined;
  process.stdout.write(`Cost of runs${scope} ${period}:\n`);
  const dayTable = workflowDaysTable(days.rows, oneWorkflow);
  printTable(dayTable.columns, dayTable.rows);
  warnTruncated(days.truncated);
  if (halted.rows.length === 0) {
    process.stdout.write('No run was halted.\n');
    return;
  }
  process.stdout.write('Runs halted by Warden, by reason:\n');
  const haltTable = haltedTable(halted.rows, oneWorkflow);
  printTable(haltTable.columns, haltTable.rows);
  warnTruncated(halted.truncated);
}

async function showAgent(nc: NatsConnection, options: CostsOptions, agent: string): Promise<void> {
  const params = { env: options.env, since: options.since.day, agent };
  const days = await query(nc, options, AGENT_DAYS_SQL, params);
  if (options.json) {
    printJson({ env: options.env, agent_id: agent, since: options.since.day, days: days.rows });
    return;
  }
  const period = `since ${options.since.day} (UTC) in env ${options.env}`;
  if (days.rows.length === 0) {
    process.stdout.write(`Agent ${agent} has spent nothing ${period}.\n`);
    return;
  }
  process.stdout.write(`Spend of agent ${agent} ${period}:\n`);
  const table = agentDaysTable(days.rows);
  printTable(table.columns, table.rows);
  warnTruncated(days.truncated);
}

function warnTruncated(truncated: boolean): void {
  if (truncated) process.stdout.write(`(only the first ${MAX_ROWS} rows: narrow --since)\n`);
}

/** One read through the trace collector's audit API, as `warden audit sql` does. */
function query(
  nc: NatsConnection,
  options: ConnectionOptions,
  sql: string,
  params: Record<string, string>,
): Promise<z.infer<typeof AuditSqlResult>> {
  return auditSql(nc, options.env, { sql, params, max_rows: MAX_ROWS }, { hint: hintFor });
}

function hintFor(code: string): string | undefined {
  switch (code) {
    case 'query_failed':
      // The likeliest cause: a collector started before the cost views' migration (0003) shipped.
      return 'The cost views may be missing: restart the trace collector (`warden up`), which applies the audit log migrations at start-up.';
    default:
      return undefined;
  }
}

function token(name: string): (value: string) => string {
  return (value) => {
    if (!isSubjectToken(value)) throw new InvalidArgumentError(`${name} ${SUBJECT_TOKEN_RULE}`);
    return value;
  };
}
