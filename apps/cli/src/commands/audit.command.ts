import {
  AuditSqlResult,
  AuditTimelineResult,
  AuditVerifyResult,
  subjects,
  VerifyFailureKind,
  type AuditSqlRequest,
  type AuditTimelineRequest,
  type AuditVerifyRequest,
} from '@warden/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { callApi, connectForCli } from '../nats-client.js';
import { CliError, printJson, printTable } from '../output.js';
import { parseRunsSince, shortTime } from '../runs/run-queries.js';
import { envOption, natsOption, type ConnectionOptions } from './common-options.js';

const TIMELINE_COLUMNS = [
  'occurred_at',
  'type',
  'agent_id',
  'intent_id',
  'tool',
  'effect',
  'status',
  'reason',
  'data',
];

/** `warden audit …`: read the append-only log through the running trace collector. */
export function auditCommand(): Command {
  const audit = new Command('audit').description(
    'query the audit log (through the running trace collector)',
  );

  audit
    .command('sql')
    .description('run one read-only SQL statement against the audit log')
    .argument(
      '<sql>',
      'a SELECT (or WITH, SHOW, DESCRIBE, EXPLAIN) statement; bind values with {name:Type}',
    )
    .addOption(envOption())
    .addOption(natsOption())
    .addOption(
      new Option(
        '-p, --param <name=value...>',
        'a bound parameter, e.g. --param run=run-42',
      ).default([]),
    )
    .option('--max-rows <n>', 'the most rows to return', parsePositive, 1000)
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      `\nExample:\n  warden audit sql "SELECT type, count() AS n FROM events WHERE run_id = {run:String} GROUP BY type" --param run=run-42`,
    )
    .action(
      async (
        sql: string,
        options: ConnectionOptions & { param: string[]; maxRows: number; json?: boolean },
      ) => {
        const body: AuditSqlRequest = {
          sql,
          params: parseParams(options.param),
          max_rows: options.maxRows,
        };
        const result = await askCollector(options, 'sql', body, AuditSqlResult);
        if (options.json) {
          printJson(result);
          return;
        }
        printTable(
          result.columns.map((column) => column.name),
          result.rows,
        );
        process.stdout.write(
          `${result.rows.length} row(s)${result.truncated ? ' (truncated: raise --max-rows or narrow the query)' : ''}\n`,
        );
      },
    );

  audit
    .command('timeline')
    .description("print one run's events in order")
    .argument('<run_id>', 'the run to show')
    .addOption(envOption())
    .addOption(natsOption())
    .option('--limit <n>', 'the most events to show', parsePositive, 1000)
    .option('--json', 'print JSON for scripts')
    .action(
      async (runId: string, options: ConnectionOptions & { limit: number; json?: boolean }) => {
        const body: AuditTimelineRequest = { run_id: runId, limit: options.limit };
        const { events } = await askCollector(options, 'timeline', body, AuditTimelineResult);
        if (options.json) {
          printJson(events);
          return;
        }
        if (events.length === 0) {
          throw new CliError(
            `no events for run ${runId} in env ${options.env}`,
            'Check the run id and --env.',
          );
        }
        printTable(TIMELINE_COLUMNS, events);
      },
    );

  audit
    .command('verify')
    .description(
      'check that the audit log is as the collector stored it (signed checkpoint chain); exits 1 when it is not',
    )
    .addOption(envOption())
    .addOption(natsOption())
    .addOption(
      new Option(
        '--since <when>',
        'only checkpoints made since: 30m, 24h, 7d, a UTC date 2026-11-01 or an RFC 3339 time',
      ).argParser((value: string) => parseVerifySince(value)),
    )
    .option('--json', 'print JSON for scripts (the exit code still says whether it verified)')
    .addHelpText(
      'after',
      [
        '',
        'The trace collector signs a checkpoint after every batch it stores: a digest of each row,',
        'chained to the previous checkpoint. This recomputes them and names the first row or',
        'checkpoint that does not match: a row changed, missing or not covered, or a checkpoint',
        'altered, badly signed or out of the chain.',
        '',
        'Examples:',
        '  warden audit verify',
        '  warden audit verify --since 7d --json',
      ].join('\n'),
    )
    .action(async (options: ConnectionOptions & { since?: VerifySince; json?: boolean }) => {
      const body: AuditVerifyRequest =
        options.since === undefined ? {} : { since: options.since.from };
      // Verification reads every covered row again: give it far longer than a query.
      const result = await askCollector(options, 'verify', body, AuditVerifyResult, {
        timeoutMs: VERIFY_TIMEOUT_MS,
      });
      if (options.json) printJson(result);
      else printVerification(result, options);
      if (!result.ok) {
        throw new CliError('the audit log does not verify', nextStepFor(result.failure?.kind));
      }
    });

  return audit;
}

/** How long `audit verify` waits for the collector. */
const VERIFY_TIMEOUT_MS = 10 * 60_000;

/** Where `audit verify --since` starts: the text typed, and the instant (RFC 3339). */
export interface VerifySince {
  readonly text: string;
  readonly from: string;
}

/**
 * Parses `audit verify --since`: what `warden runs list --since` accepts (30m, 24h, 7d, a UTC
 * date), or a full RFC 3339 time.
 *
 * @throws InvalidArgumentError for anything else.
 */
export function parseVerifySince(text: string, now: Date = new Date()): VerifySince {
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    if (!/(Z|[+-]\d{2}:\d{2})$/i.test(text) || Number.isNaN(ms)) {
      throw new InvalidArgumentError(
        `${JSON.stringify(text)} is not an RFC 3339 time with a zone, e.g. 2026-11-01T09:00:00Z`,
      );
    }
    return { text, from: new Date(ms).toISOString() };
  }
  const since = parseRunsSince(text, now);
  return { text, from: shortTime(since.from) };
}

/** The readable summary of a verification. */
export function printVerification(
  result: AuditVerifyResult,
  options: { env: string; since?: VerifySince },
): void {
  const scope = `env ${options.env}${options.since === undefined ? '' : `, checkpoints since ${options.since.text}`}`;
  const span =
    result.first_seq === undefined
      ? 'none'
      : `${result.first_seq}–${result.last_seq ?? result.first_seq}`;
  const lines = [
    `${result.ok ? 'VERIFIED' : 'NOT VERIFIED'}  audit log of ${scope}, rows stored up to ${result.until}`,
    `  checkpoints verified  ${result.checkpoints} (${span})`,
    `  events verified       ${result.events}${result.expired > 0 ? ` (+${result.expired} past retention)` : ''}`,
  ];
  if (
    result.ok &&
    options.since === undefined &&
    result.first_seq !== undefined &&
    result.first_seq > 1
  ) {
    lines.push(
      `  note: the chain starts at checkpoint ${result.first_seq}; earlier ones are past retention or were deleted`,
    );
  }
  const failure = result.failure;
  if (failure !== undefined) {
    lines.push('', `  ${failure.kind}: ${failure.message}`);
    if (failure.checkpoint_seq !== undefined)
      lines.push(`    checkpoint   ${failure.checkpoint_seq}`);
    if (failure.event !== undefined) {
      lines.push(
        `    event_id     ${failure.event.event_id}`,
        `    type         ${failure.event.type}`,
        `    run_id       ${failure.event.run_id || '-'}`,
        `    occurred_at  ${failure.event.occurred_at}`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function nextStepFor(kind: VerifyFailureKind | undefined): string {
  switch (kind) {
    case VerifyFailureKind.RowChanged:
    case VerifyFailureKind.RowMissing:
    case VerifyFailureKind.RowUncovered:
      return 'Treat the log as tampered with: keep a copy of the data directory, compare the row with the env stream (`warden audit timeline <run_id>`) and find who had write access to ClickHouse.';
    case VerifyFailureKind.CheckpointAltered:
    case VerifyFailureKind.SignatureBad:
    case VerifyFailureKind.ChainBroken:
      return 'The checkpoints themselves were changed: keep a copy of the data directory and check who had write access to ClickHouse; `warden audit verify --since <later>` checks what follows.';
    case undefined:
      return 'Run again with --json for the details.';
  }
}

/**
 * One `audit.sql` read on a connection the caller keeps open, for a report that reads several
 * times. `hint` replaces the one `warden audit sql` gives for a refusal.
 */
export function auditSql(
  nc: NatsConnection,
  env: string,
  body: AuditSqlRequest,
  call: { hint?: (code: string) => string | undefined; timeoutMs?: number } = {},
): Promise<z.infer<typeof AuditSqlResult>> {
  return callApi(nc, subjects.api(env, 'audit', 'sql'), body, AuditSqlResult, {
    service: 'trace collector',
    env,
    hint: hintFor,
    ...call,
  });
}

/** One audit API call to the env's trace collector. */
export async function askCollector<R extends z.ZodType>(
  options: ConnectionOptions,
  op: 'sql' | 'timeline' | 'verify',
  body: AuditSqlRequest | AuditTimelineRequest | AuditVerifyRequest,
  result: R,
  call: { timeoutMs?: number } = {},
): Promise<z.infer<R>> {
  const nc = await connectForCli(options.nats);
  try {
    return await callApi(nc, subjects.api(options.env, 'audit', op), body, result, {
      service: 'trace collector',
      env: options.env,
      hint: hintFor,
      ...call,
    });
  } finally {
    await nc.close();
  }
}

function hintFor(code: string): string | undefined {
  switch (code) {
    case 'not_read_only':
      return 'The audit log is append-only: `warden audit sql` runs reads only (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN).';
    case 'invalid_request':
      return 'Run `warden audit sql --help` for the accepted form.';
    case 'query_failed':
      return 'Fix the SQL and retry; `SHOW TABLES` and `DESCRIBE events` list what there is.';
    default:
      return undefined;
  }
}

function parseParams(pairs: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0)
      throw new CliError(
        `--param ${JSON.stringify(pair)} is not name=value`,
        'Example: --param run=run-42',
      );
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return params;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError('must be a positive whole number');
  return n;
}
