import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, type Envelope } from '@warden/contracts';
import { connectNats, EventPublisher, removeEnv } from '@warden/messaging';
import type { RunningService } from '@warden/service';
import {
  eventsOfType,
  proposedEvent,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service } from '../src/service.js';

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
const running: RunningService[] = [];
const env = uniqueEnv('policy');

function authenticated(tool: string, agent = 'agent-1'): Envelope<'intent.authenticated'> {
  const proposed = proposedEvent(env, { agent, tool, args: { text: 'hi' } });
  return buildEvent({
    type: 'intent.authenticated',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: {
      ...proposed.data,
      principal: { agent_id: agent, domains: [] },
    },
  });
}

async function startReplica(): Promise<RunningService> {
  const replica = await service.start(
    service.config({
      WARDEN_ENV: env,
      NATS_URL: nats.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      POLICY_ALLOWED_TOOLS: 'echo,noop',
    }),
  );
  running.push(replica);
  return replica;
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'policy-test' });
  await startReplica();
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
});

afterAll(async () => {
  await Promise.all(running.map((replica) => replica.stop()));
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

async function decisionFor(intentId: string | undefined) {
  return waitFor(async () =>
    (await eventsOfType(nc, env, 'policy.decided')).find((e) => e.intent_id === intentId),
  );
}

describe('policy-decision', () => {
  it('allows an allowlisted tool and passes the args on', async () => {
    const intent = authenticated('echo');
    await publisher.publish(intent);
    const decided = await decisionFor(intent.intent_id);
    expect(decided).toMatchObject({
      causation_id: intent.event_id,
      run_id: intent.run_id,
      producer: { service: 'policy-decision' },
      data: { effect: 'allow', tool: 'echo', args: { text: 'hi' }, step: 1 },
    });
  });

  it('denies a known tool off the allowlist and resolves the intent', async () => {
    const intent = authenticated('fail', 'agent-deny');
    await publisher.publish(intent);
    const resolved = await waitFor(async () =>
      (await eventsOfType(nc, env, 'intent.resolved')).find(
        (e) => e.intent_id === intent.intent_id,
      ),
    );
    expect(resolved.data).toMatchObject({
      status: 'denied',
      stage: 'policy',
      reason: 'not_allowed',
    });
    expect((await decisionFor(intent.intent_id)).data).toMatchObject({ effect: 'deny' });
  });

  it('denies an unknown tool with its own reason', async () => {
    const intent = authenticated('payments.refund', 'agent-unknown');
    await publisher.publish(intent);
    const resolved = await waitFor(async () =>
      (await eventsOfType(nc, env, 'intent.resolved')).find(
        (e) => e.intent_id === intent.intent_id,
      ),
    );
    expect(resolved.data).toMatchObject({ status: 'denied', reason: 'unknown_tool' });
  });

  it('shares the load between two replicas without doubling any decision', async () => {
    await startReplica();
    const intents = Array.from({ length: 200 }, (_, i) => authenticated('noop', `agent-r${i % 4}`));
    await publisher.publishMany(intents);
    const ids = new Set(intents.map((intent) => intent.intent_id));
    const decided = await waitFor(
      async () => {
        const mine = (await eventsOfType(nc, env, 'policy.decided')).filter((e) =>
          ids.has(e.intent_id),
        );
        return mine.length >= intents.length ? mine : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(decided).toHaveLength(intents.length);
    expect(new Set(decided.map((e) => e.intent_id)).size).toBe(intents.length);
    const instances = new Set(decided.map((e) => e.producer.instance));
    expect(instances.size).toBe(2);
  });
});
