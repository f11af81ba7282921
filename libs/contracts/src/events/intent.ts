import { z } from 'zod';
import { ReasonCode, SubjectToken, ToolArgs, ToolName } from './common.js';

/** `intent.proposed`: an agent asks to call a tool (DESIGN §2 step 1). The credential rides in a header, never here. */
export const IntentProposed = z.strictObject({
  tool: ToolName,
  args: ToolArgs,
  /** 1-based position of this intent in its run, as the agent counts it. */
  step: z.number().int().positive(),
});
export type IntentProposed = z.infer<typeof IntentProposed>;

/** The verified identity attached to an intent by the identity broker. */
export const Principal = z.strictObject({
  agent_id: SubjectToken,
  owner: z.string().min(1).optional(),
  domains: z.array(z.string()),
  environment: SubjectToken.optional(),
  risk_tier: z.string().optional(),
  tool_groups: z.array(z.string()).optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
});
export type Principal = z.infer<typeof Principal>;

/** `intent.authenticated`: the credential verified and stripped, the principal attached (step 2). */
export const IntentAuthenticated = z.strictObject({
  tool: ToolName,
  args: ToolArgs,
  step: z.number().int().positive(),
  principal: Principal,
  /** The verified token's id and expiry: enough to audit and revoke, never the token itself. */
  credential: z.strictObject({ jti: z.string().min(1), expires_at: z.string() }).optional(),
});
export type IntentAuthenticated = z.infer<typeof IntentAuthenticated>;

/** Terminal statuses of an intent. */
export const ResolutionStatus = z.enum(['executed', 'failed', 'denied', 'rejected', 'in_doubt']);
export type ResolutionStatus = z.infer<typeof ResolutionStatus>;

/** The stage that resolved an intent. */
export const Stage = z.enum(['identity', 'validation', 'policy', 'approval', 'budget', 'executor']);
export type Stage = z.infer<typeof Stage>;

/**
 * A tool's raw output sealed with its run's key (AES-256-GCM, the intent id as additional data),
 * kept beside the redacted `output` when the tool declares `executor.seal_output`: replay can open
 * it while the key exists, and deleting the run's key erases it from an append-only log.
 */
export const SealedOutput = z.strictObject({
  alg: z.literal('A256GCM'),
  /** The run whose key sealed it. */
  key_id: z.string().min(1).max(128),
  iv: z.string().min(1).max(64),
  ciphertext: z.string().min(1),
  tag: z.string().min(1).max(64),
});
export type SealedOutput = z.infer<typeof SealedOutput>;

/** `intent.resolved`: the one terminal event an agent waits for. */
export const IntentResolved = z.strictObject({
  status: ResolutionStatus,
  stage: Stage,
  tool: ToolName.optional(),
  reason: ReasonCode.optional(),
  message: z.string().max(2048).optional(),
  output: z.unknown().optional(),
  sealed_output: SealedOutput.optional(),
  duration_ms: z.number().nonnegative().optional(),
  upstream_status: z.number().int().optional(),
  policy_ids: z.array(z.string()).optional(),
  /** Validation errors or other structured detail a person can act on. */
  details: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
});
export type IntentResolved = z.infer<typeof IntentResolved>;
