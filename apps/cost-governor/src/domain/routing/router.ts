import type { Risk } from '@warden/contracts';
import { z } from 'zod';
import {
  maxAffordableOutputTokens,
  ModelName,
  PriceTable,
  priceTokens,
  UsdAmount,
  type ModelPrice,
} from './price-table.js';

/**
 * Model routing (issue 6 §6): a task class names its models in order of preference, from its
 * preferred tier downwards (extraction → a cheap model; planning → the top tier, then lower
 * ones). The router walks that list: it routes down a tier when the run's remaining budget is
 * below a threshold, skips models whose smallest useful call does not fit the budget, and
 * refuses with `budget_exhausted` when none fits. `max_output_tokens` is what the remaining
 * budget can pay for, capped by the class and the model.
 */

/**
 * A task class name as configured: snake/kebab case. Requests may carry any string (an unknown
 * one routes as the default class); config keys may not.
 */
export const TaskClass = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, { error: 'must be a task class name, e.g. extraction' });

/** One task class's routing rule, as configured. */
export const TaskClassRule = z.strictObject({
  /** Models in order of preference, tiers never rising (checked against the price table). */
  models: z.array(ModelName).min(1).max(16),
  /** The most output tokens a call of this class is given when the budget allows. */
  max_output_tokens: z.number().int().positive(),
  /** The fewest output tokens worth calling a model for: below this the model does not fit. */
  min_output_tokens: z.number().int().positive().default(1),
  /** Overrides the config's `route_down_below_usd` for this class. */
  route_down_below_usd: UsdAmount.optional(),
  /** Overrides the config's `verifier` for this class. */
  verifier: ModelName.optional(),
});

/** A model the router may pick, with its prices. */
export interface RouteCandidate {
  readonly model: string;
  readonly price: ModelPrice;
}

/** A task class ready to route: model names resolved against the price table. */
export interface ResolvedTaskClass {
  readonly name: string;
  readonly candidates: readonly [RouteCandidate, ...RouteCandidate[]];
  readonly maxOutputTokens: number;
  readonly minOutputTokens: number;
  /** Below this remaining budget (µ$), start one tier down. */
  readonly routeDownBelowMicroUsd?: number;
  readonly verifier?: RouteCandidate;
}

/** The routing table the router works from (the parsed {@link RoutingConfig}). */
export interface RoutingTable {
  readonly prices: PriceTable;
  readonly classes: Readonly<Record<string, ResolvedTaskClass>>;
  /** The class an unknown task class is routed as. */
  readonly defaultClass: ResolvedTaskClass;
}

/**
 * The routing config (YAML or JSON) with its price table: USD strings become micro-USD, every
 * model a class names must be priced, tiers never rise along a class's list, and the default
 * class must exist. Parses to a {@link RoutingTable}, so routing itself never meets an unknown
 * name and never throws.
 *
 * @example
 * models:
 *   small: { tier: 1, input_usd_per_mtok: "0.15", output_usd_per_mtok: "0.60" }
 *   large: { tier: 3, input_usd_per_mtok: "3.00", output_usd_per_mtok: "15.00" }
 * classes:
 *   extraction: { models: [small], max_output_tokens: 1024 }
 *   planning: { models: [large, small], max_output_tokens: 4096 }
 * default_class: extraction
 * route_down_below_usd: "0.50"
 * verifier: large
 */
export const RoutingConfig = z
  .strictObject({
    models: PriceTable,
    classes: z.record(TaskClass, TaskClassRule),
    default_class: TaskClass,
    route_down_below_usd: UsdAmount.optional(),
    verifier: ModelName.optional(),
  })
  .transform((config, ctx): RoutingTable => {
    const candidate = (model: string, path: (string | number)[]): RouteCandidate | undefined => {
      const price = Object.hasOwn(config.models, model) ? config.models[model] : undefined;
      if (price === undefined) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `model "${model}" is not in the price table`,
        });
        return undefined;
      }
      return { model, price };
    };
    const globalVerifier =
      config.verifier === undefined ? undefined : candidate(config.verifier, ['verifier']);
    // Entries, then Object.fromEntries: assigning `classes['__proto__']` would set the prototype.
    const entries: [string, ResolvedTaskClass][] = [];
    for (const [name, rule] of Object.entries(config.classes)) {
      const at = ['classes', name];
      const resolved = rule.models.map((model, i) => candidate(model, [...at, 'models', i]));
      const [first, ...rest] = resolved.filter((c): c is RouteCandidate => c !== undefined);
      if (first === undefined || resolved.length !== rest.length + 1) continue;
      const candidates: [RouteCandidate, ...RouteCandidate[]] = [first, ...rest];
      candidates.forEach((c, i) => {
        const previous = candidates[i - 1];
        if (previous !== undefined && c.price.tier > previous.price.tier) {
          ctx.addIssue({
            code: 'custom',
            path: [...at, 'models', i],
            message: `"${c.model}" (tier ${c.price.tier}) follows "${previous.model}" (tier ${previous.price.tier}): list models from the preferred tier downwards`,
          });
        }
      });
      if (rule.min_output_tokens > rule.max_output_tokens) {
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'min_output_tokens'],
          message: 'must not exceed max_output_tokens',
        });
      }
      const verifier =
        rule.verifier === undefined
          ? globalVerifier
          : candidate(rule.verifier, [...at, 'verifier']);
      const routeDown = rule.route_down_below_usd ?? config.route_down_below_usd;
      entries.push([
        name,
        {
          name,
          candidates,
          maxOutputTokens: rule.max_output_tokens,
          minOutputTokens: rule.min_output_tokens,
          ...(routeDown === undefined ? {} : { routeDownBelowMicroUsd: routeDown }),
          ...(verifier === undefined ? {} : { verifier }),
        },
      ]);
    }
    const classes: Record<string, ResolvedTaskClass> = Object.fromEntries(entries);
    const defaultClass = Object.hasOwn(classes, config.default_class)
      ? classes[config.default_class]
      : undefined;
    if (defaultClass === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['default_class'],
        message: `"${config.default_class}" is not a configured class`,
      });
      return z.NEVER;
    }
    return { prices: config.models, classes, defaultClass };
  });
export type RoutingConfig = z.input<typeof RoutingConfig>;

/** What `model.requested` asks, with the budget the run has left. */
export interface RouteRequest {
  readonly taskClass: string;
  /** Estimated input (prompt) tokens. */
  readonly inputTokens: number;
  /** A tighter output ceiling asked for by the caller; the class's ceiling otherwise. */
  readonly maxOutputTokens?: number | undefined;
  /**
   * Micro-USD the call may still spend: the least of what the run, the agent's day and the
   * workflow's day have left. `undefined`: no money budget applies.
   */
  readonly remainingMicroUsd?: number | undefined;
}

/** Why the router picked the model it did. */
export type RouteReason =
  /** The class's first choice. */
  | 'preferred'
  /** The remaining budget is below the class's threshold: started one tier down. */
  | 'low_budget'
  /** Models before it could not fit a useful call in the remaining budget. */
  | 'budget_fit';

/** The router's answer. */
export type RouteDecision =
  | {
      readonly kind: 'routed';
      readonly model: string;
      readonly tier: number;
      /** The class routed as (the default one when the asked class is unknown). */
      readonly taskClass: string;
      readonly defaulted: boolean;
      readonly reason: RouteReason;
      readonly maxOutputTokens: number;
      /** Input tokens × input price + `maxOutputTokens` × output price, rounded up. */
      readonly estimatedMicroUsd: number;
    }
  | {
      readonly kind: 'budget_exhausted';
      readonly taskClass: string;
      readonly defaulted: boolean;
      /** What the cheapest model of the class needs for its smallest useful call. */
      readonly cheapest: { readonly model: string; readonly minimumMicroUsd: number };
      readonly remainingMicroUsd: number;
    };

/** Picks a model for a request. Never throws: an unknown class is routed as the default one. */
export function routeModel(table: RoutingTable, request: RouteRequest): RouteDecision {
  const known = Object.hasOwn(table.classes, request.taskClass)
    ? table.classes[request.taskClass]
    : undefined;
  const rule = known ?? table.defaultClass;
  const defaulted = known === undefined;
  const remaining = request.remainingMicroUsd;
  const { candidates } = rule;

  let start = 0;
  if (
    remaining !== undefined &&
    rule.routeDownBelowMicroUsd !== undefined &&
    remaining < rule.routeDownBelowMicroUsd
  ) {
    // One tier down: the first model of a lower tier than the preferred one (none: stay).
    const lower = candidates.findIndex((c) => c.price.tier < candidates[0].price.tier);
    if (lower > 0) start = lower;
  }

  for (let i = start; i < candidates.length; i++) {
    const candidate = candidates[i];
    if (candidate === undefined) break;
    const ceiling = outputCeiling(rule, candidate, request);
    let maxOutputTokens = ceiling;
    if (remaining !== undefined) {
      const affordable = maxAffordableOutputTokens(candidate.price, request.inputTokens, remaining);
      if (affordable !== undefined) maxOutputTokens = Math.min(ceiling, affordable);
    }
    // A caller (or model) ceiling below the class's minimum lowers the minimum with it.
    if (maxOutputTokens < Math.min(rule.minOutputTokens, ceiling)) continue;
    return {
      kind: 'routed',
      model: candidate.model,
      tier: candidate.price.tier,
      taskClass: rule.name,
      defaulted,
      reason: i === 0 ? 'preferred' : i === start ? 'low_budget' : 'budget_fit',
      maxOutputTokens,
      estimatedMicroUsd: priceTokens(candidate.price, request.inputTokens, maxOutputTokens),
    };
  }

  // Nothing fits (only reachable with a budget: without one the first model always does). Report the cheapest smallest call, to say how
  // far off the budget is.
  const cheapest = candidates
    .map((c) => ({
      model: c.model,
      minimumMicroUsd: priceTokens(c.price, request.inputTokens, rule.minOutputTokens),
    }))
    .reduce((best, c) => (c.minimumMicroUsd < best.minimumMicroUsd ? c : best));
  return {
    kind: 'budget_exhausted',
    taskClass: rule.name,
    defaulted,
    cheapest,
    remainingMicroUsd: remaining ?? 0,
  };
}

/** Whether a cheap model's proposal must be checked by a stronger one, and by which. */
export type VerificationDecision =
  | { readonly verify: true; readonly verifier: string; readonly tier: number }
  | { readonly verify: false; readonly reason: 'no_risk' | 'no_verifier' | 'already_strong' };

/**
 * Propose-then-verify: a cheap model proposes, and the class's verifier (the config's, unless
 * the class names its own) checks the proposal only when the policy decision flagged risk, and
 * only when the proposer is of a lower tier than the verifier (a top-tier proposal is not
 * re-checked by its peer). An unknown proposer counts as the lowest tier.
 */
export function verificationFor(
  table: RoutingTable,
  request: { readonly taskClass: string; readonly proposer: string; readonly riskFlagged: boolean },
): VerificationDecision {
  if (!request.riskFlagged) return { verify: false, reason: 'no_risk' };
  const rule = Object.hasOwn(table.classes, request.taskClass)
    ? table.classes[request.taskClass]
    : undefined;
  const verifier = (rule ?? table.defaultClass).verifier;
  if (verifier === undefined) return { verify: false, reason: 'no_verifier' };
  const proposer = Object.hasOwn(table.prices, request.proposer)
    ? table.prices[request.proposer]
    : undefined;
  if (proposer !== undefined && proposer.tier >= verifier.price.tier) {
    return { verify: false, reason: 'already_strong' };
  }
  return { verify: true, verifier: verifier.model, tier: verifier.price.tier };
}

/**
 * Whether a policy decision's risk calls for verification: any standard flag (write, bulk, PII,
 * money, permissions, production) or any flag the tool's own rules raised.
 */
export function flagsRisk(risk: Risk | undefined): boolean {
  if (risk === undefined) return false;
  return (
    risk.write ||
    risk.bulk ||
    risk.pii ||
    risk.money === true ||
    risk.permission === true ||
    risk.production === true ||
    (risk.raised?.length ?? 0) > 0
  );
}

/** The output ceiling before the budget: the request's, the class's and the model's, least. */
function outputCeiling(
  rule: ResolvedTaskClass,
  candidate: RouteCandidate,
  request: RouteRequest,
): number {
  return Math.min(
    rule.maxOutputTokens,
    request.maxOutputTokens ?? rule.maxOutputTokens,
    candidate.price.max_output_tokens ?? rule.maxOutputTokens,
  );
}
