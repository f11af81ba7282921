import { z } from 'zod';
import { SubjectToken, ToolName } from '../ids.js';
import { Timestamp } from '../time.js';

/** Integer micro-USD: money is never a floating-point number in Warden. */
export const MicroUsd = z.number().int().min(0);

/** The arguments of a tool call as the agent sent them (validated later against the tool's schema). */
export const ToolArgs = z.record(z.string(), z.unknown());

/** A stable, machine-readable reason code (`step_cap`, `token_expired`, …). */
export const ReasonCode = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, { error: 'must be a snake_case reason code' });

/** Who did something: a human principal, a service, or an agent. */
export const Actor = z.string().min(1).max(256);

/** The run limits an agent may declare; they can only tighten the configured ones. */
export const RunLimits = z.strictObject({
  max_steps: z.number().int().positive().optional(),
  budget_micro_usd: MicroUsd.optional(),
  max_tokens: z.number().int().positive().optional(),
  max_duration_ms: z.number().int().positive().optional(),
});

export { SubjectToken, Timestamp, ToolName };
