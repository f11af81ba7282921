import { z } from 'zod';
import { ExecutionVerdict, SecretRef } from '../api/executor.js';
import { Ulid } from '../ids.js';
import { Actor } from './common.js';

/*
 * The executor's events that people cause: credential changes, reviews of in-doubt executions, and
 * the reading and erasing of a run's sealed outputs.
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

/**
 * `run.outputs_opened`: an admin opened sealed outputs of a run (`warden runs outputs`), to
 * replay it or to answer a question about it. Raw outputs may hold what redaction removed from the
 * log, so reading them is on the record: who, why, and which intents. The run id is the envelope's.
 */
export const RunOutputsOpened = z.strictObject({
  by: Actor,
  purpose: z.string().min(1).max(512),
  intent_ids: z.array(Ulid).max(500),
});
export type RunOutputsOpened = z.infer<typeof RunOutputsOpened>;

/**
 * `run.outputs_erased`: an admin erased a run's key (`warden runs erase-outputs`), so its sealed
 * outputs open nowhere again: how a fact is forgotten in an append-only log. `had_key: false`
 * when the run never sealed anything (or was erased before). The run id is the envelope's.
 */
export const RunOutputsErased = z.strictObject({
  by: Actor,
  reason: z.string().min(1).max(512),
  had_key: z.boolean(),
});
export type RunOutputsErased = z.infer<typeof RunOutputsErased>;
