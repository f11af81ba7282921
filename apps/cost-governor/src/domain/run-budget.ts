import {
  accountLimitOf,
  effectiveLimits,
  newAccount,
  release,
  remainingOf,
  reserve,
  setLimit,
  settle,
  type AccountLimit,
  type BudgetAccount,
} from './ledger/index.js';
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
    };

/** A new record (or `undefined`: unchanged) and the answer: one compare-and-set round. */
export interface RunDecision<V> {
  readonly next: RunRecord | undefined;
  readonly verdict: V;
}

/**
 * Decides one allowed intent against its run: the step cap, then the run's money budget, in one
 * record, so the answer is written together with the counts and is the same for every copy of the
 * intent (a redelivery, a second replica racing it). A step is counted only when the money is
 * reserved too: a call denied for budget does not use up a step. An intent refused for budget is
 * marked released in the account, so a redelivery is refused again even if room has opened since.
 *
 * `configured` is the operator's run budget, used when the record has no account yet.
 */
export function reserveIntent(
  record: RunRecord,
  intentId: string,
  costMicroUsd: number,
  now: number,
  configured: AccountLimit,
): RunDecision<IntentVerdict> {
  const account = record.budget ?? newAccount(configured);
  const position = record.counted.indexOf(intentId);
  if (position >= 0) {
    const held = account.open[intentId];
    return {
      next: undefined,
      verdict: reserved(position + 1, record.max_steps, held?.micro_usd ?? costMicroUsd, account),
    };
  }
  const step = reserveStep(record, intentId);
  if (step.verdict.kind === 'step_cap') return { next: undefined, verdict: step.verdict };
  const money = reserve(account, intentId, { micro_usd: costMicroUsd }, now);
  switch (money.verdict.kind) {
    case 'reserved':
    case 'already_reserved': {
      const budget = money.next ?? account;
      const counted = step.next?.counted ?? record.counted;
      return {
        next: { ...record, counted, budget },
        verdict: reserved(counted.length, record.max_steps, costMicroUsd, budget),
      };
    }
    case 'exceeded': {
      // Marked released: the intent's answer is final, whatever is freed later.
      const marked = release(account, intentId, now).next ?? account;
      return {
        next: { ...record, budget: marked },
        verdict: {
          kind: 'run_budget',
          costMicroUsd,
          remainingMicroUsd: money.verdict.remaining.micro_usd ?? 0,
        },
      };
    }
    case 'already_closed':
      return {
        next: undefined,
        verdict: {
          kind: 'run_budget',
          costMicroUsd,
          remainingMicroUsd: remainingOf(account).micro_usd ?? 0,
        },
      };
  }
}

/**
 * The run's declared budget (`run.started` `limits.budget_micro_usd`), which can only tighten the
 * configured one: the account's limit becomes the lower of the two. `undefined` when unchanged.
 */
export function limitRunBudget(
  record: RunRecord,
  declaredMicroUsd: number | undefined,
  configured: AccountLimit,
): { next: RunRecord | undefined; clamped: boolean } {
  const account = record.budget ?? newAccount(configured);
  const { limits, clamped } = effectiveLimits(
    { budget_micro_usd: account.limit.micro_usd },
    { budget_micro_usd: declaredMicroUsd },
  );
  const limited = setLimit(account, { ...account.limit, ...accountLimitOf(limits) });
  const next = limited ?? (record.budget === undefined ? account : undefined);
  return {
    next: next === undefined ? undefined : { ...record, budget: next },
    clamped: clamped.length > 0,
  };
}

/** What settling an intent booked. */
export type SettleOutcome =
  | {
      readonly kind: 'settled';
      readonly costMicroUsd: number;
      readonly releasedMicroUsd: number;
      readonly runCostMicroUsd: number;
    }
  | { readonly kind: 'not_reserved' };

/**
 * Books the actual cost of an executed (or failed) intent and frees the rest of its reservation.
 * Idempotent: a second settlement answers with the first. An intent this run never reserved
 * (the governor denied it, or the record predates budgets) books nothing.
 */
export function settleIntent(
  record: RunRecord,
  intentId: string,
  actualMicroUsd: number,
  now: number,
): RunDecision<SettleOutcome> {
  const account = record.budget;
  if (account === undefined || !record.counted.includes(intentId)) {
    return { next: undefined, verdict: { kind: 'not_reserved' } };
  }
  const result = settle(account, intentId, { micro_usd: actualMicroUsd }, now);
  const verdict = result.verdict;
  const runCost = verdict.booked.micro_usd;
  const reservedMicroUsd = verdict.kind === 'settled' ? (verdict.reserved?.micro_usd ?? 0) : 0;
  const cost = verdict.actual.micro_usd;
  return {
    next: result.next === undefined ? undefined : { ...record, budget: result.next },
    verdict: {
      kind: 'settled',
      costMicroUsd: cost,
      releasedMicroUsd: Math.max(0, reservedMicroUsd - cost),
      runCostMicroUsd: runCost,
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
