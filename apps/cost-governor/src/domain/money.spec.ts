import { describe, expect, it } from 'vitest';
import { addExact, costOfModelCall, costOfTokens, formatUsd, parseUsd } from './money.js';

describe('parseUsd', () => {
  it.each([
    ['0.25', 250_000],
    ['0', 0],
    ['1', 1_000_000],
    ['1.5', 1_500_000],
    ['0.000001', 1],
    ['12.345678', 12_345_678],
    ['007.10', 7_100_000],
    ['9007199254.740991', Number.MAX_SAFE_INTEGER],
  ])('reads %s USD as %i µUSD', (text, microUsd) => {
    expect(parseUsd(text)).toEqual({ ok: true, microUsd });
  });

  it.each([
    ['0.0000001', 'too_many_decimals'],
    ['1.1234567', 'too_many_decimals'],
    ['-1', 'negative'],
    ['-0.5', 'negative'],
    ['NaN', 'not_a_number'],
    ['', 'not_a_number'],
    ['abc', 'not_a_number'],
    ['1e3', 'not_a_number'],
    ['.5', 'not_a_number'],
    ['1.', 'not_a_number'],
    [' 1', 'not_a_number'],
    ['+1', 'not_a_number'],
    ['1,000', 'not_a_number'],
    ['Infinity', 'not_a_number'],
    ['9007199254.740992', 'too_large'],
    ['100000000000000000000', 'too_large'],
  ])('refuses %j (%s)', (text, error) => {
    expect(parseUsd(text)).toEqual({ ok: false, error });
  });
});

describe('formatUsd', () => {
  it.each([
    [250_000, '0.25'],
    [0, '0.00'],
    [1, '0.000001'],
    [100, '0.0001'],
    [1_500_000, '1.50'],
    [5_000_000, '5.00'],
    [12_345_678, '12.345678'],
    [-1_500_000, '-1.50'],
    [Number.MAX_SAFE_INTEGER, '9007199254.740991'],
  ])('writes %i µUSD as %s', (microUsd, text) => {
    expect(formatUsd(microUsd)).toBe(text);
  });

  it('round-trips through parseUsd', () => {
    for (const microUsd of [0, 1, 10, 999_999, 1_000_000, 1_000_001, 123_456_789_012]) {
      expect(parseUsd(formatUsd(microUsd))).toEqual({ ok: true, microUsd });
    }
  });

  it('refuses a fractional or unsafe amount', () => {
    expect(() => formatUsd(0.5)).toThrow(RangeError);
    expect(() => formatUsd(Number.NaN)).toThrow(RangeError);
    expect(() => formatUsd(2 ** 53)).toThrow(RangeError);
  });
});

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

describe('parseUsd, strictly', () => {
  it('is exact where a float would drift', () => {
    // 0.29 * 1e6 is 290000.00000000006, 1.005 * 1e6 is 1004999.99…
    expect(parseUsd('0.29')).toEqual({ ok: true, microUsd: 290_000 });
    expect(parseUsd('1.005')).toEqual({ ok: true, microUsd: 1_005_000 });
    expect(parseUsd('9007199254.740991')).toEqual({ ok: true, microUsd: Number.MAX_SAFE_INTEGER });
  });

  it('refuses signs, exponents, more than 6 decimals and malformed amounts', () => {
    for (const text of [
      '0.0000001',
      '-1',
      '+1',
      '1e3',
      '.5',
      '5.',
      '',
      ' 1',
      '1,00',
      '9007199254.740992',
    ]) {
      expect(parseUsd(text).ok, text).toBe(false);
    }
  });
});
