import { InvalidArgumentError } from 'commander';

/*
 * Durations on the command line: `30s`, `5m`, `1h`, `1h30m`, `500ms`. A bare number is refused
 * rather than guessed at (seconds? milliseconds?).
 */

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** What a valid duration looks like, for error messages and help. */
export const DURATION_FORM = 'a duration like 30s, 5m, 1h or 1h30m';

/**
 * The milliseconds of a duration (`"1m"` → 60000, `"1h30m"` → 5400000). Refuses a bare number, an
 * unknown unit, zero and anything beyond the safe integer range.
 *
 * @throws InvalidArgumentError saying what a valid duration looks like.
 */
export function parseDurationMs(value: string): number {
  const text = value.trim();
  if (!DURATION.test(text)) {
    throw new InvalidArgumentError(
      /^\d+$/.test(text)
        ? `needs a unit: ${DURATION_FORM} (ms, s, m, h or d)`
        : `must be ${DURATION_FORM} (units ms, s, m, h, d)`,
    );
  }
  let total = 0;
  for (const [, amount = '0', unit = 'ms'] of text.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit as Unit];
  }
  if (!Number.isSafeInteger(total)) throw new InvalidArgumentError('is too long');
  if (total === 0) throw new InvalidArgumentError('must be longer than 0');
  return total;
}

/** A duration in milliseconds as {@link parseDurationMs} reads it: `5400000` → `"1h30m"`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const amount = Math.floor(rest / UNIT_MS[unit]);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * UNIT_MS[unit];
  }
  return text;
}
