import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { priceTokens } from './price-table.js';
import {
  flagsRisk,
  routeModel,
  RoutingConfig,
  verificationFor,
  type RoutingTable,
} from './router.js';

const CONFIG = `
models:
  small: { tier: 1, input_usd_per_mtok: "0.15", output_usd_per_mtok: "0.60" }
  mid:   { tier: 2, input_usd_per_mtok: "1.00", output_usd_per_mtok: "4.00" }
  large: { tier: 3, input_usd_per_mtok: "3.00", output_usd_per_mtok: "15.00", max_output_tokens: 8192 }
classes:
  extraction: { models: [small], max_output_tokens: 1024 }
  planning:   { models: [large, mid, small], max_output_tokens: 4096, min_output_tokens: 256 }
  general:    { models: [mid, small], max_output_tokens: 2048, verifier: mid }
default_class: general
route_down_below_usd: "0.50"
verifier: large
`;

function table(yaml = CONFIG): RoutingTable {
  return RoutingConfig.parse(parseYaml(yaml));
}

describe('routeModel', () => {
  const routes = table();

  it('picks the cheap model for extraction and the strong one for planning', () => {
    expect(routeModel(routes, { taskClass: 'extraction', inputTokens: 2_000 })).toEqual({
      kind: 'routed',
      model: 'small',
      tier: 1,
      taskClass: 'extraction',
      defaulted: false,
      reason: 'preferred',
      maxOutputTokens: 1024,
      // 2,000 × 0.15 + 1,024 × 0.60 = 300 + 614.4 → 915 µ$.
      estimatedMicroUsd: 915,
    });
    expect(
      routeModel(routes, {
        taskClass: 'planning',
        inputTokens: 2_000,
        remainingMicroUsd: 5_000_000,
      }),
    ).toMatchObject({ kind: 'routed', model: 'large', reason: 'preferred', maxOutputTokens: 4096 });
  });

  it('routes down a tier when the remaining budget is below the threshold', () => {
    const decision = routeModel(routes, {
      taskClass: 'planning',
      inputTokens: 2_000,
      remainingMicroUsd: 499_999,
    });
    expect(decision).toMatchObject({ kind: 'routed', model: 'mid', tier: 2, reason: 'low_budget' });
    // At the threshold itself the preferred model is still used.
    expect(
      routeModel(routes, { taskClass: 'planning', inputTokens: 2_000, remainingMicroUsd: 500_000 }),
    ).toMatchObject({ model: 'large' });
  });

  it('skips models whose smallest useful call does not fit', () => {
    // 400,000 input tokens: 1.20 USD on large, 0.40 USD on mid; 1.00 USD left.
    expect(
      routeModel(routes, {
        taskClass: 'planning',
        inputTokens: 400_000,
        remainingMicroUsd: 1_000_000,
      }),
    ).toMatchObject({ kind: 'routed', model: 'mid', reason: 'budget_fit', maxOutputTokens: 4096 });
  });

  it('derives max_output_tokens from what the budget can pay for, exactly', () => {
    // Input 170,000 × 3.00 = 510,000 µ$; 10,000 µ$ left buys ⌊10,000 / 15⌋ = 666 output tokens.
    const decision = routeModel(routes, {
      taskClass: 'planning',
      inputTokens: 170_000,
      remainingMicroUsd: 520_000,
    });
    expect(decision).toMatchObject({
      kind: 'routed',
      model: 'large',
      maxOutputTokens: 666,
      estimatedMicroUsd: 519_990,
    });
    const large = routes.prices['large']!;
    expect(priceTokens(large, 170_000, 667)).toBeGreaterThan(520_000);
  });

  it('caps output by the request, the class and the model, whichever is least', () => {
    expect(
      routeModel(routes, { taskClass: 'planning', inputTokens: 10, maxOutputTokens: 300 }),
    ).toMatchObject({ model: 'large', maxOutputTokens: 300 });
    const roomy = table(CONFIG.replace('max_output_tokens: 4096', 'max_output_tokens: 100000'));
    expect(routeModel(roomy, { taskClass: 'planning', inputTokens: 10 })).toMatchObject({
      model: 'large',
      maxOutputTokens: 8192,
    });
  });

  it('refuses with budget_exhausted when even the cheapest model cannot fit', () => {
    expect(
      routeModel(routes, { taskClass: 'extraction', inputTokens: 1_000, remainingMicroUsd: 150 }),
    ).toEqual({
      kind: 'budget_exhausted',
      taskClass: 'extraction',
      defaulted: false,
      // 1,000 × 0.15 + 1 × 0.60 = 150.6 → 151 µ$.
      cheapest: { model: 'small', minimumMicroUsd: 151 },
      remainingMicroUsd: 150,
    });
    expect(
      routeModel(routes, { taskClass: 'planning', inputTokens: 1_000, remainingMicroUsd: 0 }),
    ).toMatchObject({ kind: 'budget_exhausted', cheapest: { model: 'small' } });
  });

  it('needs the class minimum of output tokens for a model to fit', () => {
    // small: 1,000 × 0.15 = 150 µ$ of input; 256 output tokens cost 153.6 more → 304 µ$.
    expect(
      routeModel(routes, { taskClass: 'planning', inputTokens: 1_000, remainingMicroUsd: 303 }),
    ).toMatchObject({ kind: 'budget_exhausted' });
    expect(
      routeModel(routes, { taskClass: 'planning', inputTokens: 1_000, remainingMicroUsd: 304 }),
    ).toMatchObject({ kind: 'routed', model: 'small', maxOutputTokens: 256 });
  });

  it('routes an unknown task class as the default class, without throwing', () => {
    expect(routeModel(routes, { taskClass: 'poetry', inputTokens: 100 })).toMatchObject({
      kind: 'routed',
      model: 'mid',
      taskClass: 'general',
      defaulted: true,
    });
    expect(routeModel(routes, { taskClass: '__proto__', inputTokens: 100 })).toMatchObject({
      taskClass: 'general',
      defaulted: true,
    });
  });

  it('never estimates more than the remaining budget', () => {
    for (let remaining = 0; remaining < 3_000_000; remaining += 7_919) {
      for (const taskClass of ['extraction', 'planning', 'general']) {
        const decision = routeModel(routes, {
          taskClass,
          inputTokens: 12_345,
          remainingMicroUsd: remaining,
        });
        if (decision.kind === 'routed')
          expect(decision.estimatedMicroUsd).toBeLessThanOrEqual(remaining);
      }
    }
  });
});

describe('RoutingConfig', () => {
  const issues = (yaml: string) =>
    RoutingConfig.safeParse(parseYaml(yaml)).error?.issues.map(
      (i) => `${i.path.join('.')}: ${i.message}`,
    );

  it('refuses a class naming a model that has no price', () => {
    expect(issues(CONFIG.replace('models: [small]', 'models: [tiny]'))).toEqual([
      'classes.extraction.models.0: model "tiny" is not in the price table',
    ]);
  });

  it('refuses a class whose tiers rise along its list', () => {
    expect(issues(CONFIG.replace('[mid, small]', '[small, mid]'))?.[0]).toMatch(
      /^classes.general.models.1: "mid" \(tier 2\) follows "small" \(tier 1\)/,
    );
  });

  it('refuses a default class that is not configured', () => {
    expect(issues(CONFIG.replace('default_class: general', 'default_class: chat'))).toEqual([
      'default_class: "chat" is not a configured class',
    ]);
  });

  it('refuses class names that are not plain identifiers', () => {
    expect(issues(CONFIG.replace('extraction:', 'Extraction:'))?.[0]).toMatch(
      /^classes.Extraction: Invalid key/,
    );
  });

  it('refuses prices with more than 6 decimals, and unquoted ones', () => {
    expect(issues(CONFIG.replace('"0.15"', '"0.1500001"'))?.[0]).toMatch(
      /^models.small.input_usd_per_mtok: /,
    );
    expect(issues(CONFIG.replace('"0.15"', '0.15'))?.[0]).toMatch(/as a string/);
  });
});

describe('propose-then-verify', () => {
  const routes = table();

  it('has the strong model verify a cheap proposal only when the decision flagged risk', () => {
    expect(
      verificationFor(routes, { taskClass: 'extraction', proposer: 'small', riskFlagged: true }),
    ).toEqual({ verify: true, verifier: 'large', tier: 3 });
    expect(
      verificationFor(routes, { taskClass: 'extraction', proposer: 'small', riskFlagged: false }),
    ).toEqual({ verify: false, reason: 'no_risk' });
  });

  it('does not re-check a proposal from a model as strong as the verifier', () => {
    expect(
      verificationFor(routes, { taskClass: 'planning', proposer: 'large', riskFlagged: true }),
    ).toEqual({ verify: false, reason: 'already_strong' });
  });

  it("uses the class's own verifier, the default class's for an unknown class, and none if unset", () => {
    expect(
      verificationFor(routes, { taskClass: 'general', proposer: 'small', riskFlagged: true }),
    ).toEqual({ verify: true, verifier: 'mid', tier: 2 });
    expect(
      verificationFor(routes, {
        taskClass: 'poetry',
        proposer: 'unknown-model',
        riskFlagged: true,
      }),
    ).toEqual({ verify: true, verifier: 'mid', tier: 2 });
    const noVerifier = table(CONFIG.replace('verifier: large', '').replace(', verifier: mid', ''));
    expect(
      verificationFor(noVerifier, {
        taskClass: 'extraction',
        proposer: 'small',
        riskFlagged: true,
      }),
    ).toEqual({ verify: false, reason: 'no_verifier' });
  });

  it('reads risk from any standard flag or a raised one', () => {
    const none = { write: false, bulk: false, pii: false };
    expect(flagsRisk(undefined)).toBe(false);
    expect(flagsRisk(none)).toBe(false);
    expect(flagsRisk({ ...none, raised: [] })).toBe(false);
    expect(flagsRisk({ ...none, write: true })).toBe(true);
    expect(flagsRisk({ ...none, money: true })).toBe(true);
    expect(flagsRisk({ ...none, raised: ['urgent_priority'] })).toBe(true);
  });
});
