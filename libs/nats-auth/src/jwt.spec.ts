import { decode, type User } from '@nats-io/jwt';
import { createAccount, createUser } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import {
  agentScopedSigningKey,
  keyFromSeed,
  keyText,
  mintAgentUserJwt,
  userClaims,
} from './jwt.js';
import { isNatsAuthError } from './nats-auth.errors.js';
import { agentPermissionsTemplate } from './permissions.js';

const account = createAccount();
const signing = createAccount();
const signingSeed = keyText(signing).seed;

describe('mintAgentUserJwt', () => {
  it("binds the agent's nkey, its id as a tag and the expiry, with no permissions of its own", async () => {
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
    expect(claims.sub).toBe(user.getPublicKey());
    expect(claims.iss).toBe(signing.getPublicKey());
    expect(claims.exp).toBe(Math.floor(expiresAt.getTime() / 1000));
    // A scoped key's user: nats-server refuses it if it sets any permission or limit, and applies
    // the key's template with the tag's value as the agent id.
    expect(claims.nats).toEqual({
      issuer_account: account.getPublicKey(),
      tags: ['agent:alice'],
      type: 'user',
      version: 2,
    });
  });

  it("refuses the account's own key, which no template limits", async () => {
    const error: unknown = await mintAgentUserJwt({
      accountSigningSeed: keyText(account).seed,
      accountPublicKey: account.getPublicKey(),
      env: 'prod',
      agentId: 'alice',
      userPublicKey: createUser().getPublicKey(),
      expiresAt: new Date(Date.now() + 60_000),
    }).catch((caught: unknown) => caught);
    expect(isNatsAuthError(error, 'invalid_key')).toBe(true);
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
      // A wildcard id would widen every templated grant to all agents.
      { ...base, agentId: '*' },
      { ...base, agentId: '>' },
      { ...base, accountPublicKey: createUser().getPublicKey() },
    ];
    for (const options of cases) {
      const error: unknown = await mintAgentUserJwt(options).catch((caught: unknown) => caught);
      expect(isNatsAuthError(error)).toBe(true);
    }
  });

  it('lists the broker key as scoped, with the agent permissions template', () => {
    expect(agentScopedSigningKey('prod', signing.getPublicKey())).toEqual({
      kind: 'user_scope',
      key: signing.getPublicKey(),
      role: 'agent',
      template: userClaims(agentPermissionsTemplate('prod')),
    });
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
