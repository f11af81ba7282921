import { SignJWT, errors, jwtVerify, type JWTPayload } from 'jose';
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

/** Why a credential was refused: one code per check (DESIGN §6). */
export type CredentialRejection =
  | 'missing_credential'
  | 'malformed_credential'
  | 'bad_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'wrong_token_type'
  | 'agent_mismatch';

/** A refused credential: the reason code and a sentence a person can act on. */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  constructor(
    readonly reason: CredentialRejection,
    message: string,
  ) {
    super(message);
  }
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
    throw new CredentialError('malformed_credential', 'the credential is not a JWT');
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
    throw credentialErrorOf(error, env);
  }
  const { sub, jti, exp, scope } = payload;
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') {
    throw new CredentialError('malformed_credential', 'the token lacks sub, jti or exp');
  }
  const scopes = Array.isArray(scope)
    ? scope.filter((s): s is string => typeof s === 'string')
    : [];
  return { sub, jti, exp, scope: scopes };
}

/** Maps jose's errors onto the reason codes. */
export function credentialErrorOf(error: unknown, env: string): CredentialError {
  if (error instanceof errors.JWTExpired) {
    return new CredentialError('token_expired', 'the token has expired: get a new one');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return new CredentialError('wrong_audience', `the token is not for env ${env}`);
      case 'iss':
        return new CredentialError('wrong_issuer', 'the token was not issued by this broker');
      case 'typ':
        return new CredentialError('wrong_token_type', `the token is not a ${AGENT_TOKEN_TYPE}`);
      case 'nbf':
      case 'iat':
        return new CredentialError('token_not_yet_valid', 'the token is not valid yet');
      default:
        return new CredentialError(
          'malformed_credential',
          `the token's ${error.claim} claim is invalid`,
        );
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new CredentialError('bad_signature', 'the token signature does not verify');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new CredentialError('bad_signature', 'the token is not signed with EdDSA');
  }
  return new CredentialError('malformed_credential', 'the credential is not a valid JWT');
}
