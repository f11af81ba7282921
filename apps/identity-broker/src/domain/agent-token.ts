import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { CredentialError, rejectionOf } from './credential-rejection.js';
import type { SigningKey } from './signing-key.js';

/** The JWT `typ` of an agent token. */
export const AGENT_TOKEN_TYPE = 'warden-agent+jwt';
/** The `iss` of tokens this broker signs. */
export const ISSUER = 'warden-identity-broker';
/** Clock skew tolerated on `exp` and `nbf`, seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** What an agent token says, once verified. */
export interface AgentClaims {
  readonly sub: string;
  readonly jti: string;
  readonly exp: number;
  readonly scope: readonly string[];
}

/** Signs an agent token (EdDSA). */
export async function signAgentToken(
  key: SigningKey,
  claims: {
    agentId: string;
    env: string;
    jti: string;
    scope: readonly string[];
    ttlSeconds: number;
  },
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<{ token: string; exp: number }> {
  const exp = nowSeconds + claims.ttlSeconds;
  const token = await new SignJWT({ scope: [...claims.scope] })
    .setProtectedHeader({ alg: 'EdDSA', typ: AGENT_TOKEN_TYPE, kid: key.kid })
    .setIssuer(ISSUER)
    .setSubject(claims.agentId)
    .setAudience(claims.env)
    .setJti(claims.jti)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  return { token, exp };
}

/** The longest token accepted: a real one is a few hundred bytes. */
const MAX_TOKEN_LENGTH = 4096;

/**
 * Verifies an agent token's signature and claims for `env`: EdDSA only, `typ`, `iss`, `aud`,
 * `exp`/`nbf` with {@link CLOCK_TOLERANCE_SECONDS}. Throws {@link CredentialError}; never anything
 * else, whatever the input.
 */
export async function verifyAgentToken(
  key: SigningKey,
  token: string,
  env: string,
  currentDate?: Date,
): Promise<AgentClaims> {
  if (token.length === 0) throw new CredentialError('missing_credential', 'no credential was sent');
  if (token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) {
    throw new CredentialError(
      'malformed_credential',
      'the credential is not a JWT: send the token the identity broker issued, as it is',
    );
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key.publicKey, {
      algorithms: ['EdDSA'],
      typ: AGENT_TOKEN_TYPE,
      issuer: ISSUER,
      audience: env,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      ...(currentDate ? { currentDate } : {}),
    }));
  } catch (error) {
    throw rejectionOf(error, env);
  }
  const { sub, jti, exp, scope } = payload;
  // jose checks that these are present, not what they are: `sub` and `jti` go into events.
  if (!nonEmpty(sub) || !nonEmpty(jti) || typeof exp !== 'number') {
    throw new CredentialError(
      'malformed_credential',
      'the token has no usable sub, jti or exp: request a new one from the identity broker',
    );
  }
  const scopes = Array.isArray(scope)
    ? scope.filter((s): s is string => typeof s === 'string')
    : [];
  return { sub, jti, exp, scope: scopes };
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
