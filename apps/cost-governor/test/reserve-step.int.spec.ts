import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, type Envelope } from '@warden/contracts';
import { Kvm } from '@nats-io/kv';
import { connectNats, EventPublisher, kvBucketName, removeEnv } from '@warden/messaging';
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
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service } from '../src/service.js';

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
const running: RunningService[] = [];
const env = uniqueEnv('governor');

function allowed(run: string, effect: 'allow' | 'deny' = 'allow'): Envelope<'policy.decided'> {
  const proposed = proposedEvent(env, { run, agent: 'gov-agent', tool: 'noop', args: {} });
  return buildEvent({
    type: 'policy.decided',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: {
      tool: 'noop',
      args: {},
      step: 1,
      effect,
      determining_policy_ids: [],
      policy_version: 0,
      errors: [],
      eval_us: 1,
    },
  });
}

function runStarted(run: string, maxSteps: number): Envelope<'run.started'> {
  return buildEvent({
    type: 'run.started',
    env,
    eventId: ulid(),
    runId: run,
    agentId: 'gov-agent',
    producer: TEST_PRODUCER,
    data: { limits: { max_steps: maxSteps } },
  });
}

async function startReplica(): Promise<void> {
  running.push(
    await service.start(
      service.config({ WARDEN_ENV: env, NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'warn' }),
    ),
  );
}

/** Every output of the governor for these intents, once there are `count`. */
async function outputsFor(intents: Envelope[], count: number) {
  const ids = new Set(intents.map((intent) => intent.intent_id));
  return waitFor(
    async () => {
      const outputs = [
        ...(await eventsOfType(nc, env, 'budget.reserved')),
        ...(await eventsOfType(nc, env, 'intent.resolved')),
      ].filter((event) => ids.has(event.intent_id));
      return outputs.length >= count ? outputs : undefined;
    },
    { timeoutMs: 20_000 },
  );
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'governor-test' });
  await startReplica();
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
});

afterAll(async () => {
  await Promise.all(running.map((replica) => replica.stop()));
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('cost-governor', () => {
  it('reserves steps up to the run’s own cap, then denies with step_cap', async () => {
    await publisher.publish(runStarted('run-cap', 3));
    // run.started and the decisions travel on different durables: let the run record exist first.
    const runs = await new Kvm(nc).open(kvBucketName(env, 'runs'));
    await waitFor(
      async () => (await runs.get('run-cap'))?.json<{ max_steps: number }>().max_steps === 3,
    );
    const intents = Array.from({ length: 4 }, () => allowed('run-cap'));
    for (const intent of intents) await publisher.publish(intent);
    const outputs = await outputsFor(intents, 4);
    const reserved = outputs.filter((event) => event.type === 'budget.reserved');
    const denied = outputs.filter((event) => event.type === 'intent.resolved');
    expect(reserved).toHaveLength(3);
    expect(denied).toHaveLength(1);
    expect(denied[0]?.data).toMatchObject({
      status: 'denied',
      stage: 'budget',
      reason: 'step_cap',
    });
    expect(reserved.map((event) => event.data)).toContainEqual(
      expect.objectContaining({ tool: 'noop', run_steps: 3, max_steps: 3 }),
    );
  });

  it('ignores a denied decision', async () => {
    const intent = allowed('run-deny', 'deny');
    const marker = allowed('run-deny');
    await publisher.publish(intent);
    await publisher.publish(marker);
    const outputs = await outputsFor([intent, marker], 1);
    expect(outputs.map((event) => event.intent_id)).toEqual([marker.intent_id]);
  });

  it('two replicas count every intent exactly once', async () => {
    await startReplica();
    const runs = Array.from({ length: 5 }, (_, i) => `run-replicas-${i}`);
    const intents = Array.from({ length: 100 }, (_, i) => allowed(runs[i % 5] ?? 'run-x'));
    await publisher.publishMany(intents);
    const outputs = await outputsFor(intents, 100);
    expect(outputs.every((event) => event.type === 'budget.reserved')).toBe(true);
    expect(new Set(outputs.map((event) => event.intent_id)).size).toBe(100);
    for (const run of runs) {
      const steps = outputs
        .filter((event) => event.run_id === run && event.type === 'budget.reserved')
        .map((event) => (event.data as { run_steps: number }).run_steps)
        .sort((a, b) => a - b);
      expect(steps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
  });
});
