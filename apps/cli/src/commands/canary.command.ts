import {
  ReleaseVersion,
  Ulid,
  type CanaryView,
  type POLICY_API,
  type PolicyApiOp,
  type ReleaseView,
} from '@warden/contracts';
import { Command, InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import { envFlagFor } from './common-options.js';
import { readCanaryReport, type CanaryReportOptions } from '../canary/canary-read.js';
import { canaryReportText, type CanaryReport } from '../canary/canary-report.js';
import { ApiRefusedError } from '../nats-client.js';
import { printJson, printTable } from '../output.js';
import {
  callPolicyAdmin,
  parseScopeId,
  withAdminOptions,
  type AdminOptions,
} from './admin-options.js';
import { parseVersion } from './policies.command.js';

/*
 * `warden canary …`: give a new release of a workflow (its prompt, model, tool schema) to a share
 * of its new runs, compare the two sides from the audit log, then promote or abort it. The policy
 * decision service keeps the canaries (POLICY_API canary-*); the report reads the log.
 *
 * The release is `--version`, as the issue spells it: warden's own `--version` is only read before
 * the subcommand (the program enables positional options).
 */

/** `warden canary start|list|promote|abort|report`. */
export function canaryCommand(): Command {
  const canary = new Command('canary').description(
    "canary releases: give a workflow's new version to a share of its new runs (start), see them (list), compare both sides from the audit log (report), then promote or abort",
  );

  withAdminOptions(canary.command('start'))
    .description(
      "start a canary: a share of the workflow's new runs get a release (and, with --policy-version, are decided under that stored policy version)",
    )
    .requiredOption('--workflow <id>', 'the workflow', parseScopeId)
    .requiredOption(
      '--version <version>',
      'the release the canary runs: a label like v2 or 2026-11-27.1 (prompt, model, tool schema)',
      parseRelease,
    )
    .requiredOption(
      '--percent <share>',
      'the share of new runs that get it: above 0 and below 100, at most two decimals',
      parsePercent,
    )
    .option(
      '--policy-version <n>',
      "decide the canary's intents under this stored policy version (publish it first, e.g. with `warden policies shadow`)",
      parseVersion,
    )
    .option('--reason <text>', 'why, for the log', parseReason)
    .addHelpText(
      'after',
      `
One canary per workflow at a time. Each run is assigned for good when it starts (a hash of the
run and the canary), and records its release and side on run.started. Needs the admin role.

Examples:
  warden canary start --workflow support-triage --version v2 --percent 10
  warden canary start --workflow support-triage --version v3 --percent 2.5 --policy-version 7 --reason "looser bulk rules"`,
    )
    .action(async (options: StartOptions) => {
      const { canary: started } = await callCanaryAdmin(options, 'canary-start', {
        workflow: options.workflow,
        version: options.version,
        percent: options.percent,
        ...(options.policyVersion === undefined ? {} : { policy_version: options.policyVersion }),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      });
      if (options.json) printJson({ canary: started });
      else process.stdout.write(startedText(started, options.env));
    });

  withAdminOptions(canary.command('list'))
    .description("the canaries in force and the workflows' promoted releases")
    .addHelpText('after', '\nExamples:\n  warden canary list\n  warden canary list --json')
    .action(async (options: AdminOptions) => {
      const result = await callCanaryAdmin(options, 'canary-list', {});
      if (options.json) {
        printJson(result);
        return;
      }
      const text = listText(result.canaries, result.releases, options.env);
      for (const part of text) {
        if (typeof part === 'string') process.stdout.write(`${part}\n`);
        else printTable(part.columns, part.rows);
      }
    });

  for (const how of ['promote', 'abort'] as const) {
    withAdminOptions(canary.command(how))
      .description(
        how === 'promote'
          ? "end the workflow's canary by making its release the one every new run gets (and its policy version, if it has one, the active one)"
          : "end the workflow's canary: new runs keep the baseline",
      )
      .requiredOption('--workflow <id>', 'the workflow', parseScopeId)
      .requiredOption('--reason <text>', 'why: logged with who did it', parseReason)
      .addHelpText(
        'after',
        `
Needs the admin role. The log keeps who ended the canary and why; \`warden canary report
--workflow <id> --canary <canary id>\` still reports it afterwards.

Example:
  warden canary ${how} --workflow support-triage --reason "${how === 'promote' ? 'no more escaped errors, 3% cheaper' : 'escaped errors doubled'}"`,
      )
      .action(async (options: EndOptions) => {
        const body = { workflow: options.workflow, reason: options.reason };
        if (how === 'promote') {
          const result = await callCanaryAdmin(options, 'canary-promote', body);
          if (options.json) printJson(result);
          else process.stdout.write(promotedText(result, options.reason));
        } else {
          const result = await callCanaryAdmin(options, 'canary-abort', body);
          if (options.json) printJson(result);
          else process.stdout.write(abortedText(result.canary, options.reason));
        }
      });
  }

  withAdminOptions(canary.command('report'))
    .description(
      "compare the canary's two sides over the runs it assigned, from the audit log: outcomes, denials, approvals, escaped errors, cost, latency, and whether each difference is real",
    )
    .requiredOption('--workflow <id>', 'the workflow', parseScopeId)
    .option(
      '--canary <id>',
      "a canary by id, e.g. one that ended (default: the workflow's canary in force)",
      parseCanaryId,
    )
    .option(
      '--since <when>',
      "only runs started since: 30m, 24h, 7d or a UTC date 2026-11-01 (default: the canary's start)",
    )
    .option(
      '--suite <files...>',
      "also decide these golden suites' intent cases under each side's policy (eval failures)",
    )
    .addHelpText(
      'after',
      `
Per side: its release, runs (succeeded / failed / halted / running), runs with a denial, calls
denied, approvals requested, escaped errors (executed writes that are also bulk, money,
permission or production, with no approval granted: risky writes that ran without a human),
cost per successful run, and p50/p95/p99 of call latency and run duration.

Each rate and mean is tested two-sided: rates with the two-proportion z-test (Fisher's exact
test when a cell expects fewer than 5 runs), the rest with the Mann-Whitney U test. "significant"
means p < 0.05; otherwise "not enough evidence". An arm with fewer than 30 runs gets a note.

Reads the log through the trace collector (audit.sql); the canary in force and, with --suite, the
policy versions come from the policy decision service (a human login).

Examples:
  warden canary report --workflow support-triage
  warden canary report --workflow support-triage --since 7d --json
  warden canary report --workflow support-triage --suite test/golden/support-triage.yaml
  warden canary report --workflow support-triage --canary 01JD4K6Z8V3M2T9Q7W5X1Y0A01`,
    )
    .action(async (options: ReportOptions) => {
      const report = await readCanaryReport({
        env: options.env,
        nats: options.nats,
        ...(options.token === undefined ? {} : { token: options.token }),
        workflow: options.workflow,
        ...(options.canary === undefined ? {} : { canary: options.canary }),
        ...(options.since === undefined ? {} : { since: options.since }),
        ...(options.suite === undefined ? {} : { suites: options.suite }),
      } satisfies CanaryReportOptions);
      if (options.json) printJson(report);
      else printCanaryReport(report);
    });

  return canary;
}

interface StartOptions extends AdminOptions {
  workflow: string;
  version: string;
  percent: number;
  policyVersion?: number;
  reason?: string;
}

interface EndOptions extends AdminOptions {
  workflow: string;
  reason: string;
}

interface ReportOptions extends AdminOptions {
  workflow: string;
  canary?: string;
  since?: string;
  suite?: string[];
}

/** `--percent`: above 0 and below 100, with at most two decimals (`10`, `2.5`, `0.25`). */
export function parsePercent(value: string): number {
  const text = value.trim();
  const percent = Number(text);
  if (!/^\d{1,2}(?:\.\d{1,2})?$/.test(text) || !(percent > 0)) {
    throw new InvalidArgumentError(
      'must be a share of runs above 0 and below 100 with at most two decimals, e.g. 10 or 2.5',
    );
  }
  return percent;
}

/** `--version`: a release label as the contracts define it. */
export function parseRelease(value: string): string {
  const parsed = ReleaseVersion.safeParse(value);
  if (!parsed.success) {
    throw new InvalidArgumentError(
      'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. v2)',
    );
  }
  return parsed.data;
}

/** `--reason`: some words, for the log (at most 2048 characters). */
export function parseReason(value: string): string {
  const text = value.trim();
  if (text === '') throw new InvalidArgumentError('must say why, in some words');
  if (text.length > 2048) throw new InvalidArgumentError('must be at most 2048 characters');
  return text;
}

/** `--canary`: a canary id (a ULID). */
export function parseCanaryId(value: string): string {
  if (!Ulid.safeParse(value).success) {
    throw new InvalidArgumentError(
      'must be a canary id: a ULID of 26 characters (`warden canary list` shows them)',
    );
  }
  return value;
}

type CanaryOp = Extract<PolicyApiOp, `canary-${string}`>;

/**
 * A canary op of the policy decision service, with hints for the refusals that are its own
 * (callPolicyAdmin's shared hints cover login, roles and availability).
 */
async function callCanaryAdmin<O extends CanaryOp>(
  options: AdminOptions & { workflow?: string },
  op: O,
  body: z.input<(typeof POLICY_API)[O]['request']>,
): Promise<z.output<(typeof POLICY_API)[O]['result']>> {
  try {
    return await callPolicyAdmin(options, op, body);
  } catch (error) {
    if (!(error instanceof ApiRefusedError)) throw error;
    const hint = canaryHint(op, error.code, options.env, options.workflow ?? '<workflow>');
    if (hint === undefined) throw error;
    throw new ApiRefusedError(error.code, error.apiMessage, error.details, hint);
  }
}

/** What to do next after a canary refusal, by op and code; undefined for the shared codes. */
export function canaryHint(
  op: CanaryOp,
  code: string,
  env: string,
  workflow: string,
): string | undefined {
  const envFlag = envFlagFor(env);
  switch (code) {
    case 'forbidden':
      return op === 'canary-list'
        ? 'You need an active human login: `warden login --user <you>`.'
        : 'You need the admin role to start or end canaries: log in as an admin (`warden login --user <admin>`).';
    case 'canary_running':
      return `See how it does with \`warden canary report --workflow ${workflow}${envFlag}\`, then \`warden canary promote\` or \`warden canary abort --workflow ${workflow} --reason "…"\`.`;
    case 'same_version':
      return `Pick another --version; \`warden canary list${envFlag}\` shows each workflow's release.`;
    case 'not_found':
    case 'no_canary':
      return op === 'canary-start'
        ? `\`warden policies list${envFlag}\` shows the stored policy versions.`
        : `\`warden canary list${envFlag}\` shows the canaries in force; start one with \`warden canary start --workflow ${workflow} --version <version> --percent 10${envFlag}\`.`;
    default:
      return undefined;
  }
}

/** What `canary start` prints: what started, and what to do next. */
export function startedText(canary: CanaryView, env: string): string {
  const envFlag = envFlagFor(env);
  const w = canary.workflow;
  return [
    `canary ${canary.canary_id} started for workflow ${w}`,
    `  release   ${canary.version} on ${canary.percent}% of new runs; ${
      canary.baseline === undefined
        ? `the others keep their own version (${w} has no promoted release)`
        : `the others keep ${canary.baseline}`
    }`,
    `  policy    ${
      canary.policy_version === undefined
        ? 'every run is decided under the active policy version'
        : `the canary's intents are decided under policy version ${canary.policy_version}, the others' under the active one`
    }`,
    `  by        ${canary.started_by} at ${utc(canary.started_at)}${canary.reason === undefined ? '' : `: "${canary.reason}"`}`,
    `  next      \`warden canary report --workflow ${w}${envFlag}\` compares the two sides as runs come in;`,
    `            then \`warden canary promote --workflow ${w} --reason "…"${envFlag}\` or \`warden canary abort --workflow ${w} --reason "…"${envFlag}\``,
    '',
  ].join('\n');
}

/** What `canary list` prints: lines and tables, in order. */
export function listText(
  canaries: readonly CanaryView[],
  releases: readonly ReleaseView[],
  env: string,
): (string | { columns: string[]; rows: Record<string, string>[] })[] {
  const parts: (string | { columns: string[]; rows: Record<string, string>[] })[] = [];
  const time = utc;
  if (canaries.length === 0) {
    const envFlag = envFlagFor(env);
    parts.push(
      `no canary in force in env ${env} (start one with \`warden canary start --workflow <id> --version <version> --percent 10${envFlag}\`)`,
    );
  } else {
    parts.push('canaries in force');
    parts.push({
      columns: [
        'workflow',
        'canary',
        'release',
        'baseline',
        'share',
        'policy version',
        'started (UTC)',
        'by',
        'reason',
      ],
      rows: canaries.map((c) => ({
        workflow: c.workflow,
        canary: c.canary_id,
        release: c.version,
        baseline: c.baseline ?? '(none)',
        share: `${c.percent}%`,
        'policy version': c.policy_version === undefined ? 'active' : String(c.policy_version),
        'started (UTC)': time(c.started_at),
        by: c.started_by,
        reason: c.reason ?? '',
      })),
    });
  }
  if (releases.length === 0) parts.push('no promoted release');
  else {
    parts.push('promoted releases');
    parts.push({
      columns: ['workflow', 'release', 'canary', 'promoted (UTC)', 'by'],
      rows: releases.map((r) => ({
        workflow: r.workflow,
        release: r.version,
        canary: r.canary_id,
        'promoted (UTC)': time(r.promoted_at),
        by: r.promoted_by,
      })),
    });
  }
  return parts;
}

/** What `canary promote` prints: the release, and the newly active policy version if any. */
export function promotedText(
  result: {
    canary: CanaryView;
    release: ReleaseView;
    policy_version?: { version: number; rollback_of?: number | undefined } | undefined;
  },
  reason: string,
): string {
  const { canary, release } = result;
  const policy = result.policy_version;
  return [
    `canary ${canary.canary_id} of ${canary.workflow} promoted: ${release.version} is the release every new run gets`,
    ...(policy === undefined
      ? []
      : [
          `  policy    version ${policy.version} is active (the content of version ${policy.rollback_of ?? canary.policy_version ?? '?'})`,
        ]),
    `  logged    by ${release.promoted_by} at ${utc(release.promoted_at)}: "${reason}"`,
    '',
  ].join('\n');
}

/** What `canary abort` prints. */
export function abortedText(canary: CanaryView, reason: string): string {
  return [
    `canary ${canary.canary_id} of ${canary.workflow} aborted: new runs keep ${canary.baseline ?? 'their own version'}${canary.policy_version === undefined ? '' : ' and the active policy version'}`,
    `  logged    "${reason}"`,
    '',
  ].join('\n');
}

/** An RFC 3339 timestamp to the second: `2026-11-02T09:00:00Z`. */
function utc(at: string): string {
  return `${at.slice(0, 19)}Z`;
}

/** Prints the report as lines and tables. */
function printCanaryReport(report: CanaryReport): void {
  const text = canaryReportText(report);
  process.stdout.write(`${text.summary.join('\n')}\n\n`);
  printTable(text.arms.columns, text.arms.rows);
  process.stdout.write(
    `\ncomparisons (two-sided; significant at p < ${report.alpha}, canary against baseline)\n`,
  );
  printTable(text.comparisons.columns, text.comparisons.rows);
  const tail = [...text.eval, ...text.notes, ...text.next];
  if (tail.length > 0) process.stdout.write(`\n${tail.join('\n')}\n`);
}
