import { describe, expect, it } from 'vitest';
import { matchesFormat } from './string-formats.js';

describe('matchesFormat', () => {
  it.each([
    ['ann@example.com', true],
    ['first.last+tag@mail.example.co.uk', true],
    ['ann@localhost', false], // a host name without a dot is no public address
    ['ann@@example.com', false],
    ['.ann@example.com', false],
    ['ann..lee@example.com', false],
    ['ann@-example.com', false],
    ['ann @example.com', false],
    [`${'a'.repeat(65)}@example.com`, false],
  ])('email %s → %s', (value, expected) => {
    expect(matchesFormat(value, 'email')).toBe(expected);
  });

  it.each([
    ['https://example.com/path?q=1#f', true],
    ['mailto:ann@example.com', true],
    ['urn:isbn:0451450523', true],
    ['/relative/path', false],
    ['example.com', false],
    ['https://exa mple.com', false],
    ['https://example.com/\n', false],
    ['', false],
  ])('uri %j → %s', (value, expected) => {
    expect(matchesFormat(value, 'uri')).toBe(expected);
  });

  it.each([
    ['2026-11-26T10:15:30Z', true],
    ['2026-11-26t10:15:30.123456+05:30', true],
    ['2016-12-31T23:59:60Z', true], // a leap second
    ['2026-11-26T10:15:60Z', false],
    ['2026-11-26T24:00:00Z', false],
    ['2026-11-26T10:15:30', false], // no offset: no instant
    ['2026-02-30T10:15:30Z', false],
    ['2026-11-26T10:15:30+24:00', false],
  ])('date-time %s → %s', (value, expected) => {
    expect(matchesFormat(value, 'date-time')).toBe(expected);
  });

  it.each([
    ['2024-02-29', true],
    ['2000-02-29', true],
    ['1900-02-29', false],
    ['2026-13-01', false],
    ['2026-04-31', false],
    ['2026-4-1', false],
  ])('date %s → %s', (value, expected) => {
    expect(matchesFormat(value, 'date')).toBe(expected);
  });

  it.each([
    ['3f2b8c1e-7a4d-4e0b-9c6f-1d2e3f4a5b6c', true],
    ['3F2B8C1E-7A4D-4E0B-9C6F-1D2E3F4A5B6C', true],
    ['3f2b8c1e7a4d4e0b9c6f1d2e3f4a5b6c', false],
    ['3f2b8c1e-7a4d-4e0b-9c6f-1d2e3f4a5b6', false],
  ])('uuid %s → %s', (value, expected) => {
    expect(matchesFormat(value, 'uuid')).toBe(expected);
  });

  it('stays fast on long hostile inputs', () => {
    const start = performance.now();
    for (const format of ['email', 'uri', 'date-time', 'date', 'uuid'] as const) {
      matchesFormat(`${'a.'.repeat(50_000)}@`, format);
      matchesFormat(`a@${'a-'.repeat(50_000)}`, format);
    }
    // Generous: a backtracking blow-up would take seconds, linear matching takes about a millisecond.
    expect(performance.now() - start).toBeLessThan(500);
  });
});
