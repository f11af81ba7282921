/** A duration: milliseconds, or text such as `'500ms'`, `'30s'`, `'10m'`, `'2h'`, `'1h30m'`, `'1d'`. */
export type Duration = number | string;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * A {@link Duration} in milliseconds. A number is taken as milliseconds; text is one or more
 * `<number><unit>` parts (`ms`, `s`, `m`, `h`, `d`), largest first or not, with no spaces
 * (`'10m'`, `'1h30m'`, `'1.5s'`). The result must be positive and finite.
 *
 * @throws TypeError naming `field` for anything else (`'10'`, `'10 min'`, `'-1s'`, `0`).
 */
export function parseDuration(value: Duration, field = 'duration'): number {
  const ms = typeof value === 'number' ? value : parseText(value.trim());
  if (ms === undefined || !(ms > 0) || !Number.isFinite(ms)) {
    throw new TypeError(
      `${field} must be a positive number of milliseconds or a duration such as '30s', '10m' or '1h30m', got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

function parseText(text: string): number | undefined {
  if (text === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (match === null) return undefined;
    const [, amount, unit] = match;
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}
