import { z } from 'zod';
import { Actor, SubjectToken } from './common.js';

/** `agent.registered`: a non-human identity was created. */
export const AgentRegistered = z.strictObject({
  owner: Actor,
  domains: z.array(z.string().min(1)),
  environment: SubjectToken,
  risk_tier: z.string().min(1).max(32).optional(),
  tool_groups: z.array(z.string()).optional(),
  by: Actor.optional(),
});

/** `agent.suspended` / `agent.resumed` / `agent.retired`: an agent's lifecycle changed. */
export const AgentStatusChanged = z.strictObject({
  by: Actor,
  reason: z.string().max(2048).optional(),
});

/** `credential.issued`: a short-lived token was minted (its id and expiry, never the token). */
export const CredentialIssued = z.strictObject({
  jti: z.string().min(1),
  expires_at: z.string(),
  scope: z.array(z.string()),
});

/** `credential.revoked`: a token (by `jti`) or every token of the agent was revoked. */
export const CredentialRevoked = z.strictObject({
  jti: z.string().min(1).optional(),
  by: Actor,
  reason: z.string().max(2048).optional(),
});

/** `signing_key.rotated`: the broker signs with a new key; old keys verify until their tokens expire. */
export const SigningKeyRotated = z.strictObject({
  kid: z.string().min(1),
  by: Actor.optional(),
});
