import { CREDENTIAL_HEADER, type Principal } from '@warden/contracts';
import { verifyAgentToken, type AgentClaims } from './agent-token.js';
import { CredentialError, rejectionOf } from './credential-rejection.js';
import type { SigningKey } from './signing-key.js';
import type { VerifiedTokenCache } from './verified-token-cache.js';

/** The outcome of authenticating one intent. */
export type Authentication =
  { ok: true; principal: Principal; claims: AgentClaims } | { ok: false; error: CredentialError };

const CREDENTIAL_HEADER_LOWER = CREDENTIAL_HEADER.toLowerCase();

/**
 * The credential an intent carries in its `Warden-Credential` header, or `undefined`. NATS keeps
 * the case a publisher wrote and an SDK in another language may write `warden-credential`, so the
 * name is matched ignoring case, as HTTP would.
 */
export function credentialFromHeaders(
  headers: Readonly<Record<string, string>>,
): string | undefined {
  const exact = headers[CREDENTIAL_HEADER];
  if (exact !== undefined) return exact;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === CREDENTIAL_HEADER_LOWER) return value;
  }
  return undefined;
}

/**
 * Authenticates an intent of `agentId` carrying `token`: the token verified (or found verified in
 * the cache), then bound to the agent the intent claims to come from. Never throws.
 */
export async function authenticate(
  key: SigningKey,
  cache: VerifiedTokenCache,
  input: { token: string | undefined; agentId: string | undefined; env: string },
): Promise<Authentication> {
  const { token, agentId, env } = input;
  if (token === undefined || token.trim().length === 0) {
    return {
      ok: false,
      error: new CredentialError(
        'missing_credential',
        `no ${CREDENTIAL_HEADER} header on the intent: request a token from the identity broker and send it in that header`,
      ),
    };
  }
  let claims = cache.get(token);
  if (claims === undefined) {
    try {
      claims = await verifyAgentToken(key, token, env);
    } catch (error) {
      return {
        ok: false,
        error: error instanceof CredentialError ? error : rejectionOf(error, env),
      };
    }
    cache.set(token, claims);
  }
  // Per intent, never cached: one agent's token must not carry another agent's intents.
  if (agentId === undefined || claims.sub !== agentId) {
    return {
      ok: false,
      error: new CredentialError(
        'agent_mismatch',
        `the token belongs to agent ${claims.sub}, not to ${agentId === undefined ? 'an intent without an agent' : `agent ${agentId}`}: each agent sends its own token`,
      ),
    };
  }
  return { ok: true, claims, principal: { agent_id: agentId, domains: [] } };
}
