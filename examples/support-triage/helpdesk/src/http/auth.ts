import { createHash, timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify } from 'jose';

/** The `aud` a per-call token must carry. */
export const TOKEN_AUDIENCE = 'helpdesk';
/** Longest a per-call token may live: `exp` at most this far ahead. */
export const MAX_TOKEN_LIFETIME_S = 5 * 60;
// Clocks of the executor and the helpdesk may differ a little.
const CLOCK_TOLERANCE_S = 5;

/** Who a request was let in as. */
export type Caller =
  | { readonly ok: true; readonly method: 'static' }
  | { readonly ok: true; readonly method: 'jwt'; readonly jti: string }
  | { readonly ok: false; readonly reason: string };

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Whether a presented secret is the expected one, in time that does not depend on where they
 * differ: both are hashed first, so lengths are equal and nothing leaks through the comparison.
 */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

// jose's messages never contain the token, but ours are shorter and stable for tests.
function refusalOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === 'aud'
      ? 'token audience is not "helpdesk"'
      : `invalid "${error.claim}" claim`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  return 'invalid token';
}

/**
 * Checks the bearer token of a ticket request: the static API token, or a per-call JWT (HS256,
 * signed with that same token) with `aud: "helpdesk"`, a `jti`, and an `exp` at most five minutes
 * ahead. Reasons never quote the token.
 */
export class BearerAuth {
  private readonly key: Uint8Array;

  constructor(private readonly apiToken: string) {
    this.key = new TextEncoder().encode(apiToken);
  }

  async check(authorization: string | undefined): Promise<Caller> {
    const token = bearerToken(authorization);
    if (token === undefined) return { ok: false, reason: 'missing bearer token' };
    if (sameSecret(token, this.apiToken)) return { ok: true, method: 'static' };
    if (token.split('.').length !== 3) return { ok: false, reason: 'invalid token' };
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        audience: TOKEN_AUDIENCE,
        requiredClaims: ['exp', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      const nowS = Date.now() / 1000;
      if ((payload.exp ?? 0) - nowS > MAX_TOKEN_LIFETIME_S + CLOCK_TOLERANCE_S) {
        return { ok: false, reason: 'token lives longer than 5 minutes' };
      }
      if (typeof payload.jti !== 'string' || payload.jti === '') {
        return { ok: false, reason: 'invalid "jti" claim' };
      }
      return { ok: true, method: 'jwt', jti: payload.jti };
    } catch (error) {
      return { ok: false, reason: refusalOf(error) };
    }
  }
}
