import { describe, expect, it } from 'vitest';
import { formatUsd, parseUsd } from './money.js';

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
