import { describe, expect, it } from 'vitest';
import { hostileTokens } from '../../test/hostile-tokens.js';
import {
  AGENT_TOKEN_TYPE,
  HUMAN_TOKEN_TYPE,
  signToken,
  verifyToken,
  type KeyLookup,
} from './agent-token.js';
import { CredentialError } from './credential-rejection.js';
import { generateSigningKey } from './signing-key.js';

const key = generateSigningKey();
const lookup: KeyLookup = (kid) => (kid === key.kid ? key.publicKey : undefined);
const expected = { typ: AGENT_TOKEN_TYPE, env: 'prod' } as const;
const now = () => Math.floor(Date.now() / 1000);

async function reasonOf(token: string, keys: KeyLookup = lookup): Promise<string> {
  return verifyToken(token, keys, expected).then(
    () => 'accepted',
    (error: unknown) =>
      error instanceof CredentialError ? error.reason : `threw ${String(error)}`,
  );
}

describe('verifyToken', () => {
  it('accepts a token it signed, with its claims and kid', async () => {
    // One instant for both sides: calling now() twice can cross a second boundary.
    const iat = now();
    const { token, exp } = await signToken(key, {
      typ: AGENT_TOKEN_TYPE,
      subject: 'bot-1',
      env: 'prod',
      jti: 'j1',
      scope: ['intents:propose'],
      iat,
      ttlSeconds: 300,
    });
    await expect(verifyToken(token, lookup, expected)).resolves.toEqual({
      sub: 'bot-1',
      jti: 'j1',
      iat,
      exp,
      kid: key.kid,
      scope: ['intents:propose'],
      roles: [],
    });
  });

  it('reads a human token’s roles, and refuses it where an agent token is expected', async () => {
    const { token } = await signToken(key, {
      typ: HUMAN_TOKEN_TYPE,
      subject: 'alice',
      env: 'prod',
      jti: 'j2',
      scope: ['api'],
      roles: ['admin'],
      iat: now(),
      ttlSeconds: 300,
    });
    await expect(
      verifyToken(token, lookup, { typ: HUMAN_TOKEN_TYPE, env: 'prod' }),
    ).resolves.toMatchObject({ sub: 'alice', roles: ['admin'] });
    expect(await reasonOf(token)).toBe('wrong_token_type');
  });

  it.each(hostileTokens(key, 'prod', 'bot-1').map((c) => [c.name, c] as const))(
    'answers %s as the check that catches it',
    async (_, hostile) => {
      expect(await reasonOf(hostile.token)).toBe(hostile.expect);
    },
  );

  it('never throws anything but a CredentialError, and never quotes the token', async () => {
    const inputs = [
      ...hostileTokens(key, 'prod', 'bot-1').map((c) => c.token),
      '',
      '.',
      '..',
      '...',
      'e30.e30.',
      `${Buffer.from('[]').toString('base64url')}.e30.c2ln`,
      `${Buffer.from('{"alg":"EdDSA","typ":"warden-agent+jwt","kid":{"a":1}}').toString('base64url')}.e30.c2ln`,
    ];
    for (const token of inputs) {
      const error = await verifyToken(token, lookup, expected).catch((e: unknown) => e);
      if (error === undefined || !(error instanceof Error)) continue;
      expect(error).toBeInstanceOf(CredentialError);
      const payload = token.split('.')[1];
      if (payload !== undefined && payload.length > 8) expect(error.message).not.toContain(payload);
    }
  });
});
