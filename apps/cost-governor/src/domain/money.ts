/**
 * Exact arithmetic on integer micro-USD (see `money.ts` of the contracts for why integers, and
 * for parsing and formatting amounts): token prices, and sums that refuse to leave the range
 * where `+` is exact.
 */

const TOKENS_PER_MILLION = 1_000_000n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

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
