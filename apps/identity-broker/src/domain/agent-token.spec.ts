import { createHmac, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AGENT_TOKEN_TYPE, ISSUER, signAgentToken, verifyAgentToken } from './agent-token.js';
import { CredentialError } from './credential-rejection.js';
import { devSigningKey } from './signing-key.js';

const key = devSigningKey('unit-test-seed');
const other = devSigningKey('another-seed');
const claims = {
  agentId: 'bot-1',
  env: 'dev',
  jti: 'j1',
  scope: ['intents:propose'],
  ttlSeconds: 300,
};
const now = () => Math.floor(Date.now() / 1000);

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const goodHeader = { alg: 'EdDSA', typ: AGENT_TOKEN_TYPE };
const goodPayload = (): Record<string, unknown> => ({
  iss: ISSUER,
  sub: 'bot-1',
  aud: 'dev',
  jti: 'j',
  iat: now(),
  exp: now() + 300,
});

/** A compact JWS of `header` and `payload` assembled by hand and signed EdDSA with `key`. */
function signed(header: unknown, payload: unknown): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/** A well-signed agent token with some header parameters or claims replaced. */
function handMade(header: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) {
  return signed({ ...goodHeader, ...header }, { ...goodPayload(), ...payload });
}

/** A well-signed agent token without `claim`. */
function handMadeWithout(claim: string): string {
  const payload = Object.entries(goodPayload()).filter(([name]) => name !== claim);
  return signed(goodHeader, Object.fromEntries(payload));
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'accepted',
    (error: unknown) =>
      error instanceof CredentialError ? error.reason : `threw ${String(error)}`,
  );
}

describe('verifyAgentToken', () => {
  it('accepts a token it signed, with its claims', async () => {
    const { token } = await signAgentToken(key, claims);
    await expect(verifyAgentToken(key, token, 'dev')).resolves.toMatchObject({
      sub: 'bot-1',
      jti: 'j1',
      scope: ['intents:propose'],
    });
  });

  it('derives the same key from the same seed, so replicas agree', async () => {
    const { token } = await signAgentToken(devSigningKey('unit-test-seed'), claims);
    await expect(verifyAgentToken(key, token, 'dev')).resolves.toMatchObject({ sub: 'bot-1' });
  });

  it('tolerates 30 s of clock skew on exp and nbf', async () => {
    const justExpired = await signAgentToken(key, claims, now() - 310);
    expect(await reasonOf(verifyAgentToken(key, justExpired.token, 'dev'))).toBe('accepted');
    const almostValid = handMade({}, { nbf: now() + 10 });
    expect(await reasonOf(verifyAgentToken(key, almostValid, 'dev'))).toBe('accepted');
  });

  it.each<[string, () => Promise<string> | string, string, string?]>([
    ['another key', async () => (await signAgentToken(other, claims)).token, 'bad_signature'],
    [
      'a token of another env',
      async () => (await signAgentToken(key, claims)).token,
      'wrong_audience',
      'prod',
    ],
    [
      'an expired token',
      async () => (await signAgentToken(key, claims, now() - 600)).token,
      'token_expired',
    ],
    ['a token not valid yet', () => handMade({}, { nbf: now() + 300 }), 'token_not_yet_valid'],
    ['a token of another type', () => handMade({ typ: 'JWT' }), 'wrong_token_type'],
    ['a token without a type', () => handMade({ typ: undefined }), 'wrong_token_type'],
    ['a token of another issuer', () => handMade({}, { iss: 'someone-else' }), 'wrong_issuer'],
    ['a token without an iat', () => handMadeWithout('iat'), 'malformed_credential'],
    ['a token without a jti', () => handMadeWithout('jti'), 'malformed_credential'],
    ['a token without an exp', () => handMadeWithout('exp'), 'malformed_credential'],
    ['a token whose sub is not a string', () => handMade({}, { sub: 42 }), 'malformed_credential'],
    [
      'a token whose exp is not a number',
      () => handMade({}, { exp: 'soon' }),
      'malformed_credential',
    ],
    [
      'a token whose payload was changed after signing',
      () => {
        const [header, , signature] = handMade().split('.');
        const forged = b64({ ...goodPayload(), sub: 'admin' });
        return `${header}.${forged}.${signature}`;
      },
      'bad_signature',
    ],
    [
      'an HS256 token keyed with the public key',
      () => {
        const input = `${b64({ alg: 'HS256', typ: AGENT_TOKEN_TYPE })}.${b64(goodPayload())}`;
        const secret = key.publicKey.export({ format: 'der', type: 'spki' });
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      },
      'bad_signature',
    ],
    [
      'an unsigned token (alg none)',
      () => `${b64({ alg: 'none', typ: AGENT_TOKEN_TYPE })}.${b64(goodPayload())}.`,
      'bad_signature',
    ],
    ['a payload that is not JSON', () => signed(goodHeader, 'not json'), 'malformed_credential'],
    ['garbage', () => 'not-a-jwt', 'malformed_credential'],
    ['three garbage segments', () => 'a.b.c', 'malformed_credential'],
    ['binary junk', () => '\u0000\uffff.\u0001.\u0002', 'malformed_credential'],
    ['a huge credential', () => `${'x'.repeat(100_000)}.y.z`, 'malformed_credential'],
    ['an empty credential', () => '', 'missing_credential'],
  ])('refuses %s', async (_, make, reason, env = 'dev') => {
    expect(await reasonOf(verifyAgentToken(key, await make(), env))).toBe(reason);
  });
});
