import { costOfModelCall } from './money.js';
import {
  DEFAULT_LEDGER_OPTIONS,
  newAccount,
  release,
  remainingOf,
  reserve,
  settle,
  type AccountLimit,
} from './ledger/index.js';
import { routeModel, type RouteDecision, type RoutingTable } from './routing/index.js';
import type { RunDecision, Settlement } from './run-budget.js';
import type { RunRecord } from './step-cap.js';

/** A model call routed for a run, kept until its usage is reported (one per call in flight). */
export interface RoutedCall {
  readonly model: string;
  readonly tier: number;
  readonly task_class: string;
  readonly reason: string;
  readonly max_output_tokens: number;
  readonly estimated_micro_usd: number;
}

/** What `model.requested` asks. */
export interface ModelRequest {
  readonly intentId: string;
  readonly taskClass: string;
  readonly inputTokens: number;
  readonly maxOutputTokens?: number | undefined;
}

/** The governor's answer to a model request. */
export type ModelVerdict =
  | { readonly kind: 'routed'; readonly call: RoutedCall }
  | {
      readonly kind: 'budget_exhausted';
      readonly decision: Extract<RouteDecision, { kind: 'budget_exhausted' }>;
    };

/**
 * Routes a model call within what the run has left, and reserves its estimate in the same
 * compare-and-set (issue 6 §6): the model, its `max_output_tokens` and the reservation are
 * decided on one version of the run record, so two calls racing cannot both spend the last of
 * the budget, and a redelivered request gets the model it was given. Model calls are not steps:
 * they count against the money only.
 */
export function routeAndReserve(
  record: RunRecord,
  request: ModelRequest,
  table: RoutingTable,
  now: number,
  configured: AccountLimit,
): RunDecision<ModelVerdict> {
  const known = record.models?.[request.intentId];
  if (known !== undefined) return { next: undefined, verdict: { kind: 'routed', call: known } };
  const account = record.budget ?? newAccount(configured);
  const decision = routeModel(table, {
    taskClass: request.taskClass,
    inputTokens: request.inputTokens,
    maxOutputTokens: request.maxOutputTokens,
    remainingMicroUsd: remainingOf(account).micro_usd,
  });
  if (decision.kind === 'budget_exhausted') {
    return { next: undefined, verdict: { kind: 'budget_exhausted', decision } };
  }
  const money = reserve(account, request.intentId, { micro_usd: decision.estimatedMicroUsd }, now);
  if (money.verdict.kind !== 'reserved' && money.verdict.kind !== 'already_reserved') {
    // The router priced within the remaining budget, so only a closed intent gets here.
    return {
      next: undefined,
      verdict: {
        kind: 'budget_exhausted',
        decision: {
          kind: 'budget_exhausted',
          taskClass: decision.taskClass,
          defaulted: decision.defaulted,
          cheapest: { model: decision.model, minimumMicroUsd: decision.estimatedMicroUsd },
          remainingMicroUsd: remainingOf(account).micro_usd ?? 0,
        },
      },
    };
  }
  const call: RoutedCall = {
    model: decision.model,
    tier: decision.tier,
    task_class: decision.taskClass,
    reason: decision.reason,
    max_output_tokens: decision.maxOutputTokens,
    estimated_micro_usd: decision.estimatedMicroUsd,
  };
  return {
    next: {
      ...record,
      budget: money.next ?? account,
      models: { ...record.models, [request.intentId]: call },
    },
    verdict: { kind: 'routed', call },
  };
}

/**
 * Gives back a routed call's reservation when a later check refused it (a daily budget), and
 * remembers it as refused. `undefined` when it is not routed (refused already).
 */
export function unrouteModelCall(
  record: RunRecord,
  intentId: string,
  now: number,
): RunRecord | undefined {
  if (record.models?.[intentId] === undefined || record.budget === undefined) return undefined;
  const { [intentId]: _refused, ...models } = record.models;
  const released = release(record.budget, intentId, now, DEFAULT_LEDGER_OPTIONS, 'daily_budget');
  return { ...record, budget: released.next ?? record.budget, models };
}

/** What reporting a model call's usage booked. */
export type UsageOutcome = Settlement | { readonly kind: 'unknown_call' };

/**
 * Books a model call's actual cost from its token usage at the price of the model it used, and
 * releases the rest of its reservation. A model missing from the price table (the runtime used
 * another than the routed one) is booked at the reserved estimate: conservative, and logged by
 * the caller. Idempotent: the first settlement stands.
 */
export function settleModelCall(
  record: RunRecord,
  intentId: string,
  usage: { model: string; inputTokens: number; outputTokens: number },
  table: RoutingTable,
  now: number,
): RunDecision<UsageOutcome> {
  const account = record.budget;
  const routed = record.models?.[intentId];
  if (account === undefined) return { next: undefined, verdict: { kind: 'unknown_call' } };
  if (routed === undefined) {
    // Settled before (a redelivery after a crash between the write and the publish): the same
    // answer again, so the caller publishes `budget.settled` again (a duplicate JetStream drops).
    const settled = account.closed.find((e) => e.id === intentId && e.outcome === 'settled');
    if (settled === undefined) return { next: undefined, verdict: { kind: 'unknown_call' } };
    return {
      next: undefined,
      verdict: {
        kind: 'settled',
        costMicroUsd: settled.micro_usd,
        releasedMicroUsd: 0,
        runCostMicroUsd: account.booked.micro_usd,
      },
    };
  }
  const price = Object.hasOwn(table.prices, usage.model) ? table.prices[usage.model] : undefined;
  const actual =
    price === undefined
      ? routed.estimated_micro_usd
      : costOfModelCall(
          { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens },
          {
            inputMicroUsdPerMillion: price.input_micro_usd_per_mtok,
            outputMicroUsdPerMillion: price.output_micro_usd_per_mtok,
          },
        );
  const result = settle(account, intentId, { micro_usd: actual }, now);
  const { verdict } = result;
  const models = Object.fromEntries(
    Object.entries(record.models ?? {}).filter(([id]) => id !== intentId),
  );
  return {
    next: { ...record, budget: result.next ?? account, models },
    verdict: {
      kind: 'settled',
      costMicroUsd: verdict.actual.micro_usd,
      releasedMicroUsd: Math.max(0, routed.estimated_micro_usd - verdict.actual.micro_usd),
      runCostMicroUsd: verdict.booked.micro_usd,
    },
  };
}
