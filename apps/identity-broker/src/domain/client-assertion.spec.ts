import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Ed25519PublicJwk } from '@warden/contracts';
import { assertionAudience, claimedAgent, verifyClientAssertion } from './client-assertion.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1' } as Ed25519PublicJwk;
const now = () => Math.floor(Date.now() / 1000);

function assertion(claims: Record<string, unknown> = {}, alg = 'EdDSA', key = privateKey) {
  return new SignJWT({
    iss: 'bot-1',
    sub: 'bot-1',
    aud: assertionAudience('prod'),
    jti: 'a1',
    iat: now(),
    exp: now() + 60,
    ...claims,
  })
    .setProtectedHeader({ alg })
    .sign(key);
}

const expected = { agentId: 'bot-1', env: 'prod' };

describe('client assertions', () => {
  it('accepts one signed with the agent’s key, for this env’s broker', async () => {
    const signed = await assertion();
    expect(claimedAgent(signed)).toBe('bot-1');
    await expect(verifyClientAssertion(signed, jwk, expected)).resolves.toMatchObject({
      agentId: 'bot-1',
      jti: 'a1',
    });
  });

  it.each([
    [
      'another key',
      async () => assertion({}, 'EdDSA', generateKeyPairSync('ed25519').privateKey),
      false,
    ],
    ['another env', async () => assertion({ aud: assertionAudience('staging') }), true],
    ['a lifetime over 5 minutes', async () => assertion({ exp: now() + 301 }), true],
    ['an iat in the future', async () => assertion({ iat: now() + 120, exp: now() + 180 }), true],
    ['an expired one', async () => assertion({ iat: now() - 400, exp: now() - 100 }), true],
    ['no jti', async () => assertion({ jti: undefined }), true],
  ])('refuses %s', async (_, make, signatureVerified) => {
    await expect(verifyClientAssertion(await make(), jwk, expected)).rejects.toMatchObject({
      name: 'AssertionError',
      signatureVerified,
    });
  });

  it('reads no agent from an assertion whose iss and sub differ, or from junk', async () => {
    expect(claimedAgent(await assertion({ sub: 'bot-2' }))).toBeUndefined();
    expect(claimedAgent('junk')).toBeUndefined();
  });
});
