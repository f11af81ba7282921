import { AuditSqlResult, type ExecutionVerdict } from '@warden/contracts';
import { Command, Option } from 'commander';
import { CliError, printJson, printTable } from '../output.js';
import { callExecutorAdmin, withAdminOptions, type AdminOptions } from './admin-options.js';
import { askCollector } from './audit.command.js';
import { envOption, natsOption, parseIntentId, type ConnectionOptions } from './common-options.js';
import { parseSince } from './costs.command.js';

/**
 * The in-doubt executions not reviewed yet, from the audit log: one row per intent that ended
 * `in_doubt` since the day given, minus those an `execution.reviewed` answered.
 */
const IN_DOUBT_SQL = `
SELECT t.intent_id AS intent_id, t.run_id AS run_id, t.agent_id AS agent_id, t.tool AS tool,
       toString(t.resolved_at) AS resolved_at, t.reason AS reason
FROM tool_calls AS t
WHERE t.env = {env:String} AND t.status = 'in_doubt' AND t.resolved_at >= toDateTime64({since:String}, 6, 'UTC')
  AND t.intent_id NOT IN (
    SELECT e.intent_id FROM events AS e
    WHERE e.env = {env:String} AND e.type = 'execution.reviewed')
ORDER BY t.resolved_at`;

const COLUMNS = ['intent_id', 'tool', 'agent_id', 'run_id', 'resolved_at', 'reason'];

/** `warden executions …`: the writes nobody knows landed, and a person's verdict on each. */
export function executionsCommand(): Command {
  const executions = new Command('executions').description(
    'executions that ended in doubt (a write that may or may not have happened), and their review',
  );

  executions
    .command('in-doubt')
    .description('list the in-doubt executions nobody has reviewed yet (from the audit log)')
    .addOption(envOption())
    .addOption(natsOption())
    .option('--since <when>', 'how far back: 7d, 24h or a UTC date (2026-11-01)', '7d')
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      `
An execution ends in_doubt when its executor was cut off after the upstream may have applied a
write that cannot safely be sent again (DESIGN §5). Check the upstream, then record what you found
with \`warden executions resolve <intent_id> --applied|--not-applied --note "…"\`.

Examples:
  warden executions in-doubt
  warden executions in-doubt --since 30d --json`,
    )
    .action(async (options: ConnectionOptions & { since: string; json?: boolean }) => {
      const since = parseSince(options.since);
      const result = await askCollector(
        options,
        'sql',
        {
          sql: IN_DOUBT_SQL,
          params: { env: options.env, since: `${since.day} 00:00:00` },
          max_rows: 1000,
        },
        AuditSqlResult,
      );
      if (options.json) {
        printJson(result.rows);
        return;
      }
      if (result.rows.length === 0) {
        process.stdout.write(`no in-doubt execution to review since ${since.day}\n`);
        return;
      }
      printTable(COLUMNS, result.rows);
    });

  withAdminOptions(executions.command('resolve'))
    .description('record what the upstream shows for an in-doubt execution (admin role)')
    .argument(
      '<intent_id>',
      'the intent (a ULID), as `warden executions in-doubt` lists it',
      parseIntentId,
    )
    .addOption(
      new Option('--applied', 'the write happened: the upstream shows it').conflicts('notApplied'),
    )
    .option('--not-applied', 'the write did not happen: the upstream does not show it')
    .requiredOption('--note <text>', 'what you checked, for the log')
    .addHelpText(
      'after',
      `
Examples:
  warden executions resolve 01JD4K6Z8V3M2T9Q7W5X1Y0B3C --applied --note "tickets 12-19 are closed in the helpdesk"
  warden executions resolve 01JD4K6Z8V3M2T9Q7W5X1Y0B3C --not-applied --note "nothing changed upstream"`,
    )
    .action(
      async (
        intentId: string,
        options: AdminOptions & { applied?: boolean; notApplied?: boolean; note: string },
      ) => {
        const verdict = verdictOf(options);
        const result = await callExecutorAdmin(options, 'execution-review', {
          intent_id: intentId,
          verdict,
          note: options.note,
        });
        if (options.json) {
          printJson(result);
          return;
        }
        process.stdout.write(
          `${result.changed ? 'recorded' : 'unchanged'}: ${result.tool} of intent ${result.intent_id} ${result.verdict === 'applied' ? 'was applied' : 'was not applied'} (${result.reviewed_by}, ${result.reviewed_at})\n`,
        );
      },
    );

  return executions;
}

/** Exactly one of `--applied`, `--not-applied`. */
export function verdictOf(options: { applied?: boolean; notApplied?: boolean }): ExecutionVerdict {
  if (options.applied === true && options.notApplied !== true) return 'applied';
  if (options.notApplied === true && options.applied !== true) return 'not_applied';
  throw new CliError(
    'say what the upstream shows: --applied or --not-applied (one of them)',
    'Check the target system first; `warden executions in-doubt` lists what to check.',
  );
}
