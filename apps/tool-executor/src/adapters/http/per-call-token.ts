import { SignJWT } from 'jose';

/** How long a per-call token is valid: long enough for one call and its redirects. */
export const PER_CALL_TOKEN_TTL_S = 60;

/** What a per-call token says. */
export interface PerCallClaims {
  /** The upstream's name (`aud`): a token for one upstream is useless at another. */
  readonly upstream: string;
  /** The tool (`sub`). */
  readonly tool: string;
  /** The intent id (`jti`): the upstream may refuse a token it has seen. */
  readonly intentId: string;
}

/**
 * Mints the HS256 JWT sent instead of the shared secret (`auth: per_call_token`): the upstream
 * verifies it with the same secret, and a leaked token is good for one call for a minute.
 */
export async function mintPerCallToken(
  secret: string,
  claims: PerCallClaims,
  now: Date,
): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('warden-tool-executor')
    .setAudience(claims.upstream)
    .setSubject(claims.tool)
    .setJti(claims.intentId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + PER_CALL_TOKEN_TTL_S)
    .sign(new TextEncoder().encode(secret));
}
