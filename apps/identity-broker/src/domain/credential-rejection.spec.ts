import { errors } from 'jose';
import { describe, expect, it } from 'vitest';
import { CredentialError, rejectionOf } from './credential-rejection.js';

const claimFailed = (claim: string, reason: string) =>
  new errors.JWTClaimValidationFailed('failed', {}, claim, reason);

describe('rejectionOf', () => {
  it.each([
    ['an expired token', new errors.JWTExpired('x', {}, 'exp', 'check_failed'), 'token_expired'],
    ['another audience', claimFailed('aud', 'check_failed'), 'wrong_audience'],
    ['another issuer', claimFailed('iss', 'check_failed'), 'wrong_issuer'],
    ['another typ', claimFailed('typ', 'check_failed'), 'wrong_token_type'],
    ['an nbf in the future', claimFailed('nbf', 'check_failed'), 'token_not_yet_valid'],
    ['an iat in the future', claimFailed('iat', 'check_failed'), 'token_not_yet_valid'],
    ['a failed check of another claim', claimFailed('sub', 'check_failed'), 'malformed_credential'],
    ['a missing claim', claimFailed('iat', 'missing'), 'missing_claim'],
    ['a missing audience', claimFailed('aud', 'missing'), 'missing_claim'],
    ['a claim of the wrong type', claimFailed('nbf', 'invalid'), 'malformed_credential'],
    ['a bad signature', new errors.JWSSignatureVerificationFailed(), 'bad_signature'],
    ['an algorithm other than EdDSA', new errors.JOSEAlgNotAllowed('alg'), 'alg_not_allowed'],
    ['a broken JWS', new errors.JWSInvalid('jws'), 'malformed_credential'],
    ['a payload that is not a claims set', new errors.JWTInvalid('jwt'), 'malformed_credential'],
    ['an unsupported crit header', new errors.JOSENotSupported('crit'), 'malformed_credential'],
    ['a TypeError', new TypeError('boom'), 'malformed_credential'],
    ['a thrown string', 'boom', 'malformed_credential'],
    ['a thrown undefined', undefined, 'malformed_credential'],
    ['a jose error from another copy of jose', { code: 'ERR_JWT_EXPIRED' }, 'token_expired'],
  ])('maps %s', (_, error, reason) => {
    const rejection = rejectionOf(error, 'dev');
    expect(rejection).toBeInstanceOf(CredentialError);
    expect(rejection.reason).toBe(reason);
    expect(rejection.message.length).toBeGreaterThan(0);
  });

  it('names the env a token of another env was refused in', () => {
    expect(rejectionOf(claimFailed('aud', 'check_failed'), 'prod').message).toContain('prod');
  });
});
