import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The rule every id that becomes a NATS subject token must follow (DESIGN §3): lower-case letters,
 * digits, `_` and `-`, starting with a letter or digit, at most 64 characters. It excludes `.`,
 * `*`, `>` and white space, so an id can never split a subject or act as a wildcard.
 */
export const SUBJECT_TOKEN_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A human-readable statement of {@link SUBJECT_TOKEN_PATTERN}, for error messages. */
export const SUBJECT_TOKEN_RULE =
  'must be 1-64 characters of a-z, 0-9, "_" or "-", starting with a letter or digit (no dots, wildcards or spaces)';

/** A subject-safe id: envs, agents, runs, workflows. */
export const SubjectToken = z.string().regex(SUBJECT_TOKEN_PATTERN, { error: SUBJECT_TOKEN_RULE });

/** Whether `value` may be used as one token of a subject. */
export function isSubjectToken(value: string): boolean {
  return SUBJECT_TOKEN_PATTERN.test(value);
}

/** Crockford base32, the ULID alphabet. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID: 26 Crockford base32 characters, the first 10 a millisecond timestamp. */
export const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** Event ids and intent ids are ULIDs: sortable by time, safe as `Nats-Msg-Id` and KV keys. */
export const Ulid = z
  .string()
  .regex(ULID_PATTERN, { error: 'must be a ULID (26 characters, Crockford base32)' });

/**
 * A tool name as registered: dotted lower-case segments (`zendesk.update_ticket`). Tool names
 * live in event data, never in a subject token, because they contain dots.
 */
export const ToolName = z
  .string()
  .max(128)
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/, {
    error: 'must be dotted lower-case segments of a-z, 0-9 and "_", e.g. zendesk.update_ticket',
  });

/**
 * The id of an event that re-processing produces again: the same cause and type always give the
 * same id, so a handler that runs twice publishes a duplicate JetStream drops (DESIGN §3).
 *
 * The result is a valid ULID. When the cause is a ULID its timestamp is kept, so derived events
 * sort next to their cause; the other 80 bits come from a hash of (cause, type, discriminator).
 * `discriminator` separates several events of one type caused by one event (e.g. an attempt number).
 */
export function deriveEventId(causeId: string, type: string, discriminator = ''): string {
  const digest = createHash('sha256')
    .update(`${causeId}\u0000${type}\u0000${discriminator}`)
    .digest();
  // A cause that is no ULID gives no time: a leading '0' keeps the result a valid ULID.
  const time = ULID_PATTERN.test(causeId)
    ? causeId.slice(0, 10)
    : `0${encodeBase32(digest.subarray(16), 9)}`;
  return time + encodeBase32(digest, 16);
}

/** Encodes the leading `length * 5` bits of `bytes` as Crockford base32. */
function encodeBase32(bytes: Uint8Array, length: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  let index = 0;
  while (out.length < length) {
    if (bits < 5) {
      buffer = ((buffer << 8) | (bytes[index++] ?? 0)) & 0xffff;
      bits += 8;
    }
    bits -= 5;
    out += CROCKFORD[(buffer >> bits) & 31] ?? '0';
  }
  return out;
}
