import type { errors } from 'jose';

/**
 * Why a credential was refused: one code per check (DESIGN §6). `intent.resolved{rejected, stage:
 * identity}` carries the same strings, so an agent or a dashboard can switch on them.
 */
export type CredentialRejection =
  // The credential as a string
  | 'missing_credential'
  | 'oversize_credential'
  | 'malformed_credential'
  // The JOSE header, checked before any key is looked up
  | 'alg_not_allowed'
  | 'forbidden_header'
  | 'wrong_token_type'
  | 'invalid_kid'
  | 'unknown_kid'
  // The signature
  | 'missing_signature'
  | 'bad_signature'
  // The claims
  | 'missing_claim'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'insufficient_scope'
  // The intent, the agent and the revocation list (checked on every intent, never cached)
  | 'agent_mismatch'
  | 'unknown_agent'
  | 'agent_suspended'
  | 'agent_retired'
  | 'token_revoked'
  | 'agent_tokens_revoked';

/**
 * A refused credential: the reason code and a sentence a person can act on. No `cause`: jose's
 * errors carry the token's claims, and this error's only readers are an event and a log line.
 */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  constructor(
    readonly reason: CredentialRejection,
    message: string,
  ) {
    super(message);
  }
}

/** What an agent can do about most refusals. */
export const GET_A_NEW_TOKEN = 'request a new one from the identity broker';

/**
 * Maps an error thrown by jose's `jwtVerify` (or anything else) onto its reason code. Never
 * throws. Matches on jose's `code` strings rather than classes, so two copies of jose in the tree
 * cannot turn an expired token into a malformed one. The message never quotes the token.
 *
 * The header checks (`alg`, `typ`, `kid`, forbidden parameters) run before jose sees the token
 * (see agent-token.ts), so only signature and claim failures normally arrive here.
 */
export function rejectionOf(error: unknown, env: string): CredentialError {
  const code = codeOf(error);
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new CredentialError('token_expired', `the token has expired: ${GET_A_NEW_TOKEN}`);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimRejection(error as errors.JWTClaimValidationFailed, env);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new CredentialError(
        'bad_signature',
        `the token's signature does not verify with this broker's key: ${GET_A_NEW_TOKEN}`,
      );
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new CredentialError('alg_not_allowed', 'the token is not signed with EdDSA');
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID, ERR_JOSE_NOT_SUPPORTED, a TypeError.
      return new CredentialError(
        'malformed_credential',
        `the credential is not a valid token (a JWT): ${GET_A_NEW_TOKEN}`,
      );
  }
}

function claimRejection(error: errors.JWTClaimValidationFailed, env: string): CredentialError {
  const claim = typeof error.claim === 'string' ? error.claim : 'unspecified';
  if (error.reason === 'missing') {
    return new CredentialError(
      'missing_claim',
      `the token has no "${claim}" claim: ${GET_A_NEW_TOKEN}`,
    );
  }
  // 'invalid' (a claim of the wrong type) says the token is not one this broker makes.
  if (error.reason !== 'check_failed') {
    return new CredentialError(
      'malformed_credential',
      `the token's "${claim}" claim has the wrong type: ${GET_A_NEW_TOKEN}`,
    );
  }
  switch (claim) {
    case 'aud':
      return new CredentialError(
        'wrong_audience',
        `the token is not for env ${env}: request one from this env's identity broker`,
      );
    case 'iss':
      return new CredentialError('wrong_issuer', 'the token was not issued by the identity broker');
    case 'typ':
      return new CredentialError('wrong_token_type', 'the token is not of the expected type');
    case 'nbf':
    case 'iat':
      return new CredentialError(
        'token_not_yet_valid',
        'the token is not valid yet: check the clock of whoever issued it',
      );
    default:
      return new CredentialError(
        'malformed_credential',
        `the token's "${claim}" claim is not valid: ${GET_A_NEW_TOKEN}`,
      );
  }
}

/** The `code` of an error, or '' when it has none. */
function codeOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '';
  const { code } = error as { code?: unknown };
  return typeof code === 'string' ? code : '';
}
