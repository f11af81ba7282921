import {
  canonicalJson,
  type AgentBudgetLimits,
  type BudgetSetting,
  type ConfiguredBudgets,
  type DailyBudgetLimits,
  type RateLimit,
  type RunBudgetLimits,
} from '@warden/contracts';
import {
  isPaused,
  newPauseBoard,
  pause,
  resume,
  type PauseBoard,
  type PauseCommand,
  type PauseEntry,
  type PauseScope,
} from './guards/index.js';
import {
  accountLimitOf,
  dailyLimitsOf,
  type AccountLimit,
  type ScopeLimits,
} from './ledger/index.js';

/**
 * What operators and upstreams have set that every reservation reads (one KV value, `controls`
 * in the `budgets` bucket, so checking an intent is one read): the configured budgets, the kill
 * switch, and the tools whose circuit breaker is open.
 *
 * Every change is applied only when it is newer than the one it replaces (by time, then event
 * id), so the API that makes a change and the projection that replays its event from the log can
 * both apply it, in either order, any number of times.
 */
export interface GovernorControls {
  readonly run?: Configured<RunBudgetLimits>;
  readonly agents: Readonly<Record<string, Configured<AgentBudgetLimits>>>;
  readonly workflows: Readonly<Record<string, Configured<DailyBudgetLimits>>>;
  readonly pauses: PauseBoard;
  /** Tools whose upstream's breaker is open, by tool name. */
  readonly degraded: Readonly<Record<string, DegradedTool>>;
  /** Breakers closed since, kept so that a stale `breaker.opened` cannot reopen them. */
  readonly recovered?: Readonly<Record<string, Stamp>>;
}

/** When a change was made and by which event: the order changes are applied in. */
export interface Stamp {
  /** RFC 3339 UTC with µs (fixed width: strings compare in time order). */
  readonly at: string;
  readonly event_id: string;
}

/** A scope's limits as configured, with who set them. */
export type Configured<L> = L & Stamp & { readonly by: string };

/** A tool whose breaker is open. */
export interface DegradedTool extends Stamp {
  readonly reason?: string;
  /**
   * When the executor lets one call through to probe the upstream (RFC 3339): from then on the
   * tool's calls are no longer refused here, or no probe could ever close the breaker.
   */
  readonly probe_after?: string;
}

/** A change as an event (or the API about to publish it) states it. */
export interface ChangeStamp extends Stamp {
  readonly by: string;
}

/** Nothing configured, nothing paused. */
export function newControls(): GovernorControls {
  return { agents: {}, workflows: {}, pauses: newPauseBoard(), degraded: {} };
}

/**
 * Sets one scope's limits (the whole set: a limit left out is no longer limited). `undefined` when
 * the change is not newer than the scope's current setting, or changes nothing.
 */
export function configureBudget(
  controls: GovernorControls,
  setting: BudgetSetting,
  stamp: ChangeStamp,
): GovernorControls | undefined {
  const { scope, ...rest } = setting;
  switch (scope) {
    case 'run': {
      const next = replaced(controls.run, { ...rest }, stamp);
      return next === undefined ? undefined : { ...controls, run: next };
    }
    case 'agent': {
      const { agent_id: id, ...limits } = rest as Omit<
        typeof setting & { scope: 'agent' },
        'scope'
      >;
      const next = replaced(own(controls.agents, id), limits, stamp);
      return next === undefined
        ? undefined
        : { ...controls, agents: { ...controls.agents, [id]: next } };
    }
    case 'workflow': {
      const { workflow: id, ...limits } = rest as Omit<
        typeof setting & { scope: 'workflow' },
        'scope'
      >;
      const next = replaced(own(controls.workflows, id), limits, stamp);
      return next === undefined
        ? undefined
        : { ...controls, workflows: { ...controls.workflows, [id]: next } };
    }
  }
}

/** Pauses an agent or a workflow (see guards/pause.ts for the ordering rules). */
export function pauseScope(
  controls: GovernorControls,
  scope: PauseScope,
  stamp: ChangeStamp,
  reason: string | undefined,
): GovernorControls | undefined {
  const pauses = pause(controls.pauses, commandOf(scope, stamp, reason));
  return pauses === undefined ? undefined : { ...controls, pauses };
}

/** Resumes a paused agent or workflow. */
export function resumeScope(
  controls: GovernorControls,
  scope: PauseScope,
  stamp: ChangeStamp,
  reason: string | undefined,
): GovernorControls | undefined {
  const pauses = resume(controls.pauses, commandOf(scope, stamp, reason));
  return pauses === undefined ? undefined : { ...controls, pauses };
}

/**
 * A tool's breaker opened: its calls are refused `upstream_degraded` until it closes, or until
 * its probe time. Opened again (a failed probe): the later opening replaces the earlier one.
 */
export function openBreaker(
  controls: GovernorControls,
  tool: string,
  stamp: Stamp,
  opening: { reason?: string | undefined; probeAfter?: string | undefined },
): GovernorControls | undefined {
  const current = own(controls.degraded, tool);
  if (current !== undefined && !isNewer(stamp, current)) return undefined;
  const closed = own(controls.recovered ?? {}, tool);
  if (closed !== undefined && !isNewer(stamp, closed)) return undefined;
  const { [tool]: _closed, ...recovered } = controls.recovered ?? {};
  return {
    ...controls,
    degraded: {
      ...controls.degraded,
      [tool]: {
        at: stamp.at,
        event_id: stamp.event_id,
        ...(opening.reason === undefined ? {} : { reason: opening.reason }),
        ...(opening.probeAfter === undefined ? {} : { probe_after: opening.probeAfter }),
      },
    },
    recovered,
  };
}

/** A tool's breaker closed: its calls go through again. */
export function closeBreaker(
  controls: GovernorControls,
  tool: string,
  stamp: Stamp,
): GovernorControls | undefined {
  const current = own(controls.degraded, tool);
  if (current === undefined || !isNewer(stamp, current)) return undefined;
  const { [tool]: _open, ...degraded } = controls.degraded;
  return {
    ...controls,
    degraded,
    recovered: { ...controls.recovered, [tool]: { at: stamp.at, event_id: stamp.event_id } },
  };
}

/** Why an intent may not go on, before any budget is looked at. */
export type Gate =
  | { readonly kind: 'open' }
  | {
      readonly kind: 'paused';
      readonly scope: PauseScope;
      readonly entry: PauseEntry;
    }
  | { readonly kind: 'upstream_degraded'; readonly tool: string; readonly since: DegradedTool };

/**
 * Whether the intent's agent or workflow is paused, or its tool's upstream degraded at `at`
 * (epoch ms, the decision's time: the same intent gets the same answer on a redelivery).
 */
export function gateFor(
  controls: GovernorControls,
  subject: { agentId: string; workflow?: string | undefined; tool: string },
  at: number,
): Gate {
  const paused = isPaused(controls.pauses, subject);
  if (paused.paused) return { kind: 'paused', scope: paused.scope, entry: paused.entry };
  const degraded = own(controls.degraded, subject.tool);
  const probing = degraded?.probe_after !== undefined && at >= Date.parse(degraded.probe_after);
  if (degraded !== undefined && !probing) {
    return { kind: 'upstream_degraded', tool: subject.tool, since: degraded };
  }
  return { kind: 'open' };
}

/** The daily account limit of an agent or workflow; `undefined`: no daily budget. */
export function dailyLimitOf(
  controls: GovernorControls,
  scope: 'agent' | 'workflow',
  id: string,
): AccountLimit | undefined {
  const configured = own(scope === 'agent' ? controls.agents : controls.workflows, id);
  if (configured === undefined) return undefined;
  const limit = accountLimitOf(dailyLimitsOf(configured));
  return limit.micro_usd === undefined && limit.tokens === undefined ? undefined : limit;
}

/** The rate limit of an agent's calls of `tool`: its own rule, else the agent's `*` rule. */
export function rateLimitOf(
  controls: GovernorControls,
  agentId: string,
  tool: string,
): RateLimit | undefined {
  const rules = own(controls.agents, agentId)?.rate_limits;
  if (rules === undefined) return undefined;
  return own(rules, tool) ?? own(rules, '*');
}

/** The run limits the governor's environment sets (`GOVERNOR_MAX_STEPS`, `GOVERNOR_RUN_BUDGET_USD`). */
export interface RunDefaults {
  readonly max_steps: number;
  readonly budget_micro_usd?: number | undefined;
}

/**
 * The limits every run of an agent gets before it declares its own, per field: the operator's
 * (`warden budgets set --run`), else for money the agent's registered default budget, else the
 * environment's.
 */
export function configuredRunLimits(
  controls: GovernorControls,
  defaults: RunDefaults,
  agentDefaultMicroUsd: number | undefined,
): ScopeLimits {
  const run = controls.run;
  const budget = run?.budget_micro_usd ?? agentDefaultMicroUsd ?? defaults.budget_micro_usd;
  const wallClock = run?.max_wall_clock_seconds;
  return {
    max_steps: run?.max_steps ?? defaults.max_steps,
    ...(budget === undefined ? {} : { budget_micro_usd: budget }),
    ...(run?.max_tokens === undefined ? {} : { max_tokens: run.max_tokens }),
    ...(wallClock === undefined ? {} : { max_duration_ms: wallClock * 1000 }),
  };
}

/** The configured budgets as the API shows them. */
export function configuredView(controls: GovernorControls): ConfiguredBudgets {
  const strip = <L extends object>({ at, event_id: _id, by, ...limits }: Configured<L>) => ({
    ...limits,
    set_by: by,
    set_at: at,
  });
  return {
    run: controls.run === undefined ? {} : strip(controls.run),
    agents: Object.entries(controls.agents)
      .map(([agent_id, configured]) => ({ agent_id, ...strip(configured) }))
      .sort((a, b) => a.agent_id.localeCompare(b.agent_id)),
    workflows: Object.entries(controls.workflows)
      .map(([workflow, configured]) => ({ workflow, ...strip(configured) }))
      .sort((a, b) => a.workflow.localeCompare(b.workflow)),
  };
}

function replaced<L extends object>(
  current: Configured<L> | undefined,
  limits: L,
  stamp: ChangeStamp,
): Configured<L> | undefined {
  if (current !== undefined && !isNewer(stamp, current)) return undefined;
  const next = { ...limits, at: stamp.at, event_id: stamp.event_id, by: stamp.by };
  if (current !== undefined && sameLimits(current, next)) return undefined;
  return next;
}

/** Whether two settings set the same limits (who and when aside). */
function sameLimits(a: Stamp & { by: string }, b: Stamp & { by: string }): boolean {
  const limitsOf = ({ at: _at, event_id: _id, by: _by, ...limits }: Stamp & { by: string }) =>
    canonicalJson(limits);
  return limitsOf(a) === limitsOf(b);
}

function commandOf(
  scope: PauseScope,
  stamp: ChangeStamp,
  reason: string | undefined,
): PauseCommand {
  return { scope, by: stamp.by, at: stamp.at, eventId: stamp.event_id, reason };
}

function isNewer(stamp: Stamp, current: Stamp): boolean {
  if (stamp.at !== current.at) return stamp.at > current.at;
  return stamp.event_id > current.event_id;
}

function own<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  // Own keys only: an agent named `constructor` must not find Object.prototype's.
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
