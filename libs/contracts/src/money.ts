/**
 * Money in Warden is integer micro-USD (1 USD = 1,000,000 µUSD), the unit of `MicroUsd`: in
 * events, budgets, the log and the CLI. Floating point never touches it: 0.1 + 0.2 is not 0.3 in
 * IEEE 754, and a budget that must hold "exactly 37 reservations" cannot tolerate a drifting sum.
 * These two functions are the one place an amount is read from, or written as, decimal USD.
 */

/** Micro-USD in one US dollar. */
export const MICRO_USD_PER_USD = 1_000_000;

const MICRO_PER_USD = 1_000_000n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Why {@link parseUsd} refused a string. */
export type UsdParseError = 'not_a_number' | 'negative' | 'too_many_decimals' | 'too_large';

/** The result of {@link parseUsd}: the amount in micro-USD, or why it was refused. */
export type UsdParseResult =
  | { readonly ok: true; readonly microUsd: number }
  | { readonly ok: false; readonly error: UsdParseError };

// Plain decimal notation only: no exponent ("1e3"), no sign, no leading dot, no grouping. An
// operator typing a budget should see exactly the digits that are stored.
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a USD amount written in decimal (`"0.25"` → 250000). Refuses negatives, anything that is
 * not plain decimal notation (`NaN`, `1e3`, `""`, `.5`), more than 6 decimals (a fraction of a
 * micro-USD cannot be stored, and silently rounding a budget is worse than refusing it) and
 * amounts beyond `Number.MAX_SAFE_INTEGER` micro-USD.
 */
export function parseUsd(text: string): UsdParseResult {
  if (text.startsWith('-')) return { ok: false, error: 'negative' };
  const match = DECIMAL.exec(text);
  if (match === null) return { ok: false, error: 'not_a_number' };
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > 6) return { ok: false, error: 'too_many_decimals' };
  // BigInt: `whole` may have any number of digits; the check against 2^53 must be exact.
  const micro = BigInt(whole) * MICRO_PER_USD + BigInt(fraction.padEnd(6, '0'));
  if (micro > MAX_SAFE) return { ok: false, error: 'too_large' };
  return { ok: true, microUsd: Number(micro) };
}

/**
 * Formats micro-USD as a decimal USD string with at least two decimals and no trailing zeros
 * beyond them (`250000` → `"0.25"`, `1` → `"0.000001"`, `-1500000` → `"-1.50"`). The output parses
 * back to the same amount with {@link parseUsd} (for non-negative amounts). A `bigint` is exact
 * beyond 2^53 (ClickHouse sums come back as 64-bit integers).
 *
 * @throws RangeError when a `number` is not a safe integer.
 */
export function formatUsd(microUsd: number | bigint): string {
  if (typeof microUsd === 'number' && !Number.isSafeInteger(microUsd)) {
    throw new RangeError(`amount must be a safe integer: ${microUsd}`);
  }
  const amount = BigInt(microUsd);
  const abs = amount < 0n ? -amount : amount;
  const fraction = (abs % MICRO_PER_USD)
    .toString()
    .padStart(6, '0')
    .replace(/0{1,4}$/, '');
  return `${amount < 0n ? '-' : ''}${abs / MICRO_PER_USD}.${fraction.padEnd(2, '0')}`;
}
