import { z } from 'zod';
import { SecretRef } from '../api/executor.js';
import { Actor } from './common.js';

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
