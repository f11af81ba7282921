import { describe, expect, it } from 'vitest';
import { defaultBackoffMs, isOutcome, Outcome } from './consume-events.js';

describe('Outcome', () => {
  it('recognises the three outcomes and nothing else', () => {
    expect(isOutcome(Outcome.processed)).toBe(true);
    expect(isOutcome(Outcome.skipped)).toBe(true);
    expect(isOutcome(Outcome.retry(250))).toBe(true);
    for (const value of [
      undefined,
      null,
      'done',
      {},
      { retry: 'soon' },
      { retry: Number.NaN },
      0,
    ]) {
      expect(isOutcome(value)).toBe(false);
    }
  });

  it('rounds a retry delay to whole, non-negative milliseconds', () => {
    expect(Outcome.retry(12.7)).toEqual({ retry: 13 });
    expect(Outcome.retry(-5)).toEqual({ retry: 0 });
  });
});

describe('defaultBackoffMs', () => {
  it('doubles from about 1 s per delivery and stops at about 30 s', () => {
    for (let i = 0; i < 50; i++) {
      expect(defaultBackoffMs(1)).toBeGreaterThanOrEqual(800);
      expect(defaultBackoffMs(1)).toBeLessThanOrEqual(1_200);
      expect(defaultBackoffMs(3)).toBeGreaterThanOrEqual(3_200);
      expect(defaultBackoffMs(3)).toBeLessThanOrEqual(4_800);
      expect(defaultBackoffMs(20)).toBeLessThanOrEqual(36_000);
    }
  });
});
