import {
  AuditSqlResult,
  MAX_OUTPUTS_PER_OPEN,
  SealedOutput,
  type OpenedOutput,
} from '@warden/contracts';
import { Command } from 'commander';
import { CliError, printJson } from '../output.js';
import {
  callExecutorAdmin,
  parseScopeId,
  withAdminOptions,
  type AdminOptions,
} from './admin-options.js';
import { askCollector } from './audit.command.js';
import { parseIntentId } from './common-options.js';

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

/** `warden runs …`: what one run did, and what is kept of it. */
export function runsCommand(): Command {
  const runs = new Command('runs').description("one run's record: its sealed outputs");

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
