import { generateKeyPairSync } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  CREDENTIAL_HEADER,
  JwksResult,
  KeyListResult,
  KeyRotateResult,
  RevokeResult,
  TokenResult,
  type Ed25519PublicJwk,
  type Envelope,
} from '@warden/contracts';
import { connectNats, EventPublisher, removeEnv } from '@warden/messaging';
import type { RunningService } from '@warden/service';
import {
  eventsOfType,
  proposedEvent,
  readStream,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertionAudience } from '../src/domain/client-assertion.js';
import {
  activeKeyOf,
  callApi,
  propose,
  startBroker,
  TestDirectory,
} from './credentials-harness.js';
import { hostileTokens, signedBy } from './hostile-tokens.js';

let nats: TestNats;
let nc: NatsConnection;
const env = uniqueEnv('creds');
const directory = new TestDirectory();
const brokers: RunningService[] = [];
const SECRET = 'wsec_the-test-agents-secret-0123456789abcdef';
const ADMIN_SECRET = 'the-admin-secret-for-this-test';

async function token(agentId: string, secret = SECRET, extra: Record<string, unknown> = {}) {
  return callApi(
    nc,
    env,
    'token',
    { grant: 'client_secret', agent_id: agentId, client_secret: secret, ...extra },
    TokenResult,
  );
}

async function tokenOf(agentId: string): Promise<TokenResult> {
  const reply = await token(agentId);
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result;
}

/** The events of one type, typed. */
async function eventsOf<
  T extends 'credential.issued' | 'credential.revoked' | 'signing_key.rotated',
>(ofEnv: string, type: T): Promise<Envelope<T>[]> {
  return (await eventsOfType(nc, ofEnv, type)) as Envelope<T>[];
}

async function humanToken(humanId: string, secret: string): Promise<string> {
  const reply = await callApi(nc, env, 'human-token', { human_id: humanId, secret }, TokenResult);
  if (!reply.ok) throw new Error(reply.error.code);
  return reply.result.token;
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'credentials-test' });
  for (const id of [
    'bot-ok',
    'bot-other',
    'bot-suspended',
    'bot-retired',
    'bot-revoked',
    'bot-all',
  ]) {
    await directory.addAgent(id, SECRET, { default_budget_micro_usd: 1_000_000 });
  }
  await directory.addHuman('admin', ADMIN_SECRET, ['admin']);
  await directory.addHuman('bob', ADMIN_SECRET, ['support-leads']);
  // Two replicas: every API op and intent may land on either.
  brokers.push(await startBroker(nats.url, env, directory));
  brokers.push(await startBroker(nats.url, env, directory));
});

afterAll(async () => {
  await Promise.all(brokers.map((broker) => broker.stop()));
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('the token API', () => {
  it('issues an EdDSA agent token with its claims, and logs credential.issued first, without it', async () => {
    const { token: jwt, jti, expires_at } = await tokenOf('bot-ok');
    // credential.issued is stored before the reply leaves: it is on the stream already.
    const issued = (await eventsOf(env, 'credential.issued')).find((e) => e.event_id === jti);
    const header = decodeProtectedHeader(jwt);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'warden-agent+jwt' });
    const claims = decodeJwt(jwt);
    expect(claims).toMatchObject({
      iss: 'warden-identity-broker',
      sub: 'bot-ok',
      aud: env,
      jti,
      scope: ['intents:propose'],
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);
    expect(issued).toMatchObject({
      agent_id: 'bot-ok',
      data: {
        jti,
        kid: header.kid,
        method: 'client_secret',
        principal_kind: 'agent',
        expires_at,
      },
    });
    const everything = JSON.stringify(await readStream(nc, env));
    expect(everything).not.toContain(jwt);
    expect(everything).not.toContain(SECRET);
  });

  it('gives the same answer to an unknown agent and a wrong secret, in comparable time', async () => {
    const timed = async (agentId: string, secret: string) => {
      const started = performance.now();
      const reply = await token(agentId, secret);
      return { reply, ms: performance.now() - started };
    };
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 9; i++) {
      const a = await timed('nobody', SECRET);
      const b = await timed('bot-ok', `${SECRET}-wrong`);
      expect(a.reply).toEqual(b.reply);
      expect(a.reply).toMatchObject({ ok: false, error: { code: 'invalid_client' } });
      unknown.push(a.ms);
      wrong.push(b.ms);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[4] ?? 0;
    // Both pay one scrypt (~tens of ms); a short-cut for unknown ids would be ~1 ms, a ratio
    // near 0.02. The bounds are loose because the suite runs on two busy cores.
    const ratio = median(unknown) / median(wrong);
    expect(ratio).toBeGreaterThan(0.33);
    expect(ratio).toBeLessThan(3);
  });

  it('refuses suspended and retired agents, after checking their secret', async () => {
    directory.setStatus('bot-suspended', 'suspended');
    directory.setStatus('bot-retired', 'retired');
    expect(await token('bot-suspended')).toMatchObject({
      ok: false,
      error: { code: 'agent_suspended' },
    });
    expect(await token('bot-retired')).toMatchObject({
      ok: false,
      error: { code: 'agent_retired' },
    });
    expect(await token('bot-suspended', 'wrong')).toMatchObject({
      error: { code: 'invalid_client' },
    });
  });

  it('lets a token live up to an hour when asked, never longer', async () => {
    const long = await token('bot-ok', SECRET, { ttl_seconds: 3600 });
    if (!long.ok) throw new Error(long.error.code);
    const claims = decodeJwt(long.result.token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
    expect(await token('bot-ok', SECRET, { ttl_seconds: 3601 })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    });
  });

  describe('with a signed assertion (private_key_jwt)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const jwk = publicKey.export({ format: 'jwk' }) as Ed25519PublicJwk;
    const assertion = (claims: Record<string, unknown> = {}, key = privateKey) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: 'bot-keyed',
        sub: 'bot-keyed',
        aud: assertionAudience(env),
        jti: ulid(),
        iat: now,
        exp: now + 60,
        ...claims,
      })
        .setProtectedHeader({ alg: 'EdDSA' })
        .sign(key);
    };
    const grant = async (signed: string) =>
      callApi(nc, env, 'token', { grant: 'private_key_jwt', assertion: signed }, TokenResult);

    beforeAll(() => {
      directory.putAgent('bot-keyed', { method: 'private_key_jwt', public_jwk: jwk });
    });

    it('issues a token for a fresh assertion, once', async () => {
      const signed = await assertion();
      const first = await grant(signed);
      expect(first).toMatchObject({ ok: true });
      if (first.ok) expect(decodeJwt(first.result.token).sub).toBe('bot-keyed');
      expect(await grant(signed)).toMatchObject({ ok: false, error: { code: 'invalid_grant' } });
    });

    it('refuses an assertion of another key, another env or too long a life', async () => {
      const stranger = generateKeyPairSync('ed25519').privateKey;
      const now = Math.floor(Date.now() / 1000);
      for (const signed of [
        await assertion({}, stranger),
        await assertion({ aud: assertionAudience('staging') }),
        await assertion({ exp: now + 600 }),
        await assertion({ iss: 'nobody', sub: 'nobody' }),
      ]) {
        expect(await grant(signed)).toMatchObject({ ok: false, error: { code: 'invalid_client' } });
      }
    });
  });
});

describe('the authentication stage', () => {
  it('authenticates an intent and attaches the agent’s attributes, never the credential', async () => {
    const { token: jwt, jti } = await tokenOf('bot-ok');
    const answer = await propose(nc, env, 'bot-ok', jwt);
    expect(answer).toMatchObject({
      type: 'intent.authenticated',
      data: {
        principal: {
          agent_id: 'bot-ok',
          owner: 'alice',
          domains: ['support'],
          environment: 'test',
          risk_tier: 'medium',
          attributes: { default_budget_micro_usd: 1_000_000 },
        },
        credential: { jti },
      },
    });
    expect(JSON.stringify(answer)).not.toContain(jwt);
  });

  it('refuses each hostile credential with the reason code of its check, and nothing follows', async () => {
    const key = await activeKeyOf(nc, env);
    const cases = hostileTokens(key, env, 'bot-ok');
    const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    const intents: { hostile: (typeof cases)[number]; intent: Envelope }[] = [];
    for (const hostile of cases) {
      const intent = proposedEvent(env, { agent: 'bot-ok', tool: 'echo', args: {} });
      await publisher.publish(intent, { headers: { [CREDENTIAL_HEADER]: hostile.token } });
      intents.push({ hostile, intent });
    }
    const answers = await waitFor(async () => {
      const all = [
        ...(await eventsOfType(nc, env, 'intent.authenticated')),
        ...(await eventsOfType(nc, env, 'intent.resolved')),
      ];
      const found = intents.map(({ intent }) =>
        all.filter((e) => e.intent_id === intent.intent_id),
      );
      return found.every((list) => list.length > 0) ? found : undefined;
    });
    const got = intents.map(({ hostile }, i) => {
      const [answer, ...more] = answers[i] as Envelope[];
      expect(more).toEqual([]);
      return [
        hostile.name,
        answer?.type === 'intent.authenticated'
          ? 'accepted'
          : (answer as Envelope<'intent.resolved'>).data.reason,
      ];
    });
    expect(got).toEqual(cases.map((c) => [c.name, c.expect]));
    for (const [i, { hostile }] of intents.entries()) {
      const answer = answers[i]?.[0] as Envelope;
      if (hostile.expect !== 'accepted') {
        expect(answer).toMatchObject({ data: { status: 'rejected', stage: 'identity' } });
      }
    }
  });

  it('never sees a 64 KiB token: JetStream refuses the proposal', async () => {
    const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    const intent = proposedEvent(env, { agent: 'bot-ok', tool: 'echo', args: {} });
    await expect(
      publisher.publish(intent, { headers: { [CREDENTIAL_HEADER]: 'x'.repeat(64 * 1024) } }),
    ).rejects.toThrow(/header size exceeds/);
  });

  it('refuses a token sent for another agent, and an agent that is not registered', async () => {
    const { token: other } = await tokenOf('bot-other');
    expect(await propose(nc, env, 'bot-ok', other)).toMatchObject({
      data: { reason: 'agent_mismatch' },
    });
    const key = await activeKeyOf(nc, env);
    const [valid] = hostileTokens(key, env, 'ghost');
    expect(await propose(nc, env, 'ghost', valid?.token)).toMatchObject({
      data: { reason: 'unknown_agent' },
    });
    expect(await propose(nc, env, 'bot-ok', undefined)).toMatchObject({
      data: { reason: 'missing_credential' },
    });
  });

  it('refuses a hand-made token of its own key without intents:propose: insufficient_scope', async () => {
    const key = await activeKeyOf(nc, env);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: 'warden-identity-broker',
      sub: 'bot-ok',
      aud: env,
      jti: ulid(),
      iat: now,
      exp: now + 300,
    };
    const header = { alg: 'EdDSA', typ: 'warden-agent+jwt', kid: key.kid };
    for (const scope of [undefined, [], ['intents:read']]) {
      const jwt = signedBy(
        key.privateKey,
        header,
        scope === undefined ? claims : { ...claims, scope },
      );
      expect(await propose(nc, env, 'bot-ok', jwt)).toMatchObject({
        type: 'intent.resolved',
        data: { reason: 'insufficient_scope' },
      });
    }
  });

  it('reports its signing keys and revocation view on /readyz', async () => {
    const response = await fetch(`${brokers[0]!.url}/readyz`);
    const body = (await response.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks['signing-keys']?.ok).toBe(true);
    expect(body.checks['revocations']?.ok).toBe(true);
  });

  it('refuses a suspended agent’s next intent, with a token it got while active', async () => {
    await directory.addAgent('bot-later', SECRET);
    const { token: jwt } = await tokenOf('bot-later');
    expect((await propose(nc, env, 'bot-later', jwt)).type).toBe('intent.authenticated');
    directory.setStatus('bot-later', 'suspended');
    expect(await propose(nc, env, 'bot-later', jwt)).toMatchObject({
      data: { reason: 'agent_suspended' },
    });
  });
});

describe('revocation', () => {
  it('refuses admin ops without an admin token', async () => {
    expect(await callApi(nc, env, 'revoke', { jti: 'x' }, RevokeResult)).toMatchObject({
      ok: false,
      error: { code: 'unauthenticated' },
    });
    const bob = await humanToken('bob', ADMIN_SECRET);
    expect(await callApi(nc, env, 'revoke', { jti: 'x' }, RevokeResult, bob)).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const { token: agentToken } = await tokenOf('bot-ok');
    expect(await callApi(nc, env, 'key-list', {}, KeyListResult, agentToken)).toMatchObject({
      ok: false,
      error: { code: 'unauthenticated' },
    });
  });

  it('refuses a revoked token at the very next intent, on either replica', async () => {
    const admin = await humanToken('admin', ADMIN_SECRET);
    const { token: jwt, jti } = await tokenOf('bot-revoked');
    expect((await propose(nc, env, 'bot-revoked', jwt)).type).toBe('intent.authenticated');
    const reply = await callApi(nc, env, 'revoke', { jti, reason: 'leaked' }, RevokeResult, admin);
    expect(reply).toMatchObject({ ok: true, result: { jti } });
    // No pause: the next intents go to whichever replica pulls them.
    const answers = await Promise.all([1, 2, 3, 4].map(() => propose(nc, env, 'bot-revoked', jwt)));
    for (const answer of answers)
      expect(answer).toMatchObject({ data: { reason: 'token_revoked' } });
    const logged = (await eventsOf(env, 'credential.revoked')).find((e) => e.data.jti === jti);
    expect(logged).toMatchObject({ data: { by: 'human:admin', reason: 'leaked' } });
    // Another token of the same agent still works.
    const { token: fresh } = await tokenOf('bot-revoked');
    expect((await propose(nc, env, 'bot-revoked', fresh)).type).toBe('intent.authenticated');
  });

  it('refuses every token of an agent issued before an all-tokens revocation, not later ones', async () => {
    const admin = await humanToken('admin', ADMIN_SECRET);
    const before = await Promise.all([tokenOf('bot-all'), tokenOf('bot-all')]);
    const reply = await callApi(
      nc,
      env,
      'revoke',
      { agent_id: 'bot-all', all_tokens: true },
      RevokeResult,
      admin,
    );
    expect(reply).toMatchObject({ ok: true, result: { agent_id: 'bot-all' } });
    for (const { token: jwt } of before) {
      expect(await propose(nc, env, 'bot-all', jwt)).toMatchObject({
        data: { reason: 'agent_tokens_revoked' },
      });
    }
    // A token issued right after the revocation, even within the same second, works.
    const { token: after } = await tokenOf('bot-all');
    expect((await propose(nc, env, 'bot-all', after)).type).toBe('intent.authenticated');
  });
});

describe('signing keys', () => {
  it('rotates on command; the previous key verifies until its tokens expire', async () => {
    const admin = await humanToken('admin', ADMIN_SECRET);
    const { token: old } = await tokenOf('bot-ok');
    const oldKid = decodeProtectedHeader(old).kid;
    const rotated = await callApi(
      nc,
      env,
      'key-rotate',
      { reason: 'test' },
      KeyRotateResult,
      admin,
    );
    if (!rotated.ok) throw new Error(rotated.error.code);
    expect(rotated.result.previous_kid).toBe(oldKid);
    expect(rotated.result.kid).not.toBe(oldKid);

    // Every replica signs with the new key at once and still verifies the old one.
    for (let i = 0; i < 4; i++) {
      const { token: fresh } = await tokenOf('bot-ok');
      expect(decodeProtectedHeader(fresh).kid).toBe(rotated.result.kid);
      expect((await propose(nc, env, 'bot-ok', fresh)).type).toBe('intent.authenticated');
      expect((await propose(nc, env, 'bot-ok', old)).type).toBe('intent.authenticated');
    }
    const jwks = await callApi(nc, env, 'jwks', {}, JwksResult);
    if (!jwks.ok) throw new Error(jwks.error.code);
    expect(jwks.result.keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.result.kid].sort());
    const listed = await callApi(nc, env, 'key-list', {}, KeyListResult, admin);
    expect(listed).toMatchObject({
      ok: true,
      result: {
        keys: [
          { kid: rotated.result.kid, status: 'active' },
          { kid: oldKid, status: 'previous', retires_at: rotated.result.previous_retires_at },
        ],
      },
    });
    const event = await waitFor(async () =>
      (await eventsOf(env, 'signing_key.rotated')).find((e) => e.data.kid === rotated.result.kid),
    );
    expect(event).toMatchObject({
      event_id: rotated.result.kid,
      data: { previous_kid: oldKid, trigger: 'command', by: 'human:admin', reason: 'test' },
    });
    expect(JSON.stringify(event)).not.toMatch(/"d":/);
  });
});

describe('several replicas', () => {
  it('agree on one first key when they start together, and rotate once per period', async () => {
    const shared = uniqueEnv('creds-race');
    // A period of 1.5 s: several scheduled rotations during the test.
    const period = { IDENTITY_KEY_ROTATION_HOURS: String(1.5 / 3600) };
    const replicas = await Promise.all(
      [1, 2, 3].map(() => startBroker(nats.url, shared, directory, period)),
    );
    try {
      const rotations = () => eventsOf(shared, 'signing_key.rotated');
      const boot = (await rotations()).filter((e) => e.data.trigger === 'bootstrap');
      expect(boot).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const scheduled = (await rotations()).filter((e) => e.data.trigger === 'schedule');
      // ~3 periods in 5 s: three replicas racing must not make nine.
      expect(scheduled.length).toBeGreaterThanOrEqual(2);
      expect(scheduled.length).toBeLessThanOrEqual(4);
      // Each key was rotated away once: the chain of previous kids has no repeat.
      const previous = scheduled.map((e) => e.data.previous_kid);
      expect(new Set(previous).size).toBe(previous.length);
      // And a token signed a moment ago by one replica verifies on all of them.
      await directory.addAgent('bot-race', SECRET);
      const reply = await callApi(
        nc,
        shared,
        'token',
        { grant: 'client_secret', agent_id: 'bot-race', client_secret: SECRET },
        TokenResult,
      );
      if (!reply.ok) throw new Error(reply.error.code);
      const answers = await Promise.all(
        [1, 2, 3, 4, 5, 6].map(() => propose(nc, shared, 'bot-race', reply.result.token)),
      );
      for (const answer of answers) expect(answer.type).toBe('intent.authenticated');
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
      await removeEnv(nc, shared);
    }
  }, 30_000);
});
