import {
  AuditSqlResult,
  AuditTimelineResult,
  subjects,
  type AuditSqlRequest,
  type AuditTimelineRequest,
} from '@warden/contracts';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { callApi, connectForCli } from '../nats-client.js';
import { CliError, printJson, printTable } from '../output.js';
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

  return audit;
}

/** One audit API call to the env's trace collector. */
export async function askCollector<R extends z.ZodType>(
  options: ConnectionOptions,
  op: 'sql' | 'timeline',
  body: AuditSqlRequest | AuditTimelineRequest,
  result: R,
): Promise<z.infer<R>> {
  const nc = await connectForCli(options.nats);
  try {
    return await callApi(nc, subjects.api(options.env, 'audit', op), body, result, {
      service: 'trace collector',
      env: options.env,
      hint: hintFor,
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
