import { decode, type User } from '@nats-io/jwt';
import { createAccount, createUser } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import { keyFromSeed, keyText, mintAgentUserJwt } from './jwt.js';
import { isNatsAuthError } from './nats-auth.errors.js';
import { agentPermissions } from './permissions.js';

const account = createAccount();
const signing = createAccount();
const signingSeed = keyText(signing).seed;

describe('mintAgentUserJwt', () => {
  it("binds the agent's nkey, its permissions and its token's expiry, signed by the signing key", async () => {
    const user = createUser();
    const expiresAt = new Date(Date.now() + 300_000);
    const jwt = await mintAgentUserJwt({
      accountSigningSeed: signingSeed,
      accountPublicKey: account.getPublicKey(),
      env: 'prod',
      agentId: 'alice',
      userPublicKey: user.getPublicKey(),
      expiresAt,
    });
    const claims = decode<User>(jwt);
    const permissions = agentPermissions('prod', 'alice');
    expect(claims.sub).toBe(user.getPublicKey());
    expect(claims.iss).toBe(signing.getPublicKey());
    expect(claims.nats.issuer_account).toBe(account.getPublicKey());
    expect(claims.exp).toBe(Math.floor(expiresAt.getTime() / 1000));
    expect(claims.nats.pub?.allow).toEqual(permissions.pub.allow);
    expect(claims.nats.sub?.allow).toEqual(permissions.sub.allow);
    expect(claims.nats.resp).toBeUndefined();
    expect(claims.nats.type).toBe('user');
  });

  it('signs with the account key itself when no account public key is given', async () => {
    const jwt = await mintAgentUserJwt({
      accountSigningSeed: keyText(account).seed,
      env: 'prod',
      agentId: 'alice',
      userPublicKey: createUser().getPublicKey(),
      expiresAt: new Date(Date.now() + 60_000),
    });
    const claims = decode<User>(jwt);
    expect(claims.iss).toBe(account.getPublicKey());
    expect(claims.nats.issuer_account).toBeUndefined();
  });

  it('refuses an expiry in the past, a non-user key and a seed of the wrong kind', async () => {
    const base = {
      accountSigningSeed: signingSeed,
      accountPublicKey: account.getPublicKey(),
      env: 'prod',
      agentId: 'alice',
      userPublicKey: createUser().getPublicKey(),
      expiresAt: new Date(Date.now() + 60_000),
    };
    const cases = [
      { ...base, expiresAt: new Date(Date.now() - 1) },
      { ...base, userPublicKey: account.getPublicKey() },
      { ...base, accountSigningSeed: keyText(createUser()).seed },
      { ...base, agentId: 'not.a.token' },
    ];
    for (const options of cases) {
      const error: unknown = await mintAgentUserJwt(options).catch((caught: unknown) => caught);
      expect(isNatsAuthError(error)).toBe(true);
    }
  });

  it('never puts a seed in an error message', () => {
    const seed = `SA${'A'.repeat(56)}`;
    try {
      keyFromSeed(seed, 'account');
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain(seed);
    }
  });
});
