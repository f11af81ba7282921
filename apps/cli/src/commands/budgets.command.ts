import {
  MAX_RATE_LIMIT_CALLS,
  RateLimitTool,
  type BudgetSetting,
  type BudgetShowRequest,
  type ConfiguredBudgets,
  type DailySpend,
  type RateLimit,
} from '@warden/contracts';
import { Command, InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import { formatDuration, parseDurationMs } from '../duration.js';
import { CliError, printJson, printTable } from '../output.js';
import { formatUsd, parseUsdToMicros } from '../usd.js';
import {
  callGovernorAdmin,
  parseScopeId,
  withAdminOptions,
  type AdminOptions,
} from './admin-options.js';

/** The longest rate-limit window the governor keeps (its contract's bound). */
const MAX_WINDOW_MS = 24 * 60 * 60 * 1000;
/** The most steps a run may be allowed (the contract's bound). */
const MAX_RUN_STEPS = 10_000;

/** `warden budgets …`: the cost governor's budgets per run, per agent and per workflow per day. */
export function budgetsCommand(): Command {
  const budgets = new Command('budgets').description(
    "set and show the cost governor's budgets: the limits of every run, and daily budgets per agent and per workflow",
  );

  withAdminOptions(budgets.command('set'))
    .description(
      "replace one scope's budget: the run defaults (--run), an agent's or a workflow's (admin role)",
    )
    .option('--run', 'set the limits of every run')
    .option('--agent <id>', "set an agent's daily budget and rate limits", parseScopeId)
    .option('--workflow <id>', "set a workflow's daily budget", parseScopeId)
    .option(
      '--budget-usd <usd>',
      'with --run: the most one run may spend, in USD',
      parseUsdToMicros,
    )
    .option(
      '--max-steps <n>',
      `with --run: the most steps one run may take (1-${MAX_RUN_STEPS})`,
      parseCount(MAX_RUN_STEPS),
    )
    .option('--max-tokens <n>', 'with --run: the most model tokens one run may use', parseCount())
    .option(
      '--max-wall-clock <duration>',
      'with --run: the longest one run may last, e.g. 30m or 1h30m',
      parseWallClockSeconds,
    )
    .option(
      '--daily-usd <usd>',
      'with --agent or --workflow: the most it may spend per day, in USD',
      parseUsdToMicros,
    )
    .option(
      '--daily-tokens <n>',
      'with --agent or --workflow: the most model tokens it may use per day',
      parseCount(),
    )
    .option(
      '--rate-limit <tool=calls/window>',
      `with --agent: at most <calls> (1-${MAX_RATE_LIMIT_CALLS}) calls of <tool> in any <window> (up to 24h); tool "*" covers every tool without a rule of its own (repeatable)`,
      collectRateLimit,
    )
    .addHelpText(
      'after',
      `
Exactly one of --run, --agent or --workflow. Setting replaces the scope's whole budget: a limit
left out is no longer limited, and a scope set with no limit at all is unlimited.

Run limits apply to every run; a run's declared limits can only tighten them. Where this leaves a
limit unset, an agent's registered default budget, then the governor's environment
(GOVERNOR_MAX_STEPS, GOVERNOR_RUN_BUDGET_USD) apply. Daily budgets cover all runs of the agent or workflow and start
afresh each day (\`warden budgets show --agent <id>\` prints when). USD amounts take up to 6
decimals (0.000001 is one micro-dollar); durations are like 60s, 1m, 1h or 1h30m.

Examples:
  warden budgets set --run --budget-usd 5.00 --max-steps 50 --max-wall-clock 30m
  warden budgets set --agent support-triage-1 --daily-usd 20 --rate-limit zendesk.update_ticket=10/1m --rate-limit '*=100/1h'
  warden budgets set --workflow refunds --daily-usd 100 --daily-tokens 2000000 --json`,
    )
    .action(async (options: SetOptions) => {
      const setting = budgetSettingFrom(options);
      const result = await callGovernorAdmin(options, 'budget-set', setting);
      if (options.json) {
        printJson(result);
        return;
      }
      process.stdout.write(describeSet(setting, result.changed));
      printBudgets(result.budgets);
    });

  withAdminOptions(budgets.command('show'))
    .description(
      "show the configured budgets and, for a named agent or workflow, its day's spend in USD",
    )
    .option('--agent <id>', "also show this agent's spend for the day", parseScopeId)
    .option('--workflow <id>', "also show this workflow's spend for the day", parseScopeId)
    .option(
      '--day <YYYY-MM-DD>',
      "the day of the spend (default: today, by the governor's day boundary)",
      parseDay,
    )
    .addHelpText(
      'after',
      `
Examples:
  warden budgets show
  warden budgets show --agent support-triage-1
  warden budgets show --workflow refunds --day 2025-01-31 --json`,
    )
    .action(async (options: ShowOptions) => {
      const result = await callGovernorAdmin(
        options,
        'budget-show',
        budgetShowRequestFrom(options),
      );
      if (options.json) {
        printJson(result);
        return;
      }
      printBudgets(result.budgets);
      if (options.agent === undefined && options.workflow === undefined) return;
      if (result.spend.length === 0) {
        process.stdout.write(
          `\nno spend recorded for ${namedScopes(options)}${options.day === undefined ? ' today' : ` on ${options.day}`}\n`,
        );
      } else {
        process.stdout.write('\nSpend\n');
        printTable(SPEND_COLUMNS, spendRows(result.spend));
      }
    });

  return budgets;
}

/** A `--rate-limit` flag: one tool's rule. */
export interface RateLimitFlag extends RateLimit {
  readonly tool: string;
}

/** The flags of `budgets set` that decide the request. */
export interface BudgetSetFlags {
  run?: boolean;
  agent?: string;
  workflow?: string;
  budgetUsd?: number;
  maxSteps?: number;
  maxTokens?: number;
  /** In seconds. */
  maxWallClock?: number;
  dailyUsd?: number;
  dailyTokens?: number;
  rateLimit?: RateLimitFlag[];
}

type SetOptions = AdminOptions & BudgetSetFlags;

/** The flags of `budgets show`. */
export interface BudgetShowFlags {
  agent?: string;
  workflow?: string;
  day?: string;
}

type ShowOptions = AdminOptions & BudgetShowFlags;

type Scope = BudgetSetting['scope'];

const SCOPE_FLAG: Record<Scope, string> = {
  run: '--run',
  agent: '--agent <id>',
  workflow: '--workflow <id>',
};

type LimitFlag = Exclude<keyof BudgetSetFlags, Scope>;

/** Each limit flag, and the scopes it applies to. */
const LIMIT_FLAGS: Record<LimitFlag, { flag: string; scopes: readonly Scope[] }> = {
  budgetUsd: { flag: '--budget-usd', scopes: ['run'] },
  maxSteps: { flag: '--max-steps', scopes: ['run'] },
  maxTokens: { flag: '--max-tokens', scopes: ['run'] },
  maxWallClock: { flag: '--max-wall-clock', scopes: ['run'] },
  dailyUsd: { flag: '--daily-usd', scopes: ['agent', 'workflow'] },
  dailyTokens: { flag: '--daily-tokens', scopes: ['agent', 'workflow'] },
  rateLimit: { flag: '--rate-limit', scopes: ['agent'] },
};

/**
 * The `budget-set` request for the flags: exactly one scope, and only the limits that scope has.
 * Limits not given are left out of the request, which is what makes them unlimited.
 *
 * @throws CliError when no scope or several are named, or a limit does not apply to the scope.
 */
export function budgetSettingFrom(flags: BudgetSetFlags): BudgetSetting {
  const named = (['run', 'agent', 'workflow'] as const).filter(
    (scope) => flags[scope] !== undefined && flags[scope] !== false,
  );
  const [scope] = named;
  if (scope === undefined) {
    throw new CliError(
      'name the scope to set: --run, --agent <id> or --workflow <id>',
      'e.g. `warden budgets set --agent support-triage-1 --daily-usd 20`; see `warden budgets set --help`.',
    );
  }
  if (named.length > 1) {
    throw new CliError(
      `${named.map((other) => SCOPE_FLAG[other].split(' ')[0]).join(' and ')} name different scopes: set one scope per command`,
      'Run `warden budgets set` once for each scope.',
    );
  }
  for (const [key, { flag, scopes }] of Object.entries(LIMIT_FLAGS)) {
    if (flags[key as LimitFlag] !== undefined && !scopes.includes(scope)) {
      throw new CliError(
        `${flag} does not apply to ${SCOPE_FLAG[scope]}`,
        `${SCOPE_FLAG[scope]} takes ${acceptedFlags(scope)}; see \`warden budgets set --help\`.`,
      );
    }
  }
  const set = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
    value === undefined ? {} : ({ [key]: value } as Record<K, V>);
  switch (scope) {
    case 'run':
      return {
        scope,
        ...set('budget_micro_usd', flags.budgetUsd),
        ...set('max_steps', flags.maxSteps),
        ...set('max_tokens', flags.maxTokens),
        ...set('max_wall_clock_seconds', flags.maxWallClock),
      };
    case 'agent':
      return {
        scope,
        agent_id: flags.agent ?? '',
        ...set('budget_micro_usd', flags.dailyUsd),
        ...set('max_tokens', flags.dailyTokens),
        ...set('rate_limits', rateLimitsFrom(flags.rateLimit)),
      };
    case 'workflow':
      return {
        scope,
        workflow: flags.workflow ?? '',
        ...set('budget_micro_usd', flags.dailyUsd),
        ...set('max_tokens', flags.dailyTokens),
      };
  }
}

function acceptedFlags(scope: Scope): string {
  return Object.values(LIMIT_FLAGS)
    .filter(({ scopes }) => scopes.includes(scope))
    .map(({ flag }) => flag)
    .join(', ');
}

/** The rate limits by tool; a tool named twice is refused rather than one rule silently winning. */
function rateLimitsFrom(
  flags: readonly RateLimitFlag[] | undefined,
): Record<string, RateLimit> | undefined {
  if (flags === undefined) return undefined;
  const limits: Record<string, RateLimit> = {};
  for (const { tool, calls, window_ms } of flags) {
    if (tool in limits) {
      throw new CliError(
        `--rate-limit names ${tool} twice`,
        'Give one rule per tool (the window is a sliding one: e.g. 10/1m, or 500/1h).',
      );
    }
    limits[tool] = { calls, window_ms };
  }
  return limits;
}

/**
 * The `budget-show` request for the flags.
 *
 * @throws CliError for --day without an agent or workflow (the day only selects spend).
 */
export function budgetShowRequestFrom(flags: BudgetShowFlags): z.input<typeof BudgetShowRequest> {
  if (flags.day !== undefined && flags.agent === undefined && flags.workflow === undefined) {
    throw new CliError(
      '--day selects the spend of an agent or workflow: name one',
      'e.g. `warden budgets show --agent support-triage-1 --day 2025-01-31`.',
    );
  }
  return {
    ...(flags.agent === undefined ? {} : { agent_id: flags.agent }),
    ...(flags.workflow === undefined ? {} : { workflow: flags.workflow }),
    ...(flags.day === undefined ? {} : { day: flags.day }),
  };
}

function namedScopes(flags: BudgetShowFlags): string {
  return [
    ...(flags.agent === undefined ? [] : [`agent ${flags.agent}`]),
    ...(flags.workflow === undefined ? [] : [`workflow ${flags.workflow}`]),
  ].join(' or ');
}

/** One line after `budgets set`: what was set, or that it was already so. */
export function describeSet(setting: BudgetSetting, changed: boolean): string {
  const scope =
    setting.scope === 'run'
      ? 'the run limits'
      : setting.scope === 'agent'
        ? `the budget of agent ${setting.agent_id}`
        : `the budget of workflow ${setting.workflow}`;
  return changed ? `set ${scope}\n\n` : `unchanged: ${scope} already had exactly these limits\n\n`;
}

/** The columns of the run limits table. */
export const RUN_COLUMNS = [
  'budget_usd',
  'max_steps',
  'max_tokens',
  'max_wall_clock',
  'set_by',
  'set_at',
];
/** The columns of the agents' budgets table. */
export const AGENT_COLUMNS = [
  'agent_id',
  'daily_usd',
  'daily_tokens',
  'rate_limits',
  'set_by',
  'set_at',
];
/** The columns of the workflows' budgets table. */
export const WORKFLOW_COLUMNS = ['workflow', 'daily_usd', 'daily_tokens', 'set_by', 'set_at'];
/** The columns of the spend table. */
export const SPEND_COLUMNS = [
  'scope',
  'id',
  'day',
  'limit_usd',
  'booked_usd',
  'reserved_usd',
  'remaining_usd',
  'tokens',
  'resets_at',
];

// A run limit left unset still has the governor's environment and the agent's default budget
// underneath, so it is "not set" rather than "unlimited".
const NOT_SET = 'not set';
const UNLIMITED = 'unlimited';

/** Prints the configured budgets: the run limits, then the agents' and the workflows' tables. */
export function printBudgets(budgets: ConfiguredBudgets): void {
  process.stdout.write('Run limits (every run)\n');
  printTable(RUN_COLUMNS, [runRow(budgets.run)]);
  process.stdout.write('\nAgents (per day)\n');
  if (budgets.agents.length === 0) process.stdout.write('  no agent budgets set\n');
  else printTable(AGENT_COLUMNS, agentRows(budgets.agents));
  process.stdout.write('\nWorkflows (per day)\n');
  if (budgets.workflows.length === 0) process.stdout.write('  no workflow budgets set\n');
  else printTable(WORKFLOW_COLUMNS, workflowRows(budgets.workflows));
}

/** The run limits as one row: USD as decimals, the wall clock as a duration. */
export function runRow(run: ConfiguredBudgets['run']): Record<string, unknown> {
  return {
    budget_usd: run.budget_micro_usd === undefined ? NOT_SET : formatUsd(run.budget_micro_usd),
    max_steps: run.max_steps ?? NOT_SET,
    max_tokens: run.max_tokens ?? NOT_SET,
    max_wall_clock:
      run.max_wall_clock_seconds === undefined
        ? NOT_SET
        : formatDuration(run.max_wall_clock_seconds * 1000),
    set_by: run.set_by,
    set_at: run.set_at,
  };
}

/** The agents' budgets, their rate limits written as `--rate-limit` takes them. */
export function agentRows(agents: ConfiguredBudgets['agents']): Record<string, unknown>[] {
  return agents.map((agent) => ({
    agent_id: agent.agent_id,
    ...dailyCells(agent),
    rate_limits: formatRateLimits(agent.rate_limits ?? {}),
    set_by: agent.set_by,
    set_at: agent.set_at,
  }));
}

/** The workflows' budgets. */
export function workflowRows(workflows: ConfiguredBudgets['workflows']): Record<string, unknown>[] {
  return workflows.map((workflow) => ({
    workflow: workflow.workflow,
    ...dailyCells(workflow),
    set_by: workflow.set_by,
    set_at: workflow.set_at,
  }));
}

function dailyCells(limits: { budget_micro_usd?: number; max_tokens?: number }): {
  daily_usd: string;
  daily_tokens: number | string;
} {
  return {
    daily_usd:
      limits.budget_micro_usd === undefined ? UNLIMITED : formatUsd(limits.budget_micro_usd),
    daily_tokens: limits.max_tokens ?? UNLIMITED,
  };
}

/** `tool=calls/window, …` by tool name, `*` last: the form `--rate-limit` takes. */
export function formatRateLimits(limits: Readonly<Record<string, RateLimit>>): string {
  const entries = Object.entries(limits).sort(([a], [b]) =>
    a === '*' ? 1 : b === '*' ? -1 : a.localeCompare(b),
  );
  if (entries.length === 0) return 'none';
  return entries
    .map(([tool, { calls, window_ms }]) => `${tool}=${calls}/${formatDuration(window_ms)}`)
    .join(', ');
}

/** The day's spend per account, in USD; tokens as `booked of limit`. */
export function spendRows(spend: readonly DailySpend[]): Record<string, unknown>[] {
  return spend.map((account) => ({
    scope: account.scope,
    id: account.id,
    day: account.day,
    limit_usd:
      account.limit_micro_usd === undefined ? UNLIMITED : formatUsd(account.limit_micro_usd),
    booked_usd: formatUsd(account.booked_micro_usd),
    reserved_usd: formatUsd(account.reserved_micro_usd),
    remaining_usd:
      account.remaining_micro_usd === undefined
        ? UNLIMITED
        : formatUsd(account.remaining_micro_usd),
    tokens:
      account.limit_tokens === undefined
        ? String(account.booked_tokens)
        : `${account.booked_tokens} of ${account.limit_tokens}`,
    resets_at: account.resets_at,
  }));
}

/** A positive whole number up to `max`, for count options. */
export function parseCount(max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const text = value.trim();
    const count = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(count) || count < 1 || count > max) {
      throw new InvalidArgumentError(`must be a whole number from 1 to ${max}`);
    }
    return count;
  };
}

/** `--max-wall-clock`: a duration in whole seconds (the contract's unit). */
export function parseWallClockSeconds(value: string): number {
  const ms = parseDurationMs(value);
  if (ms % 1000 !== 0) throw new InvalidArgumentError('must be whole seconds, e.g. 90s or 30m');
  return ms / 1000;
}

/**
 * `--rate-limit <tool>=<calls>/<window>`, e.g. `zendesk.update_ticket=10/1m` or `*=100/1h`.
 *
 * @throws InvalidArgumentError naming the part that is wrong.
 */
export function parseRateLimit(value: string): RateLimitFlag {
  const match = /^([^=\s]+)=([^/\s]+)\/(\S+)$/.exec(value.trim());
  if (match === null) {
    throw new InvalidArgumentError(
      "must be <tool>=<calls>/<window>, e.g. zendesk.update_ticket=10/1m or '*=100/1h'",
    );
  }
  const [, tool = '', callsText = '', windowText = ''] = match;
  if (!RateLimitTool.safeParse(tool).success) {
    throw new InvalidArgumentError(
      `names ${JSON.stringify(tool)}: give a tool name like zendesk.update_ticket, or * for every tool without a rule of its own`,
    );
  }
  let calls: number;
  try {
    calls = parseCount(MAX_RATE_LIMIT_CALLS)(callsText);
  } catch (error) {
    throw new InvalidArgumentError(`calls ${JSON.stringify(callsText)} ${message(error)}`);
  }
  let windowMs: number;
  try {
    windowMs = parseDurationMs(windowText);
  } catch (error) {
    throw new InvalidArgumentError(`window ${JSON.stringify(windowText)} ${message(error)}`);
  }
  if (windowMs > MAX_WINDOW_MS) {
    throw new InvalidArgumentError(`window ${JSON.stringify(windowText)} is longer than 24h`);
  }
  return { tool, calls, window_ms: windowMs };
}

/** Commander's accumulator for the repeatable `--rate-limit`. */
function collectRateLimit(value: string, previous: RateLimitFlag[] | undefined): RateLimitFlag[] {
  return [...(previous ?? []), parseRateLimit(value)];
}

/** `--day`: a real calendar day as `YYYY-MM-DD`. */
export function parseDay(value: string): string {
  const text = value.trim();
  const date = new Date(`${text}T00:00:00.000Z`);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(text) ||
    Number.isNaN(date.getTime()) ||
    date.toISOString().slice(0, 10) !== text
  ) {
    throw new InvalidArgumentError('must be a day as YYYY-MM-DD, e.g. 2025-01-31');
  }
  return text;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
