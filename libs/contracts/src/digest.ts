import { createHash } from 'node:crypto';

/**
 * The digest an intent's args are known by (the executor's idempotency check, the args an approval
 * binds to): sha256 of `{ tool, args }` as canonical JSON (keys sorted at every level), so two copies of an
 * intent compare equal whatever order their producer wrote the keys in.
 */
export function digestArgs(tool: string, args: Readonly<Record<string, unknown>>): string {
  return sha256(canonicalJson({ tool, args }));
}

/** Hex sha256 of a string's UTF-8 bytes. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * JSON with object keys sorted at every level and `undefined` members left out: equal values give
 * equal text whatever order their producer wrote the keys in.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`);
    return `{${entries.join(',')}}`;
  }
  // JSON.stringify returns undefined (despite its type) for undefined, functions and symbols.
  const text = JSON.stringify(value) as string | undefined;
  return text ?? 'null';
}
