import type { Principal } from '@warden/contracts';
import { CredentialError, verifyAgentToken, type AgentClaims } from './agent-token.js';
import type { SigningKey } from './signing-key.js';
import type { VerifiedTokenCache } from './verified-token-cache.js';

/** The outcome of authenticating one intent. */
export type Authentication =
  { ok: true; principal: Principal; claims: AgentClaims } | { ok: false; error: CredentialError };

/**
 * Authenticates an intent of `agentId` carrying `token`: the token verified (or found verified in
 * the cache), then bound to the agent the intent claims to come from.
 */
export async function authenticate(
  key: SigningKey,
  cache: VerifiedTokenCache,
  input: { token: string | undefined; agentId: string | undefined; env: string },
): Promise<Authentication> {
  const { token, agentId, env } = input;
  if (token === undefined || token.length === 0) {
    return {
      ok: false,
      error: new CredentialError('missing_credential', 'no Warden-Credential header on the intent'),
    };
  }
  let claims = cache.get(token);
  if (claims === undefined) {
    try {
      claims = await verifyAgentToken(key, token, env);
    } catch (error) {
      return { ok: false, error: error as CredentialError };
    }
    cache.set(token, claims);
  }
  if (agentId === undefined || claims.sub !== agentId) {
    return {
      ok: false,
      error: new CredentialError(
        'agent_mismatch',
        `the token belongs to ${claims.sub}, not to ${agentId ?? 'an intent without an agent'}`,
      ),
    };
  }
  return { ok: true, claims, principal: { agent_id: agentId, domains: [] } };
}
