import type { NatsConnection } from '@nats-io/transport-node';
import {
  CREDENTIAL_HEADER,
  subjects,
  TokenReply,
  type Envelope,
  type TokenResult,
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEV_KEY_SEED } from '../src/config.js';
import { signAgentToken } from '../src/domain/agent-token.js';
import { devSigningKey } from '../src/domain/signing-key.js';
import { service } from '../src/service.js';

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
let broker: RunningService;
const env = uniqueEnv('identity');

async function requestToken(body: unknown): Promise<TokenReply> {
  const message = await nc.request(subjects.api(env, 'identity', 'token'), JSON.stringify(body), {
    timeout: 5000,
  });
  return TokenReply.parse(message.json());
}

async function tokenFor(agentId: string): Promise<TokenResult> {
  const reply = await requestToken({ agent_id: agentId });
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.result;
}

/** Proposes an intent of `agent` with `token` in the header and returns the broker's answer. */
async function propose(agent: string, token?: string): Promise<Envelope> {
  const intent = proposedEvent(env, { agent, tool: 'echo', args: { text: 'hi' } });
  await publisher.publish(
    intent,
    token === undefined ? {} : { headers: { [CREDENTIAL_HEADER]: token } },
  );
  return answerTo(intent);
}

/** The broker's answer to an intent: `intent.authenticated` or `intent.resolved`. */
function answerTo(intent: Envelope): Promise<Envelope> {
  return waitFor(async () => {
    const answers = [
      ...(await eventsOfType(nc, env, 'intent.authenticated')),
      ...(await eventsOfType(nc, env, 'intent.resolved')),
    ];
    return answers.find((event) => event.intent_id === intent.intent_id);
  });
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'identity-test' });
  broker = await service.start(
    service.config({ WARDEN_ENV: env, NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'warn' }),
  );
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
});

afterAll(async () => {
  await broker.stop();
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('identity-broker', () => {
  it('issues a token, logs credential.issued without it, and authenticates intents with it', async () => {
    const { token, jti } = await tokenFor('bot-ok');
    const answer = await propose('bot-ok', token);
    expect(answer).toMatchObject({
      type: 'intent.authenticated',
      data: { tool: 'echo', principal: { agent_id: 'bot-ok' }, credential: { jti } },
    });
    const issued = await waitFor(async () =>
      (await eventsOfType(nc, env, 'credential.issued')).find(
        (event) => event.agent_id === 'bot-ok',
      ),
    );
    expect(issued).toMatchObject({ event_id: jti, data: { jti, scope: ['intents:propose'] } });
    // Only the agent's own intent.proposed carried the token, in its header; nothing the broker
    // published has it, in data or in headers.
    const published = (await readStream(nc, env)).filter(
      (message) => message.event.type !== 'intent.proposed',
    );
    expect(published.map((message) => message.event.type)).toEqual(
      expect.arrayContaining(['credential.issued', 'intent.authenticated']),
    );
    for (const message of published) {
      expect(JSON.stringify(message.event)).not.toContain(token);
      expect(JSON.stringify(message.headers)).not.toContain(token);
    }
  });

  it('reads the credential header whatever the case of its name', async () => {
    const { token } = await tokenFor('bot-case');
    const intent = proposedEvent(env, { agent: 'bot-case', tool: 'echo', args: {} });
    await publisher.publish(intent, { headers: { 'warden-credential': token } });
    const answer = await answerTo(intent);
    expect(answer.type).toBe('intent.authenticated');
  });

  it('gives a token no longer than the configured lifetime', async () => {
    const reply = await requestToken({ agent_id: 'bot-long', ttl_seconds: 3600 });
    if (!reply.ok) throw new Error(reply.error.message);
    const lifetimeMs = Date.parse(reply.result.expires_at) - Date.now();
    expect(lifetimeMs).toBeLessThanOrEqual(300_000);
    expect(lifetimeMs).toBeGreaterThan(290_000);
  });

  it('refuses a request that is not JSON with a reason', async () => {
    const message = await nc.request(subjects.api(env, 'identity', 'token'), 'agent_id=bot', {
      timeout: 5000,
    });
    expect(TokenReply.parse(message.json())).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    });
  });

  it('refuses a malformed token request with a reason', async () => {
    const reply = await requestToken({ agent_id: 'Not A Token' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
  });

  it.each([
    ['no credential', () => Promise.resolve(undefined), 'missing_credential'],
    ['garbage', () => Promise.resolve('garbage'), 'malformed_credential'],
    ['a token of another agent', async () => (await tokenFor('bot-other')).token, 'agent_mismatch'],
    [
      'an expired token',
      async () =>
        (
          await signAgentToken(
            devSigningKey(DEFAULT_DEV_KEY_SEED),
            { agentId: 'bot-bad', env, jti: 'old', scope: [], ttlSeconds: 60 },
            Math.floor(Date.now() / 1000) - 600,
          )
        ).token,
      'token_expired',
    ],
    [
      'a token for another env',
      async () =>
        (
          await signAgentToken(devSigningKey(DEFAULT_DEV_KEY_SEED), {
            agentId: 'bot-bad',
            env: 'prod',
            jti: 'p',
            scope: [],
            ttlSeconds: 60,
          })
        ).token,
      'wrong_audience',
    ],
    [
      'a token signed with another key',
      async () =>
        (
          await signAgentToken(devSigningKey('someone-elses-seed'), {
            agentId: 'bot-bad',
            env,
            jti: 'k',
            scope: [],
            ttlSeconds: 60,
          })
        ).token,
      'bad_signature',
    ],
  ] as [string, () => Promise<string | undefined>, string][])(
    'rejects an intent with %s',
    async (_, makeToken, reason) => {
      const answer = await propose('bot-bad', await makeToken());
      expect(answer).toMatchObject({
        type: 'intent.resolved',
        data: { status: 'rejected', stage: 'identity', reason },
      });
    },
  );
});
