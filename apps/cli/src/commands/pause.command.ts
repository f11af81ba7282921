import type { DegradedToolView, PausedView, PauseTarget } from '@warden/contracts';
import { Command } from 'commander';
import { CliError, printJson, printTable } from '../output.js';
import {
  callGovernorAdmin,
  parseScopeId,
  withAdminOptions,
  type AdminOptions,
} from './admin-options.js';

/*
 * The cost governor's kill switch: `warden pause`, `warden resume` and `warden paused`. A pause is
 * the governor's, not the identity broker's: the agent keeps its identity, and every new action of
 * the scope is denied `paused` until it is resumed.
 */

/** `--agent` / `--workflow`: what to pause or resume. */
export interface PauseTargetFlags {
  agent?: string;
  workflow?: string;
}

interface PauseOptions extends AdminOptions, PauseTargetFlags {
  reason: string;
}

interface ResumeOptions extends AdminOptions, PauseTargetFlags {
  reason?: string;
}

/** `warden pause --agent <id> | --workflow <id> --reason "<why>"`. */
export function pauseCommand(): Command {
  return withTargetOptions(withAdminOptions(new Command('pause')))
    .description(
      'pause an agent or a workflow: from the reply on, every new action of it is denied (admin role)',
    )
    .requiredOption('--reason <text>', 'why, recorded with the pause and shown by `warden paused`')
    .addHelpText(
      'after',
      `
Runs already in flight are not killed: their next action is denied \`paused\`. Pausing what is
already paused changes nothing (the first pause's who and why stand). Undo with \`warden resume\`.

Examples:
  warden pause --agent support-triage-1 --reason "looping on ticket 4711"
  warden pause --workflow refunds --reason "refund spike under investigation" --json`,
    )
    .action(async (options: PauseOptions) => {
      const target = pauseTargetFrom(options);
      if (options.reason.trim() === '') {
        throw new CliError('--reason is empty', 'Say why, e.g. --reason "looping on ticket 4711".');
      }
      const result = await callGovernorAdmin(options, 'pause', { target, reason: options.reason });
      if (options.json) printJson(result);
      else process.stdout.write(describePause(target, result));
    });
}

/** `warden resume --agent <id> | --workflow <id> [--reason "<why>"]`. */
export function resumeCommand(): Command {
  return withTargetOptions(withAdminOptions(new Command('resume')))
    .description(
      'lift the pause of an agent or a workflow: its actions go through again (admin role)',
    )
    .option('--reason <text>', 'why, for the audit log')
    .addHelpText(
      'after',
      `
This lifts a \`warden pause\`. An agent suspended in the identity broker is resumed with
\`warden agents resume <agent_id>\` instead.

Examples:
  warden resume --agent support-triage-1 --reason "loop fixed in v1.4"
  warden resume --workflow refunds`,
    )
    .action(async (options: ResumeOptions) => {
      const target = pauseTargetFrom(options);
      const result = await callGovernorAdmin(options, 'resume', {
        target,
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      });
      if (options.json) printJson(result);
      else process.stdout.write(describeResume(target, result.changed));
    });
}

/** `warden paused`: what is paused (who, when, why) and which tools are degraded. */
export function pausedCommand(): Command {
  return withAdminOptions(new Command('paused'))
    .description(
      'list the paused agents and workflows (who paused them, when and why) and the degraded tools',
    )
    .addHelpText('after', '\nExamples:\n  warden paused\n  warden paused --json')
    .action(async (options: AdminOptions) => {
      const result = await callGovernorAdmin(options, 'pause-list', {});
      if (options.json) printJson(result);
      else printPauseList(result.paused, result.degraded, options.env);
    });
}

function withTargetOptions(command: Command): Command {
  return command
    .option('--agent <id>', 'the agent', parseScopeId)
    .option('--workflow <id>', 'the workflow', parseScopeId);
}

/**
 * The scope named by exactly one of `--agent` / `--workflow`.
 *
 * @throws CliError when neither or both are given.
 */
export function pauseTargetFrom(flags: PauseTargetFlags): PauseTarget {
  if (flags.agent !== undefined && flags.workflow !== undefined) {
    throw new CliError(
      '--agent and --workflow name different scopes: give one',
      'Run the command once for each scope.',
    );
  }
  if (flags.agent !== undefined) return { scope: 'agent', agent_id: flags.agent };
  if (flags.workflow !== undefined) return { scope: 'workflow', workflow: flags.workflow };
  throw new CliError(
    'name what to act on: --agent <id> or --workflow <id>',
    '`warden paused` lists what is paused; `warden agents list` the agents.',
  );
}

function targetId(target: PauseTarget): string {
  return target.scope === 'agent' ? target.agent_id : target.workflow;
}

function describeTarget(target: PauseTarget): string {
  return `${target.scope} ${targetId(target)}`;
}

/** After `pause`: the target's pause as the governor holds it (the first one's, when unchanged). */
export function describePause(
  target: PauseTarget,
  result: { changed: boolean; paused: readonly PausedView[] },
): string {
  const entry = result.paused.find(
    (view) => view.scope === target.scope && view.id === targetId(target),
  );
  const how = entry === undefined ? '' : ` ${describePausedBy(entry)}`;
  const suffix = how === '' ? '' : `:${how}`;
  return result.changed
    ? `paused ${describeTarget(target)}${suffix}\n`
    : `unchanged: ${describeTarget(target)} was already paused${suffix}\n`;
}

/** After `resume`. */
export function describeResume(target: PauseTarget, changed: boolean): string {
  return changed
    ? `resumed ${describeTarget(target)}: its actions go through again\n`
    : `unchanged: ${describeTarget(target)} was not paused\n`;
}

function describePausedBy(view: PausedView): string {
  return `by ${view.by} at ${view.at}${view.reason === undefined ? '' : ` (${view.reason})`}`;
}

/** The columns of `warden paused`. */
export const PAUSED_COLUMNS = ['scope', 'id', 'by', 'at', 'reason'];
/** The columns of the degraded tools table. */
export const DEGRADED_COLUMNS = ['tool', 'since', 'reason'];

/** Prints what is paused and what is degraded, each as a table or one line when empty. */
export function printPauseList(
  paused: readonly PausedView[],
  degraded: readonly DegradedToolView[],
  env: string,
): void {
  if (paused.length === 0) process.stdout.write(`nothing is paused in env ${env}\n`);
  else {
    process.stdout.write('Paused (every new action denied)\n');
    printTable(PAUSED_COLUMNS, pausedRows(paused));
  }
  if (degraded.length === 0) process.stdout.write(`no degraded tools in env ${env}\n`);
  else {
    process.stdout.write('\nDegraded tools (circuit breaker open: runs calling them halt)\n');
    printTable(DEGRADED_COLUMNS, degradedRows(degraded));
  }
}

/** `warden paused` rows, oldest pause first. */
export function pausedRows(paused: readonly PausedView[]): Record<string, unknown>[] {
  return [...paused]
    .sort((a, b) => a.at.localeCompare(b.at))
    .map((view) => ({ ...view, reason: view.reason ?? '' }));
}

/** Degraded tool rows, as sent. */
export function degradedRows(degraded: readonly DegradedToolView[]): Record<string, unknown>[] {
  return degraded.map((view) => ({ ...view, reason: view.reason ?? '' }));
}
