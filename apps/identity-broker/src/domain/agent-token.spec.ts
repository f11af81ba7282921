import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AGENT_TOKEN_TYPE, ISSUER, signAgentToken, verifyAgentToken } from './agent-token.js';
import { authenticate } from './authenticate.js';
import { devSigningKey } from './signing-key.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

const key = devSigningKey('unit-test-seed');
const other = devSigningKey('another-seed');
const claims = {
  agentId: 'bot-1',
  env: 'dev',
  jti: 'j1',
  scope: ['intents:propose'],
  ttlSeconds: 300,
};

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'accepted',
    (error: unknown) => (error as { reason: string }).reason,
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

  it.each([
    ['another key', async () => (await signAgentToken(other, claims)).token, 'bad_signature'],
    [
      'another env',
      async () => (await signAgentToken(key, claims)).token,
      'wrong_audience',
      'prod',
    ],
    [
      'an expired token',
      async () => (await signAgentToken(key, claims, Math.floor(Date.now() / 1000) - 600)).token,
      'token_expired',
    ],
    [
      'a token of another type',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
          .setIssuer(ISSUER)
          .setSubject('bot-1')
          .setAudience('dev')
          .setJti('j')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(key.privateKey),
      'wrong_token_type',
    ],
    [
      'another issuer',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'EdDSA', typ: AGENT_TOKEN_TYPE })
          .setIssuer('someone-else')
          .setSubject('bot-1')
          .setAudience('dev')
          .setJti('j')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(key.privateKey),
      'wrong_issuer',
    ],
    ['garbage', () => Promise.resolve('not-a-jwt'), 'malformed_credential'],
    ['three garbage segments', () => Promise.resolve('a.b.c'), 'malformed_credential'],
    ['a huge header', () => Promise.resolve(`${'x'.repeat(5000)}.y.z`), 'malformed_credential'],
  ] as [string, () => Promise<string>, string, string?][])(
    'refuses %s',
    async (_, make, reason, env = 'dev') => {
      expect(await reasonOf(verifyAgentToken(key, await make(), env))).toBe(reason);
    },
  );
});

describe('authenticate', () => {
  it('binds the token to the agent of the intent', async () => {
    const cache = new VerifiedTokenCache();
    const { token } = await signAgentToken(key, claims);
    const ok = await authenticate(key, cache, { token, agentId: 'bot-1', env: 'dev' });
    expect(ok).toMatchObject({ ok: true, principal: { agent_id: 'bot-1' } });
    const theft = await authenticate(key, cache, { token, agentId: 'bot-2', env: 'dev' });
    expect(theft).toMatchObject({ ok: false, error: { reason: 'agent_mismatch' } });
  });

  it('refuses an intent with no credential', async () => {
    const result = await authenticate(key, new VerifiedTokenCache(), {
      token: undefined,
      agentId: 'bot-1',
      env: 'dev',
    });
    expect(result).toMatchObject({ ok: false, error: { reason: 'missing_credential' } });
  });
});

describe('VerifiedTokenCache', () => {
  const entry = { sub: 'a', jti: 'j', exp: 1000, scope: [] };

  it('forgets a token once it expired (with the clock tolerance)', () => {
    const cache = new VerifiedTokenCache();
    cache.set('t', entry);
    expect(cache.get('t', 1000)).toEqual(entry);
    expect(cache.get('t', 1031)).toBeUndefined();
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('a', entry);
    cache.set('b', entry);
    cache.set('c', entry);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('c', 0)).toEqual(entry);
  });
});
