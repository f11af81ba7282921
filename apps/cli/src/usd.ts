import { formatUsd, parseUsd, type UsdParseError } from '@warden/contracts';
import { InvalidArgumentError } from 'commander';

/** What to tell an operator who typed an amount `parseUsd` refused. */
const PROBLEMS: Record<UsdParseError, string> = {
  negative: 'must not be negative: a USD amount like 5 or 0.25',
  not_a_number:
    'must be a USD amount in plain decimals, like 5, 5.00 or 0.000001 (no "$", commas or exponents)',
  too_many_decimals:
    'has more than 6 decimals: amounts are whole micro-dollars (0.000001 USD), round it to 6 decimals',
  too_large: `is too large: at most ${formatUsd(Number.MAX_SAFE_INTEGER)} USD`,
};

/**
 * The micro-USD of a decimal USD amount typed on the command line (`"5.00"` → 5000000), for
 * Commander option parsers: the contracts' `parseUsd`, with errors that say what a valid amount
 * looks like.
 *
 * @throws InvalidArgumentError when the amount is refused.
 */
export function parseUsdToMicros(value: string): number {
  const parsed = parseUsd(value.trim());
  if (!parsed.ok) throw new InvalidArgumentError(PROBLEMS[parsed.error]);
  return parsed.microUsd;
}

export { formatUsd };
