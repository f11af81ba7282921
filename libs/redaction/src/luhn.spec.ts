import { describe, expect, it } from 'vitest';
import { luhnValid } from './luhn.js';

describe('luhnValid', () => {
  it.each([
    '4111111111111111',
    '5555555555554444',
    '378282246310005',
    '6011111111111117',
    '79927398713',
  ])('accepts %s', (digits) => {
    expect(luhnValid(digits)).toBe(true);
  });

  it.each(['4111111111111112', '1234567812345678', '79927398710'])('refuses %s', (digits) => {
    expect(luhnValid(digits)).toBe(false);
  });

  it('refuses anything but digits, so separators must be stripped first', () => {
    expect(luhnValid('4111 1111 1111 1111')).toBe(false);
    expect(luhnValid('4111-1111-1111-1111')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('0')).toBe(false);
  });
});
