import { AuditSqlResult, type ToolView } from '@warden/contracts';
import {
  compileArgs,
  compileVersion,
  ToolDeclaration,
  type DecidableTool,
  type DecidableVersion,
} from '@warden/policy';
import { Command, InvalidArgumentError } from 'commander';
import {
  describeChange,
  recordedSteps,
  replayStep,
  REPLAY_SQL,
  type RecordedStep,
  type ReplayedStep,
  type ReplayRow,
  type UnreadableStep,
} from '../replay/decision-replay.js';
import { CliError, printJson, printTable } from '../output.js';
import { parseRunsSince, type RunsSince } from '../runs/run-queries.js';
import { callPolicyAdmin, withAdminOptions, type AdminOptions } from './admin-options.js';
import { askCollector } from './audit.command.js';
import { validatePolicies } from './policies.command.js';

/** The most decision events one replay reads (a run of 10,000 steps is already unusual). */
const MAX_ROWS = 30_000;

interface ReplayOptions extends AdminOptions {
  policyVersion?: number;
  policies?: string[];
  schema?: string;
  workflow?: string;
  since?: RunsSince;
}

/** What `warden replay --json` prints, and what the table is made of. */
export interface ReplayReport {
  run_id: string;
  against: string;
  steps: ReplayedStep[];
  changed: number;
  unreadable: UnreadableStep[];
}

/** What `warden replay --workflow … --json` prints: every run's report, and the changes counted. */
export interface ManyRunsReport {
  workflow: string;
  since: string;
  against: string;
  runs: number;
  decisions: number;
  changed: number;
  /** Changed decisions by `recorded → replayed`, tool and policies, most frequent first. */
  changes: { change: string; tool: string; policy_ids: string[]; count: number; example: string }[];
  unreadable: number;
  reports: ReplayReport[];
}

/** A workflow's runs that reached the policy stage since a time, oldest first. */
const WORKFLOW_RUNS_SQL = `SELECT run_id
FROM events
WHERE env = {env:String} AND workflow = {workflow:String} AND type = 'policy.decided'
  AND occurred_at >= {since:DateTime64(6, 'UTC')}
GROUP BY run_id
ORDER BY min(occurred_at)
LIMIT {limit:UInt32}`;

/** The most runs one `--workflow` replay reads. */
const MAX_RUNS = 1_000;

/** `warden replay <run_id>`: decide a recorded run's intents again and show what would change. */
export function replayCommand(): Command {
  return withAdminOptions(new Command('replay'))
    .description(
      "decide a recorded run's intents again (its own policy version, another, or local files) and show what would change; nothing reaches a tool",
    )
    .argument('[run_id]', 'the run to replay (warden runs list); or every run of --workflow')
    .option('--workflow <name>', 'replay every run of this workflow since --since, and summarise')
    .option(
      '--since <when>',
      'with --workflow: runs since 30m, 24h, 7d or a UTC date 2026-11-01 (default: 7d)',
      (value: string) => parseRunsSince(value),
    )
    .option('--policy-version <n>', 'decide every step under this published version', parseVersion)
    .option(
      '--policies <paths...>',
      'decide every step under these policy files (a directory of *.cedar or files), unpublished',
    )
    .option('--schema <file>', 'the Cedar schema for --policies (default: the shipped one)')
    .addHelpText(
      'after',
      `
Each step is decided by the same code the policy stage runs, with the tool version it was decided
with, the principal's attributes and the args as the log recorded them, at the time it was
decided. Args are stored redacted: a step whose decision turned on a redacted value can differ.
Exit code 1 when any decision changes (or a step cannot be read).

Examples:
  warden replay run-01JD4K6Z8V3M2T9Q7W5X1Y0B02
  warden replay run-01JD4K6Z8V3M2T9Q7W5X1Y0B02 --policies examples/support-triage/policies
  warden replay run-01JD4K6Z8V3M2T9Q7W5X1Y0B02 --policy-version 3 --json
  warden replay --workflow support-triage --since 7d --policies examples/support-triage/policies`,
    )
    .action(async (runId: string | undefined, options: ReplayOptions) => {
      if (options.policyVersion !== undefined && options.policies !== undefined) {
        throw new CliError(
          '--policy-version and --policies cannot be used together',
          'Pick the published version or the local files to replay against.',
        );
      }
      if ((runId === undefined) === (options.workflow === undefined)) {
        throw new CliError(
          'name one run, or --workflow for all of its runs',
          'For example `warden replay <run_id>` or `warden replay --workflow support-triage --since 7d`.',
        );
      }
      const sources = await replaySources(options);
      if (runId !== undefined) {
        const report = await replayRun(runId, options, sources);
        if (options.json) printJson(report);
        else printReport(report);
        if (report.changed > 0 || report.unreadable.length > 0) process.exitCode = 1;
        return;
      }
      const summary = await replayWorkflow(options.workflow ?? '', options, sources);
      if (options.json) printJson(summary);
      else printSummary(summary);
      if (summary.changed > 0 || summary.unreadable > 0) process.exitCode = 1;
    });
}

/** The tools and policies a replay decides with, shared by the runs of one invocation. */
interface ReplaySources {
  readonly tools: ToolVersions;
  readonly versionFor: (step: RecordedStep) => Promise<DecidableVersion>;
  readonly against: string;
}

async function replaySources(options: ReplayOptions): Promise<ReplaySources> {
  return {
    tools: new ToolVersions(options),
    versionFor: await policySource(options),
    against:
      options.policies !== undefined
        ? `the policy files ${options.policies.join(' ')}`
        : options.policyVersion !== undefined
          ? `policy version ${options.policyVersion}`
          : 'the policy version each step was decided under',
  };
}

/** Replays every run of a workflow since a time, and counts what would change. */
async function replayWorkflow(
  workflow: string,
  options: ReplayOptions,
  sources: ReplaySources,
): Promise<ManyRunsReport> {
  const since = options.since ?? parseRunsSince('7d');
  const { rows } = await askCollector(
    options,
    'sql',
    {
      sql: WORKFLOW_RUNS_SQL,
      params: { env: options.env, workflow, since: since.from, limit: MAX_RUNS },
      max_rows: MAX_RUNS,
    },
    AuditSqlResult,
  );
  const reports: ReplayReport[] = [];
  for (const row of rows) reports.push(await replayRun(String(row.run_id), options, sources));
  const changes = new Map<string, ManyRunsReport['changes'][number]>();
  for (const report of reports) {
    for (const step of report.steps.filter((one) => one.changed)) {
      const change = `${step.recorded.effect} → ${step.replayed.effect}`;
      const key = [change, step.tool, ...step.replayed.policyIds].join('\n');
      const known = changes.get(key);
      if (known !== undefined) known.count++;
      else
        changes.set(key, {
          change,
          tool: step.tool,
          policy_ids: [...step.replayed.policyIds],
          count: 1,
          example: `${report.run_id} step ${step.step}`,
        });
    }
  }
  return {
    workflow,
    since: since.text,
    against: sources.against,
    runs: reports.length,
    decisions: reports.reduce((sum, report) => sum + report.steps.length, 0),
    changed: reports.reduce((sum, report) => sum + report.changed, 0),
    changes: [...changes.values()].sort((a, b) => b.count - a.count),
    unreadable: reports.reduce((sum, report) => sum + report.unreadable.length, 0),
    reports,
  };
}

/** Loads the run and replays every step with the sources' tools and policies. */
async function replayRun(
  runId: string,
  options: ReplayOptions,
  sources: ReplaySources,
): Promise<ReplayReport> {
  const { rows, truncated } = await askCollector(
    options,
    'sql',
    { sql: REPLAY_SQL, params: { env: options.env, run_id: runId }, max_rows: MAX_ROWS },
    AuditSqlResult,
    { timeoutMs: 60_000 },
  );
  if (truncated) {
    throw new CliError(
      `run ${runId} has more than ${MAX_ROWS} decision events`,
      'Replay it in parts with `warden audit sql`, or tell us: this run is larger than a replay reads.',
    );
  }
  const { steps, unreadable } = recordedSteps(rows as unknown as ReplayRow[]);
  if (steps.length === 0 && unreadable.length === 0) {
    throw new CliError(
      `no decided intent of run ${runId} in env ${options.env}`,
      'Check the run id and --env (warden runs list).',
    );
  }
  const replayed: ReplayedStep[] = [];
  for (const step of steps) {
    replayed.push(replayStep(step, await sources.tools.at(step), await sources.versionFor(step)));
  }
  return {
    run_id: runId,
    against: sources.against,
    steps: replayed,
    changed: replayed.filter((step) => step.changed).length,
    unreadable,
  };
}

/** Where each step's policies come from: its own version, one version, or local files. */
async function policySource(
  options: ReplayOptions,
): Promise<(step: RecordedStep) => Promise<DecidableVersion>> {
  if (options.policies !== undefined) {
    const checked = await validatePolicies(options.policies, options.schema);
    if (checked.check.errors.length > 0) {
      throw new CliError(
        `the policy files do not validate: ${checked.check.errors.length} error(s)`,
        `See them with \`warden policies validate ${options.policies.join(' ')}\`.`,
      );
    }
    const candidate = compileVersion('replay:candidate', 0, checked.schema.text, checked.files);
    return () => Promise.resolve(candidate);
  }
  const cache = new Map<number, Promise<DecidableVersion>>();
  const load = (version: number) => {
    let known = cache.get(version);
    if (known === undefined) {
      known = callPolicyAdmin(options, 'policy-show', { version }).then(({ version: shown }) =>
        compileVersion(`replay:v${version}`, version, shown.schema, shown.files),
      );
      cache.set(version, known);
    }
    return known;
  };
  return (step) => {
    const version = options.policyVersion ?? step.policyVersion;
    // A rejected step never reached Cedar: only its validation is replayed.
    return version === undefined ? Promise.resolve({ version: 0 }) : load(version);
  };
}

/**
 * Tool versions as the steps were decided with: the recorded version, or (for a rejection or an
 * unknown tool, which record none) the latest registered before the step was decided.
 */
class ToolVersions {
  private readonly views = new Map<string, Promise<ToolView | undefined>>();
  private readonly lists = new Map<string, Promise<readonly number[]>>();

  constructor(private readonly options: AdminOptions) {}

  async at(step: RecordedStep): Promise<DecidableTool | undefined> {
    const version = step.toolVersion ?? (await this.registeredBefore(step.tool, step.decidedAt));
    if (version === undefined) return undefined;
    const view = await this.view(step.tool, version);
    if (view === undefined) return undefined;
    const declaration = ToolDeclaration.parse(view.declaration);
    return { declaration, validate: compileArgs(declaration.args) };
  }

  private async registeredBefore(name: string, at: string): Promise<number | undefined> {
    const decidedAt = Date.parse(at);
    const versions = [...(await this.versions(name))].reverse();
    for (const version of versions) {
      const view = await this.view(name, version);
      if (view !== undefined && Date.parse(view.registered_at) <= decidedAt) return version;
    }
    return undefined;
  }

  private versions(name: string): Promise<readonly number[]> {
    let known = this.lists.get(name);
    if (known === undefined) {
      known = callPolicyAdmin(this.options, 'tool-show', { name }).then(
        (shown) => shown.versions,
        () => [],
      );
      this.lists.set(name, known);
    }
    return known;
  }

  private view(name: string, version: number): Promise<ToolView | undefined> {
    const key = `${name}@${version}`;
    let known = this.views.get(key);
    if (known === undefined) {
      known = callPolicyAdmin(this.options, 'tool-show', { name, version }).then(
        (shown) => shown.tool,
        () => undefined,
      );
      this.views.set(key, known);
    }
    return known;
  }
}

const COLUMNS = ['step', 'tool', 'recorded', 'replayed', ''];

/** The table of steps, then what changed in words. */
function printReport(report: ReplayReport): void {
  process.stdout.write(`run ${report.run_id} replayed against ${report.against}\n`);
  printTable(
    COLUMNS,
    report.steps.map((step) => ({
      step: step.step,
      tool: step.tool,
      recorded: answerText(step.recorded),
      replayed: answerText(step.replayed),
      '': step.changed ? 'CHANGED' : '',
    })),
  );
  const lines = [
    `${report.steps.length} decision(s), ${report.changed} would change${report.changed === 0 ? '' : ':'}`,
    ...report.steps.filter((step) => step.changed).map((step) => `  ${describeChange(step)}`),
    ...report.unreadable.map(
      (step) => `  intent ${step.intentId} could not be replayed: ${step.why}`,
    ),
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

/** The workflow's totals, then each kind of change with how often and one example. */
function printSummary(summary: ManyRunsReport): void {
  process.stdout.write(
    `${summary.runs} run(s) of ${summary.workflow} since ${summary.since} replayed against ${summary.against}\n` +
      `${summary.decisions} decision(s), ${summary.changed} would change${summary.unreadable > 0 ? `, ${summary.unreadable} could not be read` : ''}\n`,
  );
  if (summary.changes.length === 0) return;
  printTable(
    ['count', 'change', 'tool', 'policies', 'example'],
    summary.changes.map((change) => ({ ...change, policies: change.policy_ids.join(', ') })),
  );
  process.stdout.write('See one with `warden replay <run_id>` and the same flags.\n');
}

function answerText(answer: ReplayedStep['recorded']): string {
  const ids = answer.policyIds.length > 0 ? ` (${answer.policyIds.join(', ')})` : '';
  const reason =
    answer.effect === 'deny' || answer.effect === 'rejected' ? ` ${answer.reason ?? ''}` : '';
  return `${answer.effect}${ids}${reason}`.trimEnd();
}

function parseVersion(value: string): number {
  const version = Number(value);
  if (!Number.isInteger(version) || version < 1) {
    throw new InvalidArgumentError(
      'a policy version is a whole number from 1 (warden policies list)',
    );
  }
  return version;
}
