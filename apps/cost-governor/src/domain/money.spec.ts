import { describe, expect, it } from 'vitest';
import { addExact, costOfModelCall, costOfTokens } from './money.js';

describe('costOfTokens', () => {
  it('prices tokens from a price per million, exactly', () => {
    // $3 per million tokens: 1,000 tokens cost $0.003.
    expect(costOfTokens(1_000, 3_000_000)).toBe(3_000);
    expect(costOfTokens(0, 3_000_000)).toBe(0);
    expect(costOfTokens(1_000_000, 150_000)).toBe(150_000);
  });

  it('rounds a fraction of a micro-USD up, never down', () => {
    // $0.15 per million: one token is 0.15 µUSD, charged as 1.
    expect(costOfTokens(1, 150_000)).toBe(1);
    expect(costOfTokens(7, 150_000)).toBe(2); // 1.05 → 2
    expect(costOfTokens(20, 50_000)).toBe(1); // exactly 1.0 stays 1
  });

  it('stays exact where the product exceeds 2^53', () => {
    // 10^9 tokens at $100/M: the product 10^17 is beyond 2^53; the cost is $100,000.
    expect(costOfTokens(1_000_000_000, 100_000_000)).toBe(100_000_000_000);
    // (2^53 − 1) × 3 = 27,021,597,764,222,973 (past 2^53): /10^6 rounds up to …765.
    expect(costOfTokens(2 ** 53 - 1, 3)).toBe(27_021_597_765);
  });

  it('refuses negative, fractional or unsafe inputs, and a cost beyond 2^53', () => {
    expect(() => costOfTokens(-1, 1)).toThrow(RangeError);
    expect(() => costOfTokens(1.5, 1)).toThrow(RangeError);
    expect(() => costOfTokens(1, Number.NaN)).toThrow(RangeError);
    expect(() => costOfTokens(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toThrow(
      RangeError,
    );
  });
});

describe('costOfModelCall', () => {
  it('sums input and output at their prices and rounds up once', () => {
    const price = { inputMicroUsdPerMillion: 150_000, outputMicroUsdPerMillion: 600_000 };
    // 0.15 + 0.6 = 0.75 µUSD → 1 (rounding each part up separately would give 2).
    expect(costOfModelCall({ inputTokens: 1, outputTokens: 1 }, price)).toBe(1);
    expect(costOfModelCall({ inputTokens: 10_000, outputTokens: 2_000 }, price)).toBe(2_700);
  });
});

describe('addExact', () => {
  it('adds safe integers and refuses to leave the safe range', () => {
    expect(addExact(2, 3)).toBe(5);
    expect(() => addExact(Number.MAX_SAFE_INTEGER, 1)).toThrow(RangeError);
    expect(() => addExact(0.1, 0.2)).toThrow(RangeError);
  });
});
