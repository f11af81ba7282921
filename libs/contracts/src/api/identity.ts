import { z } from 'zod';
import { SubjectToken } from '../ids.js';
import { Timestamp } from '../time.js';
import { apiReply } from './reply.js';

/**
 * `warden.<env>.api.identity.token`: a short-lived token for an agent. In development mode the
 * broker issues one to any agent that asks (no registration, no secret): the identity issue
 * replaces this with client secrets and signed assertions.
 */
export const TokenRequest = z.strictObject({
  agent_id: SubjectToken,
  /** Requested lifetime in seconds; the broker caps it. */
  ttl_seconds: z.number().int().positive().max(3600).optional(),
});
export type TokenRequest = z.infer<typeof TokenRequest>;

/** What `identity.token` answers with. Never logged or stored by anyone. */
export const TokenResult = z.strictObject({
  token: z.string().min(1),
  jti: z.string().min(1),
  expires_at: Timestamp,
});
export type TokenResult = z.infer<typeof TokenResult>;
export const TokenReply = apiReply(TokenResult);
export type TokenReply = z.infer<typeof TokenReply>;
