import type { Ed25519PublicJwk } from '@warden/contracts';
import { decodeJwt, importJWK, jwtVerify, type JWTPayload } from 'jose';
import { CLOCK_TOLERANCE_SECONDS } from './agent-token.js';

/** The longest an assertion may live (`exp` − `iat`), seconds (RFC 7523 wants them short). */
export const ASSERTION_MAX_LIFETIME_SECONDS = 300;

/** The `aud` an agent's assertion must name: this env's broker, not any other service. */
export function assertionAudience(env: string): string {
  return `warden-identity-broker:${env}`;
}

/**
 * Why an assertion was refused. The token API answers every one of them as `invalid_client`
 * (see the issue-token use case); the message says what to fix once the signature verified.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
  constructor(
    message: string,
    /**
     * Whether the signature had verified: only then may the message reach the caller. Before it,
     * every failure must read the same as an unknown agent's, or the API tells who exists.
     */
    readonly signatureVerified: boolean,
  ) {
    super(message);
  }
}

/** A verified assertion: the agent it speaks for, and what makes it single-use. */
export interface VerifiedAssertion {
  readonly agentId: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly exp: number;
}

/**
 * The agent an assertion claims to come from (`iss`, which must equal `sub`), read without
 * verifying anything: it only says whose public key to verify it with. `undefined` when the
 * assertion is not a JWT or names no single agent.
 */
export function claimedAgent(assertion: string): string | undefined {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(assertion);
  } catch {
    return undefined;
  }
  const { iss, sub } = payload;
  return typeof iss === 'string' && iss.length > 0 && iss === sub ? iss : undefined;
}

/**
 * Verifies an agent's assertion (RFC 7523 private-key JWT) with its registered public key: EdDSA
 * only, `iss` = `sub` = the agent, `aud` = {@link assertionAudience}, `jti`, `iat`, `exp` no more
 * than {@link ASSERTION_MAX_LIFETIME_SECONDS} after `iat`, `exp`/`nbf` with the clock leeway.
 * Single use is the caller's job (it remembers the `jti`).
 *
 * @throws AssertionError, never anything else.
 */
export async function verifyClientAssertion(
  assertion: string,
  publicJwk: Ed25519PublicJwk,
  expected: { agentId: string; env: string; currentDate?: Date },
): Promise<VerifiedAssertion> {
  let payload: JWTPayload;
  try {
    // The registered JWK may carry a kid: jose would compare nothing with it, so it is dropped.
    const key = await importJWK(
      { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x },
      'EdDSA',
    );
    ({ payload } = await jwtVerify(assertion, key, {
      algorithms: ['EdDSA'],
      issuer: expected.agentId,
      subject: expected.agentId,
      audience: assertionAudience(expected.env),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['jti', 'iat', 'exp'],
      ...(expected.currentDate ? { currentDate: expected.currentDate } : {}),
    }));
  } catch (error) {
    throw new AssertionError(describe(error), isClaimError(error));
  }
  const { jti, iat, exp } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
    throw new AssertionError('the assertion needs a jti of 1 to 256 characters', true);
  }
  if (typeof iat !== 'number' || typeof exp !== 'number') {
    throw new AssertionError('the assertion needs numeric iat and exp', true);
  }
  // An iat in the future would stretch the assertion's life past the replay memory's (10 min).
  const nowSeconds = (expected.currentDate?.getTime() ?? Date.now()) / 1000;
  if (iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) {
    throw new AssertionError('the assertion was issued in the future: check the agent clock', true);
  }
  if (exp - iat > ASSERTION_MAX_LIFETIME_SECONDS) {
    throw new AssertionError(
      `the assertion lives ${exp - iat} s: at most ${ASSERTION_MAX_LIFETIME_SECONDS} s between iat and exp`,
      true,
    );
  }
  return { agentId: expected.agentId, jti, exp };
}

/** jose checks the signature first: a claim error means the signature verified. */
function isClaimError(error: unknown): boolean {
  const { code } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown };
  return code === 'ERR_JWT_EXPIRED' || code === 'ERR_JWT_CLAIM_VALIDATION_FAILED';
}

/** What to tell the agent about a failed assertion: which check, never the assertion. */
function describe(error: unknown): string {
  const { code, claim } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    claim?: unknown;
  };
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return "the assertion's signature does not verify with the agent's registered key";
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the assertion must be signed with EdDSA (Ed25519)';
    case 'ERR_JWT_EXPIRED':
      return 'the assertion has expired: sign a fresh one for each token request';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `the assertion's "${typeof claim === 'string' ? claim : '?'}" claim is missing or wrong (iss = sub = agent id, aud = warden-identity-broker:<env>, jti, iat, exp)`;
    default:
      return 'the assertion is not a signed JWT';
  }
}
