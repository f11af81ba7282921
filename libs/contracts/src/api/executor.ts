import { z } from 'zod';
import { Actor } from '../events/common.js';
import { SubjectToken, Ulid } from '../ids.js';
import { SealedOutput } from '../events/intent.js';
import { Timestamp } from '../time.js';

/*
 * The tool executor's request/reply APIs: `warden.<env>.api.tools.<op>`, one op per entry of
 * EXECUTOR_API. They manage the credentials the executor injects into upstream calls (DESIGN §6:
 * tool secrets are per env and never leave the executor). Every op needs a human token with the
 * `admin` role in the `Warden-Credential` header. A value goes in and never comes out: no result,
 * event or error carries one.
 */

/** The longest secret ref. */
export const MAX_SECRET_REF_LENGTH = 128;
/** The longest secret value, characters. */
export const MAX_SECRET_VALUE_LENGTH = 8192;

/**
 * One segment of a ref: lower-case letters, digits, `_`, `-` and `.`, starting with a letter or
 * digit; a `.` is never doubled nor last. The ref is the executor's KV key as it is (`/` is a valid
 * KV key character), and a `..` or a trailing `.` would make an empty subject token there.
 */
const SEGMENT = String.raw`[a-z0-9](?:[a-z0-9_-]|\.(?=[a-z0-9_-]))*`;

/** The pattern of a {@link SecretRef}: segments joined by `/`. */
export const SECRET_REF_PATTERN = new RegExp(`^${SEGMENT}(?:/${SEGMENT})*$`);

/** {@link SECRET_REF_PATTERN} in words, for error messages. */
export const SECRET_REF_RULE = `must be at most ${MAX_SECRET_REF_LENGTH} characters: segments of a-z, 0-9, "_", "-" or "." (starting with a letter or digit, no ".." and no "." at the end) joined by "/", e.g. helpdesk/api-token`;

/** The name of a tool credential, e.g. `helpdesk/api-token`: what a tool declaration refers to. */
export const SecretRef = z
  .string()
  .max(MAX_SECRET_REF_LENGTH, { error: SECRET_REF_RULE })
  .regex(SECRET_REF_PATTERN, { error: SECRET_REF_RULE });
export type SecretRef = z.infer<typeof SecretRef>;

/** Whether `value` is a valid {@link SecretRef}. */
export function isSecretRef(value: string): boolean {
  return value.length <= MAX_SECRET_REF_LENGTH && SECRET_REF_PATTERN.test(value);
}

/**
 * A secret value. Its error messages never quote it (zod's own messages for these checks do not
 * include the input), so a refusal cannot echo a credential back.
 */
export const SecretValue = z
  .string()
  .min(1, { error: 'the value is empty' })
  .max(MAX_SECRET_VALUE_LENGTH, {
    error: `the value is longer than ${MAX_SECRET_VALUE_LENGTH} characters`,
  });

/** What is known about a stored secret: never its value. */
export const SecretView = z.strictObject({
  ref: SecretRef,
  /** Goes up by one at every set and rotation (1 when first set). */
  version: z.number().int().positive(),
  /** Who wrote the current value (`human:<id>`), and when. */
  set_by: Actor,
  set_at: Timestamp,
  /** When the current value replaced the previous one by a rotation; absent after a plain set. */
  rotated_at: Timestamp.optional(),
  /** The version still accepted beside the current one after a rotation, until the next. */
  previous_version: z.number().int().positive().optional(),
});
export type SecretView = z.infer<typeof SecretView>;

/** `secret-set`: creates the ref or replaces its value (a replaced value is forgotten at once). */
export const SecretSetRequest = z.strictObject({ ref: SecretRef, value: SecretValue });
/**
 * `secret-rotate`: the ref must exist; the new value becomes current and the old one is kept as
 * `previous` until the next rotation, so calls already under way can finish.
 */
export const SecretRotateRequest = SecretSetRequest;
/** What `secret-set` and `secret-rotate` answer: the secret as now stored, without its value. */
export const SecretWriteResult = z.strictObject({ secret: SecretView, created: z.boolean() });
export type SecretWriteResult = z.infer<typeof SecretWriteResult>;

/** `secret-list`: every ref of this env, sorted, without values. */
export const SecretListRequest = z.strictObject({});
export const SecretListResult = z.strictObject({ secrets: z.array(SecretView) });

/** `secret-delete`: forgets the ref and both its values. */
export const SecretDeleteRequest = z.strictObject({ ref: SecretRef });
/** `deleted: false`: there was no such ref. */
export const SecretDeleteResult = z.strictObject({
  ref: SecretRef,
  deleted: z.boolean(),
  /** The version that was deleted. */
  version: z.number().int().positive().optional(),
});

/** What a person who checked the upstream found: the in-doubt write happened, or it did not. */
export const ExecutionVerdict = z.enum(['applied', 'not_applied']);
export type ExecutionVerdict = z.infer<typeof ExecutionVerdict>;

/**
 * `execution-review`: the verdict on an execution that ended `in_doubt` (DESIGN §5: a human checks
 * the target system), recorded on its execution record and logged as `execution.reviewed`. A
 * second review with the same verdict changes nothing; another verdict is refused.
 */
export const ExecutionReviewRequest = z.strictObject({
  intent_id: Ulid,
  verdict: ExecutionVerdict,
  /** What was checked, for the log: `ticket 42 is closed in the helpdesk`. */
  note: z.string().min(1).max(2048),
});
export const ExecutionReviewResult = z.strictObject({
  intent_id: Ulid,
  tool: z.string(),
  verdict: ExecutionVerdict,
  reviewed_by: Actor,
  reviewed_at: Timestamp,
  /** `false`: it had been reviewed so before. */
  changed: z.boolean(),
});
export type ExecutionReviewResult = z.infer<typeof ExecutionReviewResult>;

/** The most sealed outputs one `outputs-open` opens (a run's steps, in one request). */
export const MAX_OUTPUTS_PER_OPEN = 500;

/**
 * `outputs-open`: opens sealed outputs of one run, as the collector stored them (the `sealed`
 * column of their `intent.resolved` rows). Logged as `run.outputs_opened` with who and why before
 * anything is answered.
 */
export const OutputsOpenRequest = z.strictObject({
  run_id: SubjectToken,
  /** Why they are read, for the log: `replay for incident 42`. */
  purpose: z.string().min(1).max(512),
  outputs: z
    .array(z.strictObject({ intent_id: Ulid, sealed: SealedOutput }))
    .min(1)
    .max(MAX_OUTPUTS_PER_OPEN),
});
/**
 * One output per request item, in order: `opened` with the raw output, or `erased` (the run's key
 * is gone) or `unreadable` (it was not sealed by this run's key for this intent).
 */
export const OpenedOutput = z.discriminatedUnion('status', [
  z.strictObject({ intent_id: Ulid, status: z.literal('opened'), output: z.unknown() }),
  z.strictObject({ intent_id: Ulid, status: z.enum(['erased', 'unreadable']) }),
]);
export type OpenedOutput = z.infer<typeof OpenedOutput>;
export const OutputsOpenResult = z.strictObject({
  run_id: SubjectToken,
  outputs: z.array(OpenedOutput),
});
export type OutputsOpenResult = z.infer<typeof OutputsOpenResult>;

/**
 * `outputs-erase`: forgets the run's key, so none of its sealed outputs opens again, wherever
 * they were copied. Logged as `run.outputs_erased` with who and why. Erasing twice is harmless.
 */
export const OutputsEraseRequest = z.strictObject({
  run_id: SubjectToken,
  reason: z.string().min(1).max(512),
});
export const OutputsEraseResult = z.strictObject({
  run_id: SubjectToken,
  /** `false`: the run had no key (it sealed nothing, or was erased before). */
  had_key: z.boolean(),
  erased_by: Actor,
});
export type OutputsEraseResult = z.infer<typeof OutputsEraseResult>;

/**
 * Every executor API op: its request and result schemas, and who may call it. Listing is `admin`
 * too: the refs map which upstreams hold credentials and who handles them, and only admins can
 * act on that; nobody else needs it to use a tool.
 */
export const EXECUTOR_API = {
  'secret-set': { request: SecretSetRequest, result: SecretWriteResult, access: 'admin' },
  'secret-rotate': { request: SecretRotateRequest, result: SecretWriteResult, access: 'admin' },
  'secret-list': { request: SecretListRequest, result: SecretListResult, access: 'admin' },
  'secret-delete': { request: SecretDeleteRequest, result: SecretDeleteResult, access: 'admin' },
  'execution-review': {
    request: ExecutionReviewRequest,
    result: ExecutionReviewResult,
    access: 'admin',
  },
  'outputs-open': { request: OutputsOpenRequest, result: OutputsOpenResult, access: 'admin' },
  'outputs-erase': { request: OutputsEraseRequest, result: OutputsEraseResult, access: 'admin' },
} as const;
export type ExecutorApiOp = keyof typeof EXECUTOR_API;
