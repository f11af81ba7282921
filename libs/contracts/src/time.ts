import { z } from 'zod';

/** RFC 3339 in UTC with exactly six fractional digits: `2026-11-26T16:20:05.123456Z`. */
export const RFC3339_MICROS_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A timestamp as events carry it (DESIGN §3: RFC 3339, µs). */
export const Timestamp = z.string().regex(RFC3339_MICROS_PATTERN, {
  error: 'must be RFC 3339 UTC with microseconds, e.g. 2026-11-26T16:20:05.123456Z',
});

/** Formats epoch microseconds as an event timestamp. */
export function formatMicros(epochMicros: number): string {
  const millis = Math.floor(epochMicros / 1000);
  const micros = Math.floor(epochMicros % 1000);
  return `${new Date(millis).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/**
 * The current time with microsecond resolution. `Date.now()` has only milliseconds, so the
 * sub-millisecond part comes from the monotonic clock anchored at process start.
 */
export function nowMicros(): string {
  return formatMicros(Math.floor((performance.timeOrigin + performance.now()) * 1000));
}
