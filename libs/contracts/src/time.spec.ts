import { describe, expect, it } from 'vitest';
import { formatMicros, nowMicros, RFC3339_MICROS_PATTERN } from './time.js';

describe('event timestamps', () => {
  it('formats epoch microseconds with six fractional digits', () => {
    expect(formatMicros(1_764_174_005_123_456)).toBe('2025-11-26T16:20:05.123456Z');
  });

  it('reads the clock with microsecond resolution', () => {
    const now = nowMicros();
    expect(now).toMatch(RFC3339_MICROS_PATTERN);
    expect(Math.abs(Date.parse(now) - Date.now())).toBeLessThan(1000);
  });
});
