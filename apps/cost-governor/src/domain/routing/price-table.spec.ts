import { describe, expect, it } from 'vitest';
import {
  maxAffordableOutputTokens,
  ModelPriceConfig,
  PriceTable,
  priceTokens,
  UsdAmount,
  type ModelPrice,
} from './price-table.js';

const small: ModelPrice = {
  tier: 1,
  input_micro_usd_per_mtok: 150_000,
  output_micro_usd_per_mtok: 600_000,
};

describe('UsdAmount and the price table schema', () => {
  it('accepts strings only, and says why a number is refused', () => {
    expect(UsdAmount.parse('0.15')).toBe(150_000);
    const number = UsdAmount.safeParse(0.15);
    expect(number.success).toBe(false);
    expect(number.error?.issues[0]?.message).toMatch(/as a string/);
    const precise = UsdAmount.safeParse('0.1234567');
    expect(precise.error?.issues[0]?.message).toMatch(/at most 6 decimals/);
  });

  it('parses a model entry to micro-USD per million tokens', () => {
    expect(
      PriceTable.parse({
        'gpt-4.1-mini': { tier: 1, input_usd_per_mtok: '0.40', output_usd_per_mtok: '1.60' },
        'claude-opus': {
          tier: 3,
          input_usd_per_mtok: '15.00',
          output_usd_per_mtok: '75.00',
          max_output_tokens: 32_000,
        },
      }),
    ).toEqual({
      'gpt-4.1-mini': {
        tier: 1,
        input_micro_usd_per_mtok: 400_000,
        output_micro_usd_per_mtok: 1_600_000,
      },
      'claude-opus': {
        tier: 3,
        input_micro_usd_per_mtok: 15_000_000,
        output_micro_usd_per_mtok: 75_000_000,
        max_output_tokens: 32_000,
      },
    });
  });

  it('refuses unknown fields, absurd prices and tiers out of range', () => {
    const ok = { tier: 1, input_usd_per_mtok: '1', output_usd_per_mtok: '1' };
    expect(ModelPriceConfig.safeParse({ ...ok, currency: 'EUR' }).success).toBe(false);
    expect(
      ModelPriceConfig.safeParse({ ...ok, input_usd_per_mtok: '1000000.000001' }).success,
    ).toBe(false);
    expect(ModelPriceConfig.safeParse({ ...ok, tier: 0 }).success).toBe(false);
  });
});

describe('priceTokens', () => {
  it('rounds a cost up to the micro-USD: "0.15" per million × 1,234,567 tokens is 185,186 µ$', () => {
    // 1,234,567 × 150,000 / 10^6 = 185,185.05 → 185,186.
    expect(priceTokens(small, 1_234_567, 0)).toBe(185_186);
    expect(priceTokens(small, 1_000_000, 0)).toBe(150_000);
    expect(priceTokens(small, 0, 0)).toBe(0);
    expect(priceTokens(small, 1, 0)).toBe(1);
  });

  it('rounds the whole call once, not each half', () => {
    // Input 0.15 µ$ and output 0.6 µ$: 0.75 → 1, where rounding each would give 2.
    expect(priceTokens(small, 1, 1)).toBe(1);
    expect(priceTokens(small, 1_234_567, 1_000)).toBe(185_786);
  });

  it('stays exact where tokens × price pass 2^53', () => {
    const dear: ModelPrice = {
      tier: 3,
      input_micro_usd_per_mtok: 999_999_999_999,
      output_micro_usd_per_mtok: 1,
    };
    // 123,456,789 × 999,999,999,999 = 123,456,788,999,876,543,211 (far above 2^53, where a float
    // has lost the last digits); / 10^6 = 123,456,788,999,876.54… rounded up.
    expect(priceTokens(dear, 123_456_789, 0)).toBe(123_456_788_999_877);
    const wild: ModelPrice = { ...dear, input_micro_usd_per_mtok: 1e12 };
    expect(priceTokens(wild, Number.MAX_SAFE_INTEGER, 0)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('maxAffordableOutputTokens', () => {
  it('is the largest output whose call still fits the budget', () => {
    const budget = 1_000;
    const n = maxAffordableOutputTokens(small, 1_234, budget);
    // (1,000 × 10^6 − 1,234 × 150,000) / 600,000 = 1,358.5 → 1,358.
    expect(n).toBe(1_358);
    if (n === undefined) throw new Error('expected a bound');
    expect(priceTokens(small, 1_234, n)).toBeLessThanOrEqual(budget);
    expect(priceTokens(small, 1_234, n + 1)).toBeGreaterThan(budget);
  });

  it('answers -1 when the input alone does not fit, and no bound when output is free', () => {
    expect(maxAffordableOutputTokens(small, 1_000_000, 149_999)).toBe(-1);
    expect(maxAffordableOutputTokens(small, 1_000_000, 150_000)).toBe(0);
    expect(
      maxAffordableOutputTokens({ ...small, output_micro_usd_per_mtok: 0 }, 10, 5),
    ).toBeUndefined();
  });
});
