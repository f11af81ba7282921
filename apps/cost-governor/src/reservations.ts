import {
  configuredRunLimits,
  dailyLimitOf,
  gateFor,
  rateLimitOf,
  type GovernorControls,
  type RunDefaults,
} from './domain/controls.js';
import {
  accountLimitOf,
  agentDayKey,
  DEFAULT_LEDGER_OPTIONS,
  reconcile,
  reserveAcross,
  settle,
  workflowDayKey,
  type AccountKey,
  type AccountLimit,
  type DayBoundary,
  type MultiReserveResult,
  type ScopeLimits,
} from './domain/ledger/index.js';
import type { LoopLimits } from './domain/guards/index.js';
import {
  routeAndReserve,
  settleModelCall,
  unrouteModelCall,
  type ModelRequest,
  type ModelVerdict,
  type UsageOutcome,
} from './domain/model-call.js';
import type { RoutingTable } from './domain/routing/index.js';
import {
  refuseIntent,
  reserveIntent,
  settleIntent,
  type IntentCall,
  type IntentVerdict,
  type RunRules,
  type SettleOutcome,
} from './domain/run-budget.js';
import type { RunRecord } from './domain/step-cap.js';
import type { ControlsStore } from './infra/controls-store.js';
import type { DailyAccounts } from './infra/daily-accounts.js';
import type { RateLimits } from './infra/rate-limits.js';
import type { RunStore } from './infra/run-store.js';

/** An allowed intent to price and reserve. */
export interface IntentToReserve extends IntentCall {
  readonly runId: string;
  readonly agentId: string;
  /** The workflow the intent's envelope names; the run's own (from `run.started`) wins. */
  readonly workflow: string | undefined;
  /** When policy allowed it (epoch ms): the day its daily budgets are charged to. */
  readonly at: number;
}

/** A refusal by an agent's or workflow's daily budget. */
export interface DailyRefusal {
  readonly kind: 'daily_budget';
  readonly scope: 'agent' | 'workflow';
  readonly id: string;
  readonly remainingMicroUsd: number;
}

/** The governor's answer for one intent. */
export type ReservationAnswer =
  IntentVerdict | { readonly kind: 'rate_limited'; readonly retryAfterMs: number } | DailyRefusal;

/** The governor's answer for one model call. */
export type ModelAnswer = ModelVerdict | Extract<IntentVerdict, { kind: 'gated' }> | DailyRefusal;

/** The governor's settings that do not change while it runs. */
export interface ReservationSettings {
  readonly defaults: RunDefaults;
  readonly loop: LoopLimits;
  readonly day: DayBoundary;
}

/**
 * Step 4 of a governed call (DESIGN §2), across the stores it touches, in this order:
 *
 * 1. the controls (one read): configured budgets, paused scopes, degraded tools;
 * 2. the run, in one compare-and-set of its record (run-budget.ts): an answer already given, the
 *    kill switch and breakers, loop breaking, wall clock, step cap, the run's money;
 * 3. the agent's rate limit for the tool;
 * 4. the agent's and the workflow's daily budgets (`reserveAcross`, all or nothing).
 *
 * The run record is the intent's one answer: a refusal at 3 or 4 is written back into it
 * (`refuseIntent`) before anything is published, so a redelivery or a racing replica answers the
 * same. A call refused at 4 keeps the rate-limit slot it took at 3: it errs on the strict side.
 */
export class Reservations {
  constructor(
    private readonly runs: RunStore,
    private readonly controls: ControlsStore,
    private readonly daily: DailyAccounts,
    private readonly rates: RateLimits,
    private readonly settings: ReservationSettings,
  ) {}

  /** The limits a run of an agent with this registered default budget starts with. */
  async runLimitsFor(agentDefaultMicroUsd: number | undefined): Promise<ScopeLimits> {
    return configuredRunLimits(
      await this.controls.read(),
      this.settings.defaults,
      agentDefaultMicroUsd,
    );
  }

  async reserve(intent: IntentToReserve): Promise<ReservationAnswer> {
    const controls = await this.controls.read();
    const rules = this.rulesUnder(controls);
    let workflow = intent.workflow;
    const verdict = await this.runs.update<IntentVerdict>(
      intent.runId,
      (record) => {
        workflow = record.workflow ?? intent.workflow;
        const gate = gateFor(
          controls,
          { agentId: intent.agentId, workflow, tool: intent.tool },
          intent.at,
        );
        const decision = reserveIntent(
          withWorkflow(record, workflow),
          intent,
          intent.at,
          rules,
          gate,
        );
        return { next: decision.next, answer: decision.verdict };
      },
      rules.maxSteps,
    );
    if (verdict.kind !== 'reserved') return verdict;

    const rule = rateLimitOf(controls, intent.agentId, intent.tool);
    if (rule !== undefined) {
      const limited = await this.rates.check(
        intent.agentId,
        intent.tool,
        intent.intentId,
        intent.at,
        rule,
      );
      if (limited.kind === 'rate_limited') {
        await this.refuse(intent, 'rate_limited');
        return { kind: 'rate_limited', retryAfterMs: limited.retry_after_ms };
      }
    }

    const limits = this.dailyLimits(controls, intent.agentId, workflow, intent.at);
    if (limits.size > 0) {
      const result = await reserveAcross(
        this.daily.updater(limits),
        [...limits.keys()],
        intent.intentId,
        { micro_usd: intent.costMicroUsd },
        intent.at,
      );
      if (result.kind === 'refused') {
        await this.refuse(intent, 'daily_budget');
        return this.dailyRefusal(result, intent.agentId, workflow);
      }
    }
    return verdict;
  }

  /**
   * A model call (issue 6 §6): refused while its agent or workflow is paused; else routed and its
   * estimate reserved on the run (model-call.ts), then on the agent's and workflow's day. A
   * refusal by a daily budget gives the run's reservation back.
   */
  async routeModel(
    call: ModelRequest & {
      readonly runId: string;
      readonly agentId: string;
      readonly workflow: string | undefined;
      /** When it was requested (epoch ms): the day its daily budgets are charged to. */
      readonly at: number;
    },
    table: RoutingTable,
  ): Promise<ModelAnswer> {
    const controls = await this.controls.read();
    const rules = this.rulesUnder(controls);
    let workflow = call.workflow;
    let paused: ModelAnswer | undefined;
    const verdict = await this.runs.update<ModelVerdict | undefined>(
      call.runId,
      (record) => {
        workflow = record.workflow ?? call.workflow;
        const known = record.models?.[call.intentId];
        const gate = gateFor(controls, { agentId: call.agentId, workflow, tool: '' }, call.at);
        if (known === undefined && gate.kind === 'paused') {
          paused = { kind: 'gated', gate, halting: false };
          return { next: undefined, answer: undefined };
        }
        const decision = routeAndReserve(
          withWorkflow(record, workflow),
          call,
          table,
          call.at,
          rules.budget,
        );
        return { next: decision.next, answer: decision.verdict };
      },
      rules.maxSteps,
    );
    if (verdict === undefined) return paused as ModelAnswer;
    if (verdict.kind !== 'routed') return verdict;
    const limits = this.dailyLimits(controls, call.agentId, workflow, call.at);
    if (limits.size === 0) return verdict;
    const result = await reserveAcross(
      this.daily.updater(limits),
      [...limits.keys()],
      call.intentId,
      { micro_usd: verdict.call.estimated_micro_usd },
      call.at,
    );
    if (result.kind === 'reserved') return verdict;
    await this.runs.update(call.runId, (record) => ({
      next: unrouteModelCall(record, call.intentId, call.at),
      answer: undefined,
    }));
    return this.dailyRefusal(result, call.agentId, workflow);
  }

  /** Books a model call's usage on its run, and on the daily accounts its estimate was charged to. */
  async settleModel(
    runId: string,
    intentId: string,
    agentId: string | undefined,
    usage: { model: string; inputTokens: number; outputTokens: number },
    table: RoutingTable,
    now: number,
  ): Promise<UsageOutcome> {
    let charged: { at: number; record: RunRecord } | undefined;
    const outcome = await this.runs.update<UsageOutcome>(runId, (record) => {
      const reservation = record.budget?.open[intentId];
      charged = reservation === undefined ? undefined : { at: reservation.reserved_at, record };
      const decision = settleModelCall(record, intentId, usage, table, now);
      return { next: decision.next, answer: decision.verdict };
    });
    if (outcome.kind === 'settled' && charged !== undefined && agentId !== undefined) {
      const { at, record } = charged;
      await this.onDailyAccounts(agentId, record.workflow, at, (account) =>
        settle(account, intentId, { micro_usd: outcome.costMicroUsd }, now),
      );
    }
    return outcome;
  }

  /**
   * Books an executed (or failed) intent at its reserved price on its run and on the daily
   * accounts it was charged to; the run's answer says whether it was reserved at all.
   */
  async settle(
    runId: string,
    intentId: string,
    agentId: string | undefined,
    succeeded: boolean,
    now: number,
  ): Promise<{ outcome: SettleOutcome; runSteps: number }> {
    let charged: { at: number; cost: number; record: RunRecord } | undefined;
    const answer = await this.runs.update(runId, (record) => {
      const reservation = record.budget?.open[intentId];
      charged =
        reservation === undefined
          ? undefined
          : { at: reservation.reserved_at, cost: reservation.micro_usd, record };
      const decision = settleIntent(record, intentId, reservation?.micro_usd ?? 0, now, succeeded);
      return {
        next: decision.next,
        answer: { outcome: decision.verdict, runSteps: record.counted.length },
      };
    });
    if (answer.outcome.kind === 'settled' && charged !== undefined && agentId !== undefined) {
      const { at, cost, record } = charged;
      await this.onDailyAccounts(agentId, record.workflow, at, (account) =>
        settle(account, intentId, { micro_usd: cost }, now),
      );
    }
    return answer;
  }

  /**
   * Books a reservation whose intent never settled (its executor was lost) at its reserved price,
   * on the run and on the daily accounts: see the ledger's `reconcile` for why booking, not
   * releasing. Resolves to what the run booked, or `undefined` when it had settled meanwhile.
   */
  async reconcile(
    runId: string,
    intentId: string,
    agentId: string | undefined,
    now: number,
    timeoutMs: number,
  ): Promise<{ bookedMicroUsd: number; runCostMicroUsd: number } | undefined> {
    let due: { at: number; record: RunRecord } | undefined;
    const booked = await this.runs.update(runId, (record) => {
      const account = record.budget;
      const reservation = account?.open[intentId];
      if (account === undefined || reservation === undefined) {
        due = undefined;
        return { next: undefined, answer: undefined };
      }
      due = { at: reservation.reserved_at, record };
      const result = reconcile(account, now, timeoutMs, DEFAULT_LEDGER_OPTIONS, intentId);
      const mine = result.verdict.reconciled.some((entry) => entry.intentId === intentId);
      return {
        next: result.next === undefined ? undefined : { ...record, budget: result.next },
        answer: mine
          ? {
              bookedMicroUsd: reservation.micro_usd,
              runCostMicroUsd: result.verdict.booked.micro_usd,
            }
          : undefined,
      };
    });
    if (booked !== undefined && due !== undefined && agentId !== undefined) {
      const { at, record } = due;
      await this.onDailyAccounts(agentId, record.workflow, at, (account) =>
        reconcile(account, now, timeoutMs, DEFAULT_LEDGER_OPTIONS, intentId),
      );
    }
    return booked;
  }

  private async refuse(
    intent: IntentToReserve,
    reason: 'rate_limited' | 'daily_budget',
  ): Promise<void> {
    await this.runs.update(intent.runId, (record) => ({
      next: refuseIntent(record, intent.intentId, reason, intent.at),
      answer: undefined,
    }));
  }

  /** The rules a run gets under the controls now (for records created by an intent). */
  private rulesUnder(controls: GovernorControls): RunRules {
    const limits = configuredRunLimits(controls, this.settings.defaults, undefined);
    return {
      budget: accountLimitOf(limits),
      maxSteps: limits.max_steps ?? this.settings.defaults.max_steps,
      loop: this.settings.loop,
    };
  }

  private dailyRefusal(
    result: Extract<MultiReserveResult, { kind: 'refused' }>,
    agentId: string,
    workflow: string | undefined,
  ): DailyRefusal {
    const scope = result.key.startsWith('agent.') ? 'agent' : 'workflow';
    return {
      kind: 'daily_budget',
      scope,
      id: scope === 'agent' ? agentId : (workflow ?? ''),
      remainingMicroUsd:
        result.verdict.kind === 'exceeded' ? (result.verdict.remaining.micro_usd ?? 0) : 0,
    };
  }

  /** The daily accounts an intent at `at` is charged to, with their limits now. */
  private dailyLimits(
    controls: GovernorControls,
    agentId: string,
    workflow: string | undefined,
    at: number,
  ): Map<AccountKey, AccountLimit> {
    const limits = new Map<AccountKey, AccountLimit>();
    const agentLimit = dailyLimitOf(controls, 'agent', agentId);
    if (agentLimit !== undefined)
      limits.set(agentDayKey(agentId, at, this.settings.day), agentLimit);
    if (workflow !== undefined) {
      const workflowLimit = dailyLimitOf(controls, 'workflow', workflow);
      if (workflowLimit !== undefined) {
        limits.set(workflowDayKey(workflow, at, this.settings.day), workflowLimit);
      }
    }
    return limits;
  }

  /**
   * Applies `change` to the agent's and workflow's accounts of the day containing `at`, where
   * they exist (a scope without a daily budget that day has none, and gets none).
   */
  private async onDailyAccounts(
    agentId: string,
    workflow: string | undefined,
    at: number,
    change: Parameters<DailyAccounts['change']>[1],
  ): Promise<void> {
    const keys = [agentDayKey(agentId, at, this.settings.day)];
    if (workflow !== undefined) keys.push(workflowDayKey(workflow, at, this.settings.day));
    for (const key of keys) await this.daily.change(key, change);
  }
}

/**
 * The record with the workflow its intents name, when `run.started` has not set one: whatever
 * the intent is charged to here, its settlement finds in the record later.
 */
function withWorkflow(record: RunRecord, workflow: string | undefined): RunRecord {
  return workflow === undefined || record.workflow !== undefined ? record : { ...record, workflow };
}
