import { z } from 'zod';
import { ExecutionVerdict, SecretRef } from '../api/executor.js';
import { Actor } from './common.js';

/*
 * The executor's events that people cause: credential changes and reviews of in-doubt executions.
 */

/**
 * `secret.changed`: an admin set, rotated or deleted a tool credential of the executor (audit).
 * Names the ref and its version, never the value.
 */
export const SecretChanged = z.strictObject({
  ref: SecretRef,
  /** The version now current (`set`, `rotated`), or the one deleted. */
  version: z.number().int().positive(),
  action: z.enum(['set', 'rotated', 'deleted']),
  by: Actor,
});
export type SecretChanged = z.infer<typeof SecretChanged>;

/**
 * `execution.reviewed`: a person checked the upstream of an execution that ended `in_doubt` and
 * says whether its write happened (`warden executions resolve`). The intent id is the envelope's.
 */
export const ExecutionReviewed = z.strictObject({
  tool: z.string().min(1).max(128),
  verdict: ExecutionVerdict,
  note: z.string().min(1).max(2048),
  by: Actor,
});
export type ExecutionReviewed = z.infer<typeof ExecutionReviewed>;
