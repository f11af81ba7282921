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

/** A subject-safe id: agents, runs, intents, envs. */
export const SubjectToken = z.string().regex(SUBJECT_TOKEN_PATTERN, { error: SUBJECT_TOKEN_RULE });

/** Whether `value` may be used as one token of a subject. */
export function isSubjectToken(value: string): boolean {
  return SUBJECT_TOKEN_PATTERN.test(value);
}
