import type { DataOf } from '@warden/contracts';
import type { Gate } from './controls.js';
import {
  accountLimitOf,
  DEFAULT_LEDGER_OPTIONS,
  effectiveLimits,
  newAccount,
  refusalOf,
  release,
  remainingOf,
  reserve,
  setLimit,
  settle,
  type AccountLimit,
  type BudgetAccount,
  type ClampedLimit,
  type ScopeLimits,
} from './ledger/index.js';
import {
  countCall,
  newLoopState,
  recordWriteSucceeded,
  type LoopHalt,
  type LoopLimits,
} from './guards/index.js';
import { reserveStep, type RunRecord } from './step-cap.js';

/** The governor's answer for one allowed intent of a run. */
export type IntentVerdict =
  | {
      readonly kind: 'reserved';
      readonly runSteps: number;
      readonly maxSteps: number;
      readonly reservedMicroUsd: number;
      /** What the run may still reserve; absent when its budget is unlimited. */
      readonly remainingMicroUsd?: number;
    }
  | { readonly kind: 'step_cap'; readonly maxSteps: number }
  | {
      readonly kind: 'run_budget';
      readonly costMicroUsd: number;
      readonly remainingMicroUsd: number;
    }
  /** The run is halted as a loop; `halting`: this intent tripped it (publish `run.halted`). */
  | { readonly kind: 'loop'; readonly halt: LoopHalt; readonly halting: boolean }
  /**
   * The agent or workflow is paused, or the tool's upstream degraded; `halting`: the first intent
   * of this run to meet this pause or open breaker (publish `run.halted`).
   */
  | {
      readonly kind: 'gated';
      readonly gate: Exclude<Gate, { kind: 'open' }>;
      readonly halting: boolean;
    }
  /** The run has used its wall-clock time. */
  | { readonly kind: 'expired'; readonly deadline: number }
  /** Refused before (`paused`, `rate_limited`, `daily_budget`, …): the same answer again. */
  | { readonly kind: 'refused'; readonly reason: RefusalReason };

/** The reasons the governor refuses an intent for (`intent.resolved{denied, stage: budget}`). */
export type RefusalReason =
  'paused' | 'upstream_degraded' | 'run_budget' | 'daily_budget' | 'rate_limited';

/** An allowed intent as the run's rules see it. */
export interface IntentCall {
  readonly intentId: string;
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly costMicroUsd: number;
  /** A write tool (the decision's `risk.write`): its success is progress for loop breaking. */
  readonly write: boolean;
}

/** The operator's settings every run's rules apply. */
export interface RunRules {
  /** The run budget when the record has no account yet (`warden budgets set --run`, else the env). */
  readonly budget: AccountLimit;
  /** The step cap when the record is new. */
  readonly maxSteps: number;
  readonly loop: LoopLimits;
}

/** A new record (or `undefined`: unchanged) and the answer: one compare-and-set round. */
export interface RunDecision<V> {
  readonly next: RunRecord | undefined;
  readonly verdict: V;
}

/**
 * Decides one allowed intent against its run: the kill switch and breakers (`gate`), loop
 * breaking, the wall clock, the step cap, then the run's money budget, in one record, so the
 * answer is written together with the counts and is the same for every copy of the intent (a
 * redelivery, a second replica racing it). In this order:
 *
 * 1. an intent already counted keeps its `reserved` answer, even after a later halt;
 * 2. one refused before stays refused for the same reason (it is marked released in the
 *    account, with the reason), whatever has been resumed or freed since;
 * 3. a run halted as a loop refuses everything; the intent that tripped it is told so again;
 * 4. a paused agent or workflow, or the tool's open breaker, refuses the intent; the first such
 *    intent of each pause (or breaker opening) halts the run (`halting`);
 * 5. the wall clock;
 * 6. the step cap;
 * 7. the loop rules (issue 6 §4: the fourth identical call halts the run);
 * 8. the money: a step, and the call in the loop state, are counted only when the money is
 *    reserved too, so a call denied for budget uses up neither.
 */
export function reserveIntent(
  record: RunRecord,
  call: IntentCall,
  now: number,
  rules: RunRules,
  gate: Gate = { kind: 'open' },
): RunDecision<IntentVerdict> {
  const { intentId, costMicroUsd } = call;
  const account = record.budget ?? newAccount(rules.budget);
  const position = record.counted.indexOf(intentId);
  if (position >= 0) {
    const held = account.open[intentId];
    return {
      next: undefined,
      verdict: reserved(position + 1, record.max_steps, held?.micro_usd ?? costMicroUsd, account),
    };
  }
  if (account.closed.some((entry) => entry.id === intentId)) {
    const reason = refusalOf(account, intentId);
    return {
      next: undefined,
      verdict:
        reason === undefined || reason === 'run_budget'
          ? runBudget(costMicroUsd, account)
          : { kind: 'refused', reason: reason as RefusalReason },
    };
  }
  const loopState = record.loop ?? newLoopState();
  const halted = loopState.halted;
  if (halted !== undefined) {
    return {
      next: undefined,
      verdict: { kind: 'loop', halt: halted, halting: halted.intent_id === intentId },
    };
  }
  if (gate.kind !== 'open') {
    // Recorded as refused, so that a redelivery after the resume gets this answer again.
    const haltedBy = gate.kind === 'paused' ? gate.entry.event_id : gate.since.event_id;
    const halting = record.halts?.[gate.kind] !== haltedBy;
    const marked = release(account, intentId, now, DEFAULT_LEDGER_OPTIONS, gate.kind).next;
    return {
      next: {
        ...record,
        budget: marked ?? account,
        ...(halting ? { halts: { ...record.halts, [gate.kind]: haltedBy } } : {}),
      },
      verdict: { kind: 'gated', gate, halting },
    };
  }
  if (record.deadline !== undefined && now > record.deadline) {
    return { next: undefined, verdict: { kind: 'expired', deadline: record.deadline } };
  }
  const step = reserveStep(record, intentId);
  if (step.verdict.kind === 'step_cap') return { next: undefined, verdict: step.verdict };
  const loop = countCall(loopState, call, rules.loop);
  if (loop.verdict.kind === 'loop') {
    return {
      next: loop.next === undefined ? undefined : { ...record, loop: loop.next },
      verdict: loop.verdict,
    };
  }
  const money = reserve(account, intentId, { micro_usd: costMicroUsd }, now);
  switch (money.verdict.kind) {
    case 'reserved':
    case 'already_reserved': {
      const budget = money.next ?? account;
      const counted = step.next?.counted ?? record.counted;
      const writes = call.write ? [...(record.writes ?? []), intentId] : record.writes;
      return {
        next: {
          ...record,
          counted,
          budget,
          loop: loop.next ?? loopState,
          ...(writes === undefined ? {} : { writes }),
        },
        verdict: reserved(counted.length, record.max_steps, costMicroUsd, budget),
      };
    }
    case 'exceeded':
    case 'already_closed': {
      // Marked released: the intent's answer is final, whatever is freed later.
      const marked = release(account, intentId, now, DEFAULT_LEDGER_OPTIONS, 'run_budget').next;
      return {
        next: marked === undefined ? undefined : { ...record, budget: marked },
        verdict: runBudget(costMicroUsd, account),
      };
    }
  }
}

function runBudget(costMicroUsd: number, account: BudgetAccount): IntentVerdict {
  return {
    kind: 'run_budget',
    costMicroUsd,
    remainingMicroUsd: remainingOf(account).micro_usd ?? 0,
  };
}

/**
 * Undoes the reservation of an intent the run admitted but a later check refused (its agent's
 * rate limit, a daily budget): the step is no longer counted, the money is freed, and the refusal
 * is recorded as the intent's answer for later deliveries. The loop rules keep the call: an agent
 * that keeps repeating a refused call is looping too. `undefined` when the intent is not counted
 * (refused already).
 */
export function refuseIntent(
  record: RunRecord,
  intentId: string,
  reason: RefusalReason,
  now: number,
): RunRecord | undefined {
  if (!record.counted.includes(intentId) || record.budget === undefined) return undefined;
  const released = release(record.budget, intentId, now, DEFAULT_LEDGER_OPTIONS, reason).next;
  return {
    ...record,
    counted: record.counted.filter((id) => id !== intentId),
    budget: released ?? record.budget,
    ...(record.writes === undefined
      ? {}
      : { writes: record.writes.filter((id) => id !== intentId) }),
  };
}

/**
 * Sets the run's limits when it starts: the configured ones (operator, agent registration, env),
 * tightened by what the run declared (`run.started` `limits`), never loosened. The money and token
 * limits go to the run's account, the wall clock to its deadline; the step cap is startRun's.
 * `undefined` when the record already has them.
 */
export function limitRun(
  record: RunRecord,
  configured: ScopeLimits,
  declared: ScopeLimits | undefined,
  startedAt: number,
): { next: RunRecord | undefined; clamped: readonly ClampedLimit[] } {
  const { limits, clamped } = effectiveLimits(configured, declared);
  const account = record.budget ?? newAccount(accountLimitOf(configured));
  const limited = setLimit(account, accountLimitOf(limits));
  const deadline =
    limits.max_duration_ms === undefined ? undefined : startedAt + limits.max_duration_ms;
  const changed =
    limited !== undefined || record.budget === undefined || deadline !== record.deadline;
  return {
    next: changed
      ? {
          ...record,
          budget: limited ?? account,
          ...(deadline === undefined ? {} : { deadline }),
        }
      : undefined,
    clamped,
  };
}

/** What settling an intent booked. */
export type SettleOutcome = Settlement | { readonly kind: 'not_reserved' };

/** A cost booked against a run (a tool call's or a model call's): what `budget.settled` says. */
export interface Settlement {
  readonly kind: 'settled';
  readonly costMicroUsd: number;
  readonly releasedMicroUsd: number;
  readonly runCostMicroUsd: number;
}

/** The `budget.settled` data of a settlement, with the run's steps when known. */
export function settledData(settlement: Settlement, runSteps?: number): DataOf<'budget.settled'> {
  return {
    cost_micro_usd: settlement.costMicroUsd,
    released_micro_usd: settlement.releasedMicroUsd,
    run_cost_micro_usd: settlement.runCostMicroUsd,
    ...(runSteps === undefined ? {} : { run_steps: runSteps }),
  };
}

/**
 * Books the actual cost of an executed (or failed) intent and frees the rest of its reservation;
 * a write that `succeeded` is progress for the loop rules. Idempotent: a second settlement answers
 * with the first. An intent this run never reserved (the governor denied it, or the record
 * predates budgets) books nothing.
 */
export function settleIntent(
  record: RunRecord,
  intentId: string,
  actualMicroUsd: number,
  now: number,
  succeeded: boolean,
): RunDecision<SettleOutcome> {
  const account = record.budget;
  if (account === undefined || !record.counted.includes(intentId)) {
    return { next: undefined, verdict: { kind: 'not_reserved' } };
  }
  const result = settle(account, intentId, { micro_usd: actualMicroUsd }, now);
  const verdict = result.verdict;
  const reservedMicroUsd = verdict.kind === 'settled' ? (verdict.reserved?.micro_usd ?? 0) : 0;
  const cost = verdict.actual.micro_usd;
  const pendingWrite = record.writes?.includes(intentId) === true;
  const loop =
    pendingWrite && succeeded && record.loop !== undefined
      ? recordWriteSucceeded(record.loop, intentId)
      : undefined;
  const changed = result.next !== undefined || pendingWrite;
  return {
    next: changed
      ? {
          ...record,
          budget: result.next ?? account,
          ...(loop === undefined ? {} : { loop }),
          ...(pendingWrite
            ? { writes: (record.writes ?? []).filter((id) => id !== intentId) }
            : {}),
        }
      : undefined,
    verdict: {
      kind: 'settled',
      costMicroUsd: cost,
      releasedMicroUsd: Math.max(0, reservedMicroUsd - cost),
      runCostMicroUsd: verdict.booked.micro_usd,
    },
  };
}

function reserved(
  runSteps: number,
  maxSteps: number,
  reservedMicroUsd: number,
  account: BudgetAccount,
): IntentVerdict {
  const remaining = remainingOf(account).micro_usd;
  return {
    kind: 'reserved',
    runSteps,
    maxSteps,
    reservedMicroUsd,
    ...(remaining === undefined ? {} : { remainingMicroUsd: remaining }),
  };
}
