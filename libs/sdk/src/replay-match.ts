import { redact } from '@warden/redaction';

/** The prefix of every redaction marker (`[REDACTED:email]`), as `@warden/redaction` writes it. */
const MARKER_PREFIX = '[REDACTED:';

/**
 * The args as the audit log would store them: through JSON (what the stream carries: `undefined`
 * fields vanish, dates become strings) and then redacted exactly as the trace collector redacts
 * `data` before it stores it. A recording only has the stored form, so this is the only form the
 * agent's args can honestly be compared in.
 */
export function canonicalArgs(args: Record<string, unknown>): unknown {
  return redact(JSON.parse(JSON.stringify(args)) as unknown).value;
}

/**
 * Where the args an agent asks for differ from the recorded ones, after {@link canonicalArgs}:
 * `undefined` when they are equal, else the first difference as a path and both values
 * (`args.ticket_id: recorded 3, asked 4`). Key order does not matter; array order does.
 *
 * A value the collector redacted is compared by its marker only: `[REDACTED:email]` equals any
 * e-mail address, `mail [REDACTED:email] now` any text of that shape. That is all the log keeps,
 * so a replay cannot tell two different e-mail addresses apart and does not pretend to.
 */
export function argsDifference(
  recorded: Readonly<Record<string, unknown>>,
  asked: Record<string, unknown>,
): string | undefined {
  return firstDifference(recorded, canonicalArgs(asked), 'args');
}

function firstDifference(recorded: unknown, asked: unknown, path: string): string | undefined {
  if (Object.is(recorded, asked)) return undefined;
  if (Array.isArray(recorded) && Array.isArray(asked)) {
    for (let i = 0; i < Math.max(recorded.length, asked.length); i++) {
      if (i >= recorded.length || i >= asked.length) {
        return `${path}: recorded ${recorded.length} items, asked ${asked.length}`;
      }
      const found = firstDifference(recorded[i], asked[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (isPlainObject(recorded) && isPlainObject(asked)) {
    const keys = [...new Set([...Object.keys(recorded), ...Object.keys(asked)])].sort();
    for (const key of keys) {
      if (!(key in recorded)) return `${path}.${key}: not recorded, asked ${show(asked[key])}`;
      if (!(key in asked)) return `${path}.${key}: recorded ${show(recorded[key])}, not asked`;
      const found = firstDifference(recorded[key], asked[key], `${path}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const note =
    typeof recorded === 'string' && recorded.includes(MARKER_PREFIX)
      ? ' (the log keeps this value redacted: only its redacted form is compared)'
      : '';
  return `${path}: recorded ${show(recorded)}, asked ${show(asked)}${note}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  // JSON.stringify answers undefined (not a string) for undefined.
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
