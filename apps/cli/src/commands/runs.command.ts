import type { NatsConnection } from '@nats-io/transport-node';
import {
  AuditSqlResult,
  AuditTimelineResult,
  isSubjectToken,
  MAX_OUTPUTS_PER_OPEN,
  SealedOutput,
  subjects,
  SUBJECT_TOKEN_RULE,
  type AuditTimelineRequest,
  type OpenedOutput,
} from '@warden/contracts';
import { fetchRecording, RecordingError } from '@warden/sdk';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { callApi, connectForCli } from '../nats-client.js';
import { CliError, printJson, printTable } from '../output.js';
import {
  parseRunsSince,
  RUN_APPROVALS_SQL,
  RUN_DENIALS_SQL,
  RUN_LIST_SQL,
  RUN_OVERVIEW_SQL,
  RUN_STATUSES,
  RUN_TOOL_COUNTS_SQL,
  runListTable,
  type RunsSince,
  type RunStatusFilter,
} from '../runs/run-queries.js';
import { buildRunSummary, renderRunSummary } from '../runs/run-summary.js';
import { buildTimeline, renderTimeline } from '../runs/timeline.js';
import {
  callExecutorAdmin,
  loginHint,
  parseScopeId,
  resolveToken,
  tokenOption,
  withAdminOptions,
  type AdminOptions,
} from './admin-options.js';
import { askCollector, auditSql } from './audit.command.js';
import { envOption, natsOption, parseIntentId, type ConnectionOptions } from './common-options.js';

/**
 * The sealed outputs of one run, in the order its intents resolved (a duplicate row that got past
 * insert deduplication is shown once).
 */
const SEALED_OUTPUTS_SQL = `
SELECT intent_id, tool, sealed
FROM events
WHERE env = {env:String} AND run_id = {run_id:String} AND type = 'intent.resolved'
  AND sealed != '' AND ({intent_id:String} = '' OR intent_id = {intent_id:String})
ORDER BY occurred_at, stream_seq
LIMIT 1 BY event_id`;

/** The most sealed outputs one `warden runs outputs` reads from the log. */
const MAX_OUTPUTS = 10_000;

interface OutputsOptions extends AdminOptions {
  purpose: string;
  intent?: string;
}

/** The most events `runs timeline` reads (the audit API's own cap). */
const MAX_TIMELINE_EVENTS = 10_000;

/**
 * What `runs timeline` reads unless told: as `audit timeline`. The collector answers a timeline in
 * one NATS message (1 MiB by default), so thousands of events with large outputs may not fit.
 */
const DEFAULT_TIMELINE_EVENTS = 1000;

/** The most rows `runs show` reads per section (a run with more tools or denials is cut). */
const MAX_SECTION_ROWS = 1000;

interface ListOptions extends ConnectionOptions {
  agent?: string;
  workflow?: string;
  since?: RunsSince;
  status?: RunStatusFilter;
  limit: number;
  json?: boolean;
}

/** `warden runs …`: what runs did and why, and what is kept of them. */
export function runsCommand(): Command {
  const runs = new Command('runs').description(
    'what runs did and why: list, show, timeline; their sealed outputs',
  );

  runs
    .command('list')
    .description('recent runs, newest first: status, steps, cost, denials, approvals waiting')
    .addOption(envOption())
    .addOption(natsOption())
    .addOption(
      new Option('--agent <agent_id>', 'only runs of this agent').argParser(token('agent')),
    )
    .addOption(
      new Option('--workflow <workflow>', 'only runs of this workflow').argParser(
        token('workflow'),
      ),
    )
    .addOption(
      new Option(
        '--since <when>',
        'runs started since: 30m, 24h, 7d or a UTC date 2026-11-01 (default: 7d)',
      )
        .default(undefined, '7d')
        .argParser((value: string) => parseRunsSince(value)),
    )
    .addOption(
      new Option('--status <status>', 'only runs that stand so ("ended": any ending)').choices(
        RUN_STATUSES,
      ),
    )
    .option('--limit <n>', 'the most runs to show', parseLimit, 50)
    .option('--json', 'print the rows as JSON for scripts (amounts in micro-USD)')
    .addHelpText(
      'after',
      `
Status: running (no ending yet), halted (Warden stopped it and it never ended), or how the agent
ended it (succeeded, failed, cancelled). A run halted and then ended shows both. Steps are the tool
calls the cost governor counted; cost is what budget.settled booked (tools and models); denials
count intents refused (denied or rejected).

Examples:
  warden runs list
  warden runs list --agent triage-bot --since 24h --status halted
  warden runs list --workflow support-triage --limit 10 --json`,
    )
    .action(async (options: ListOptions) => {
      const since = options.since ?? parseRunsSince('7d');
      const { rows, truncated } = await withCollector(options, (ask) =>
        ask.sql(RUN_LIST_SQL, {
          env: options.env,
          since: since.from,
          agent: options.agent ?? '',
          workflow: options.workflow ?? '',
          status: options.status ?? '',
          limit: options.limit,
        }),
      );
      if (options.json) {
        printJson(rows);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(
          `No runs since ${since.text} in env ${options.env}${filtersText(options)}.\n` +
            'Widen --since or drop a filter; `npm start` runs the demo agent.\n',
        );
        return;
      }
      const table = runListTable(rows);
      printTable(table.columns, table.rows);
      process.stdout.write(
        `${rows.length} run(s)${rows.length === options.limit || truncated ? ` (the newest ${rows.length}: raise --limit or narrow the filters)` : ''}. ` +
          'Details: `warden runs show <run>`; step by step: `warden runs timeline <run>`.\n',
      );
    });

  runs
    .command('show')
    .description("one run's summary: status, limits, spend, calls per tool, denials, approvals")
    .argument('<run_id>', 'the run', parseRunId)
    .addOption(envOption())
    .addOption(natsOption())
    .option('--json', 'print the summary as JSON for scripts (amounts in micro-USD)')
    .addHelpText(
      'after',
      `
Denials name the stage that refused (policy, budget, …), the reason, and the policies that decided
(for a budget denial, the ones that allowed the call before the budget refused it). Approvals name
who answered. \`warden runs timeline <run_id>\` shows every step in order.

Examples:
  warden runs show run-42
  warden runs show run-42 --env staging --json`,
    )
    .action(async (runId: string, options: ConnectionOptions & { json?: boolean }) => {
      const summary = await withCollector(options, async (ask) => {
        const params = { env: options.env, run_id: runId };
        const overview = (await ask.sql(RUN_OVERVIEW_SQL, params)).rows[0];
        if (overview === undefined) throw runNotFound(runId, options.env);
        return buildRunSummary({
          env: options.env,
          overview,
          tools: (await ask.sql(RUN_TOOL_COUNTS_SQL, params)).rows,
          denials: (await ask.sql(RUN_DENIALS_SQL, params)).rows,
          approvals: (await ask.sql(RUN_APPROVALS_SQL, params)).rows,
        });
      });
      if (options.json) {
        printJson(summary);
        return;
      }
      const text = renderRunSummary(summary);
      process.stdout.write(`${text.head}\n`);
      if (text.toolTable.rows.length > 0) printTable(text.toolTable.columns, text.toolTable.rows);
      process.stdout.write(`\n${text.tail}`);
    });

  runs
    .command('timeline')
    .description('one run step by step: spans, decisions, approvals, spend, results (redacted)')
    .argument('<run_id>', 'the run', parseRunId)
    .addOption(envOption())
    .addOption(natsOption())
    .option(
      '--limit <n>',
      `the most events to read (at most ${MAX_TIMELINE_EVENTS})`,
      parseLimit,
      DEFAULT_TIMELINE_EVENTS,
    )
    .option(
      '--json',
      'print the timeline as JSON for scripts (offsets in µs, amounts in micro-USD)',
    )
    .addHelpText(
      'after',
      `
One line per event, with its time since the run's first event. The events of each tool call are
grouped under its step, tool and args: what policy decided and by which policies, who was asked to
approve and who answered, what the budget reserved and settled (with the run's spend after it),
and how the call ended, its output as the audit log stores it (redacted).

Examples:
  warden runs timeline run-42
  warden runs timeline run-42 --json | jq '.entries[] | select(.type == "policy.decided")'`,
    )
    .action(
      async (runId: string, options: ConnectionOptions & { limit: number; json?: boolean }) => {
        const { limit } = options;
        const { events } = await withCollector(options, (ask) => ask.timeline(runId, limit));
        if (events.length === 0) throw runNotFound(runId, options.env);
        const timeline = buildTimeline(runId, events);
        // As many events as asked for: there may be more (the API does not say).
        const truncated = events.length >= limit;
        if (options.json) {
          printJson({ ...timeline, truncated });
          return;
        }
        process.stdout.write(renderTimeline(timeline));
        if (truncated)
          process.stdout.write(
            `(the first ${limit} events only: --limit reads up to ${MAX_TIMELINE_EVENTS})\n`,
          );
      },
    );

  withAdminOptions(runs.command('outputs'))
    .description("open a run's sealed raw outputs (admin role; logged with who and why)")
    .argument('<run_id>', 'the run', parseScopeId)
    .requiredOption('--purpose <text>', 'why you read them, for the log')
    .option('--intent <intent_id>', 'only the output of this intent', parseIntentId)
    .addHelpText(
      'after',
      `
A tool that declares executor.seal_output keeps its raw output beside the redacted one, sealed with
its run's key: the executor opens it for an admin, and logs run.outputs_opened first. Once the run's
key is erased (\`warden runs erase-outputs\`) its outputs show as erased.

Examples:
  warden runs outputs run-42 --purpose "incident 7: what did the agent read?"
  warden runs outputs run-42 --intent 01JD4K6Z8V3M2T9Q7W5X1Y0B3C --purpose "replay" --json`,
    )
    .action(async (runId: string, options: OutputsOptions) => {
      const sealed = await sealedOutputsOf(runId, options);
      if (sealed.length === 0) {
        throw new CliError(
          `run ${runId} has no sealed output in the log of env ${options.env}${options.intent === undefined ? '' : ` for intent ${options.intent}`}`,
          'Only tools that declare executor.seal_output keep one; `warden audit timeline <run_id>` shows what the run did.',
        );
      }
      const opened: (OpenedOutput & { tool: string })[] = [];
      for (let start = 0; start < sealed.length; start += MAX_OUTPUTS_PER_OPEN) {
        const chunk = sealed.slice(start, start + MAX_OUTPUTS_PER_OPEN);
        const result = await callExecutorAdmin(options, 'outputs-open', {
          run_id: runId,
          purpose: options.purpose,
          outputs: chunk.map(({ intent_id, sealed }) => ({ intent_id, sealed })),
        });
        result.outputs.forEach((output, i) =>
          opened.push({ ...output, tool: chunk[i]?.tool ?? '' }),
        );
      }
      if (options.json) {
        printJson(opened);
        return;
      }
      for (const output of opened) process.stdout.write(describeOutput(output));
    });

  runs
    .command('recording')
    .description(
      "write a run's recording for the SDK's replay: its calls, answers and raw outputs (admin role; logged)",
    )
    .argument('<run_id>', 'the run', parseScopeId)
    .addOption(envOption())
    .addOption(natsOption())
    .addOption(tokenOption())
    .requiredOption('--purpose <text>', 'why, for the log: the sealed outputs are opened')
    .addHelpText(
      'after',
      `
Prints JSON: the run's tool calls in step order, each with its args as the log keeps them
(redacted), Warden's answer, and the raw output of tools that seal theirs (opened by the executor,
which logs run.outputs_opened with who and why), and the run's model routings.
\`Warden.replay({ recording })\` of @warden/sdk serves it to an agent: no intent reaches Warden.
The file holds raw outputs: keep it as carefully as the outputs themselves.

Example:
  warden runs recording run-42 --purpose "try prompt v7 on yesterday's run" > run-42.json`,
    )
    .action(async (runId: string, options: AdminOptions & { purpose: string }) => {
      const token = await resolveToken(options);
      const nc = await connectForCli(options.nats);
      try {
        printJson(
          await fetchRecording(nc, {
            env: options.env,
            runId,
            token,
            purpose: options.purpose,
          }),
        );
      } catch (error) {
        if (!(error instanceof RecordingError)) throw error;
        throw new CliError(error.message, recordingHint(error, options.env));
      } finally {
        await nc.close();
      }
    });

  withAdminOptions(runs.command('erase-outputs'))
    .description("erase a run's key: its sealed outputs never open again (admin role; logged)")
    .argument('<run_id>', 'the run', parseScopeId)
    .requiredOption('--reason <text>', 'why, for the log: an erasure request, a retention rule')
    .addHelpText(
      'after',
      `
The sealed copies stay in the append-only log, but nothing can open them: the run's key was the
only way. The redacted outputs, decisions and costs stay readable. Erase a run after it ended: a
step that seals an output later gets a new key.

Example:
  warden runs erase-outputs run-42 --reason "erasure request 2026-118"`,
    )
    .action(async (runId: string, options: AdminOptions & { reason: string }) => {
      const result = await callExecutorAdmin(options, 'outputs-erase', {
        run_id: runId,
        reason: options.reason,
      });
      if (options.json) {
        printJson(result);
        return;
      }
      process.stdout.write(
        result.had_key
          ? `erased: the sealed outputs of run ${runId} can no longer be opened (${result.erased_by})\n`
          : `run ${runId} had no key to erase: it sealed nothing, or was erased before (logged all the same)\n`,
      );
    });

  return runs;
}

/** The run's sealed outputs from the audit log, each checked against the contract. */
async function sealedOutputsOf(
  runId: string,
  options: OutputsOptions,
): Promise<{ intent_id: string; tool: string; sealed: SealedOutput }[]> {
  const { rows } = await askCollector(
    options,
    'sql',
    {
      sql: SEALED_OUTPUTS_SQL,
      params: { env: options.env, run_id: runId, intent_id: options.intent ?? '' },
      max_rows: MAX_OUTPUTS,
    },
    AuditSqlResult,
  );
  return rows.map((row) => {
    const sealed = SealedOutput.safeParse(JSON.parse(String(row.sealed)));
    if (!sealed.success) {
      throw new CliError(
        `the stored sealed output of intent ${String(row.intent_id)} is not a sealed output`,
        'The row was changed after the collector stored it: keep it for the investigation and tell whoever runs the log.',
      );
    }
    return { intent_id: String(row.intent_id), tool: String(row.tool), sealed: sealed.data };
  });
}

/** What to do next when a recording cannot be written. */
function recordingHint(error: RecordingError, env: string): string | undefined {
  switch (error.code) {
    case 'not_found':
      return '`warden runs list` shows recent runs.';
    case 'refused':
      return error.message.includes('admin role') ? loginHint(env) : undefined;
    case 'output_unavailable':
      return 'Its key was erased (`warden runs erase-outputs`): the raw outputs are gone for good.';
    case 'incomplete':
    case 'invalid':
      return undefined;
  }
}

function describeOutput(output: OpenedOutput & { tool: string }): string {
  const head = `${output.intent_id}  ${output.tool}`;
  switch (output.status) {
    case 'opened':
      return `${head}\n${JSON.stringify(output.output, null, 2)}\n\n`;
    case 'erased':
      return `${head}: erased (the run's key is gone)\n\n`;
    case 'unreadable':
      return `${head}: does not open with this run's key\n\n`;
  }
}

/** Reads through the env's trace collector: several requests on one connection. */
interface Collector {
  sql(sql: string, params: Record<string, unknown>): Promise<z.infer<typeof AuditSqlResult>>;
  timeline(runId: string, limit: number): Promise<z.infer<typeof AuditTimelineResult>>;
}

async function withCollector<T>(
  options: ConnectionOptions,
  use: (collector: Collector) => Promise<T>,
): Promise<T> {
  const nc: NatsConnection = await connectForCli(options.nats);
  const call = { service: 'trace collector', env: options.env, hint: collectorHint };
  try {
    return await use({
      sql: (sql, params) =>
        auditSql(nc, options.env, { sql, params, max_rows: MAX_SECTION_ROWS }, call),
      timeline: (runId, limit) => {
        const body: AuditTimelineRequest = { run_id: runId, limit };
        return callApi(
          nc,
          subjects.api(options.env, 'audit', 'timeline'),
          body,
          AuditTimelineResult,
          call,
        );
      },
    });
  } finally {
    await nc.close();
  }
}

function collectorHint(code: string): string | undefined {
  switch (code) {
    case 'query_failed':
      // The likeliest cause: a collector started before the run views' migration (0004) shipped.
      return 'The run views may be missing: restart the trace collector (`warden up`), which applies the audit log migrations at start-up.';
    default:
      return undefined;
  }
}

function runNotFound(runId: string, env: string): CliError {
  return new CliError(
    `no run ${runId} in the audit log of env ${env}`,
    '`warden runs list` shows recent runs; check the run id and --env (events reach the log a moment after they happen).',
  );
}

function filtersText(options: ListOptions): string {
  const filters = [
    options.agent && `agent ${options.agent}`,
    options.workflow && `workflow ${options.workflow}`,
    options.status && `status ${options.status}`,
  ].filter(Boolean);
  return filters.length === 0 ? '' : ` (${filters.join(', ')})`;
}

function parseRunId(value: string): string {
  if (!isSubjectToken(value))
    throw new InvalidArgumentError(`a run id ${SUBJECT_TOKEN_RULE}, e.g. run-42`);
  return value;
}

function token(name: string): (value: string) => string {
  return (value) => {
    if (!isSubjectToken(value)) throw new InvalidArgumentError(`${name} ${SUBJECT_TOKEN_RULE}`);
    return value;
  };
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > MAX_TIMELINE_EVENTS)
    throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_TIMELINE_EVENTS}`);
  return n;
}
