import { describe, expect, it } from 'vitest';
import { signAgentToken } from './agent-token.js';
import { authenticate, credentialFromHeaders } from './authenticate.js';
import { devSigningKey } from './signing-key.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

const key = devSigningKey('unit-test-seed');
const claims = {
  agentId: 'bot-1',
  env: 'dev',
  jti: 'j1',
  scope: ['intents:propose'],
  ttlSeconds: 300,
};

describe('authenticate', () => {
  it('binds the token to the agent of the intent, on every intent', async () => {
    const cache = new VerifiedTokenCache();
    const { token } = await signAgentToken(key, claims);
    const ok = await authenticate(key, cache, { token, agentId: 'bot-1', env: 'dev' });
    expect(ok).toMatchObject({
      ok: true,
      principal: { agent_id: 'bot-1', domains: [] },
      claims: { jti: 'j1' },
    });
    // The token is cached now; the agent check still runs.
    const theft = await authenticate(key, cache, { token, agentId: 'bot-2', env: 'dev' });
    expect(theft).toMatchObject({ ok: false, error: { reason: 'agent_mismatch' } });
    const anonymous = await authenticate(key, cache, { token, agentId: undefined, env: 'dev' });
    expect(anonymous).toMatchObject({ ok: false, error: { reason: 'agent_mismatch' } });
  });

  it('verifies a token once, then trusts the cache until it expires', async () => {
    const cache = new VerifiedTokenCache();
    const { token } = await signAgentToken(key, claims);
    await authenticate(key, cache, { token, agentId: 'bot-1', env: 'dev' });
    expect(cache.size).toBe(1);
    // A key that cannot verify the token: the second intent passes only if nothing re-verified it.
    const stranger = devSigningKey('a-stranger-seed');
    const again = await authenticate(stranger, cache, { token, agentId: 'bot-1', env: 'dev' });
    expect(again.ok).toBe(true);
  });

  it('does not cache a token that failed', async () => {
    const cache = new VerifiedTokenCache();
    const { token } = await signAgentToken(key, claims, Math.floor(Date.now() / 1000) - 600);
    const result = await authenticate(key, cache, { token, agentId: 'bot-1', env: 'dev' });
    expect(result).toMatchObject({ ok: false, error: { reason: 'token_expired' } });
    expect(cache.size).toBe(0);
  });

  it.each([undefined, '', '   '])('refuses an intent whose credential is %j', async (token) => {
    const result = await authenticate(key, new VerifiedTokenCache(), {
      token,
      agentId: 'bot-1',
      env: 'dev',
    });
    expect(result).toMatchObject({ ok: false, error: { reason: 'missing_credential' } });
  });

  it('never quotes the token in a refusal', async () => {
    const { token } = await signAgentToken(key, claims);
    const results = await Promise.all([
      authenticate(key, new VerifiedTokenCache(), { token, agentId: 'bot-2', env: 'dev' }),
      authenticate(key, new VerifiedTokenCache(), { token, agentId: 'bot-1', env: 'prod' }),
      authenticate(key, new VerifiedTokenCache(), {
        token: `${token}x`,
        agentId: 'bot-1',
        env: 'dev',
      }),
    ]);
    for (const result of results) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.message).not.toContain(token.split('.')[1]);
    }
  });
});

describe('credentialFromHeaders', () => {
  it('reads the Warden-Credential header, whatever its case', () => {
    expect(credentialFromHeaders({ 'Warden-Credential': 't1' })).toBe('t1');
    expect(credentialFromHeaders({ 'warden-credential': 't2', traceparent: 'x' })).toBe('t2');
    expect(credentialFromHeaders({ traceparent: 'x' })).toBeUndefined();
    expect(credentialFromHeaders({})).toBeUndefined();
  });
});
