/**
 * Money in the ledger is integer micro-USD (1 USD = 1,000,000 µUSD), the unit of `MicroUsd` in
 * the contracts. Floating point never touches it: 0.1 + 0.2 is not 0.3 in IEEE 754, and a budget
 * that must hold "exactly 37 reservations" cannot tolerate a drifting sum.
 */

/** Micro-USD in one US dollar. */
export const MICRO_USD_PER_USD = 1_000_000;

const MICRO_PER_USD = 1_000_000n;
const TOKENS_PER_MILLION = 1_000_000n;
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
 * back to the same amount with {@link parseUsd} (for non-negative amounts).
 *
 * @throws RangeError when `microUsd` is not a safe integer.
 */
export function formatUsd(microUsd: number): string {
  assertSafeInteger(microUsd, 'amount');
  const sign = microUsd < 0 ? '-' : '';
  const abs = Math.abs(microUsd);
  const whole = Math.floor(abs / MICRO_USD_PER_USD);
  const fraction = String(abs % MICRO_USD_PER_USD)
    .padStart(6, '0')
    .replace(/0{1,4}$/, '');
  return `${sign}${whole}.${fraction.padEnd(2, '0')}`;
}

/**
 * The cost of `tokens` at `microUsdPerMillionTokens` (a model's price: $3 per million tokens is
 * 3_000_000), rounded UP to the micro-USD: an estimate that rounds down could let a budget be
 * overspent by a fraction per call, which adds up over thousands of calls.
 *
 * The product is computed in BigInt: 10^9 tokens at $100/M is 10^17, beyond 2^53.
 *
 * @throws RangeError when an input is not a non-negative safe integer, or the cost is not one.
 */
export function costOfTokens(tokens: number, microUsdPerMillionTokens: number): number {
  return costOfModelCall(
    { inputTokens: tokens, outputTokens: 0 },
    { inputMicroUsdPerMillion: microUsdPerMillionTokens, outputMicroUsdPerMillion: 0 },
  );
}

/** A model's price: micro-USD per million input and per million output tokens. */
export interface TokenPrice {
  readonly inputMicroUsdPerMillion: number;
  readonly outputMicroUsdPerMillion: number;
}

/** Tokens of one model call. */
export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/**
 * The cost of one model call: input and output tokens at their prices, summed exactly and then
 * rounded UP once to the micro-USD (rounding each part separately could add a micro-USD that was
 * never spent).
 *
 * @throws RangeError when an input is not a non-negative safe integer, or the cost is not one.
 */
export function costOfModelCall(usage: TokenUsage, price: TokenPrice): number {
  const parts: [number, string][] = [
    [usage.inputTokens, 'input tokens'],
    [usage.outputTokens, 'output tokens'],
    [price.inputMicroUsdPerMillion, 'input price'],
    [price.outputMicroUsdPerMillion, 'output price'],
  ];
  for (const [value, name] of parts) assertNonNegativeSafeInteger(value, name);
  const numerator =
    BigInt(usage.inputTokens) * BigInt(price.inputMicroUsdPerMillion) +
    BigInt(usage.outputTokens) * BigInt(price.outputMicroUsdPerMillion);
  const cost = (numerator + TOKENS_PER_MILLION - 1n) / TOKENS_PER_MILLION;
  if (cost > MAX_SAFE) throw new RangeError(`cost ${cost} µUSD exceeds the safe integer range`);
  return Number(cost);
}

/**
 * `a + b` for micro-USD (or token) amounts, refusing a sum that would leave the safe integer range
 * (where `+` silently stops being exact).
 *
 * @throws RangeError when an operand or the sum is not a safe integer.
 */
export function addExact(a: number, b: number): number {
  assertSafeInteger(a, 'left operand');
  assertSafeInteger(b, 'right operand');
  const sum = a + b;
  if (!Number.isSafeInteger(sum))
    throw new RangeError(`${a} + ${b} exceeds the safe integer range`);
  return sum;
}

/** @throws RangeError when `value` is not a safe integer. */
export function assertSafeInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value))
    throw new RangeError(`${name} must be a safe integer: ${value}`);
}

/** @throws RangeError when `value` is not a non-negative safe integer. */
export function assertNonNegativeSafeInteger(value: number, name: string): void {
  assertSafeInteger(value, name);
  if (value < 0) throw new RangeError(`${name} must not be negative: ${value}`);
}
