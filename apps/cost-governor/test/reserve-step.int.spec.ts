import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, subjectOf, subjects, type Envelope } from '@warden/contracts';
import {
  connectNats,
  durableName,
  EventPublisher,
  kvBucketName,
  removeEnv,
} from '@warden/messaging';
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
import type { RunRecord } from '../src/domain/step-cap.js';
import { service } from '../src/service.js';

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
let runs: KV;
const running: RunningService[] = [];
const env = uniqueEnv('governor');

/** The data of a `policy.decided` for the no-op tool. */
function decision(effect: 'allow' | 'deny') {
  return {
    tool: 'noop',
    args: {},
    step: 1,
    effect,
    determining_policy_ids: [] as string[],
    policy_version: 0,
    errors: [] as string[],
    eval_us: 1,
  };
}

function decided(run: string, effect: 'allow' | 'deny' = 'allow'): Envelope<'policy.decided'> {
  const proposed = proposedEvent(env, { run, agent: 'gov-agent', tool: 'noop', args: {} });
  return buildEvent({
    type: 'policy.decided',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: decision(effect),
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
      service.config({
        WARDEN_ENV: env,
        NATS_URL: nats.url,
        HTTP_PORT: '0',
        LOG_LEVEL: 'warn',
        GOVERNOR_MAX_STEPS: '1000',
      }),
    ),
  );
}

async function record(run: string): Promise<RunRecord | undefined> {
  return (await runs.get(run))?.json<RunRecord>();
}

/** `run.started`, once the governor has written it (it travels on its own durable). */
async function startRun(run: string, maxSteps: number): Promise<void> {
  await publisher.publish(runStarted(run, maxSteps));
  await waitFor(async () => (await record(run))?.started_at !== undefined);
}

/** Every output of the governor for these intents, once there are at least `count`. */
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

/** Resolves once the governor has acked every `policy.decided` up to stream sequence `seq`. */
async function decisionsHandledThrough(seq: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const durable = durableName('cost-governor', 'policy.decided');
  await waitFor(async () => {
    const info = await jsm.consumers.info(subjects.streamName(env), durable);
    return info.ack_floor.stream_seq >= seq && info.num_ack_pending === 0;
  });
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'governor-test' });
  await startReplica();
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
  runs = await new Kvm(nc).open(kvBucketName(env, 'runs'));
});

afterAll(async () => {
  await Promise.all(running.map((replica) => replica.stop()));
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('cost-governor', () => {
  it('reserves steps up to the run’s own cap, then denies with step_cap', async () => {
    await startRun('run-cap', 3);
    const intents = Array.from({ length: 4 }, () => decided('run-cap'));
    for (const intent of intents) await publisher.publish(intent);
    const outputs = await outputsFor(intents, 4);
    const reserved = outputs.filter((event) => event.type === 'budget.reserved');
    const denied = outputs.filter((event) => event.type === 'intent.resolved');
    expect(reserved).toHaveLength(3);
    expect(denied).toHaveLength(1);
    expect(denied[0]?.data).toMatchObject({
      status: 'denied',
      stage: 'budget',
      tool: 'noop',
      reason: 'step_cap',
    });
    expect(reserved.map((event) => event.data)).toContainEqual(
      expect.objectContaining({ tool: 'noop', args: {}, step: 1, run_steps: 3, max_steps: 3 }),
    );
    expect(await record('run-cap')).toMatchObject({
      max_steps: 3,
      agent_id: 'gov-agent',
      counted: expect.arrayContaining(reserved.map((event) => event.intent_id)) as unknown,
    });
  });

  it('handles a decision delivered twice as the first time: counted once, same answer', async () => {
    await startRun('run-redeliver', 2);
    const intents = Array.from({ length: 3 }, () => decided('run-redeliver'));
    await publisher.publishMany(intents);
    const first = await outputsFor(intents, 3);
    const before = await record('run-redeliver');
    expect(before?.counted).toHaveLength(2);

    // A redelivery the stream cannot dedupe: the same events under other Nats-Msg-Ids.
    let lastSeq = 0;
    for (const intent of intents) {
      const again = await publisher.publishRaw(
        subjectOf(intent),
        JSON.stringify(intent),
        `${intent.event_id}-again`,
      );
      expect(again.duplicate).toBe(false);
      lastSeq = Math.max(lastSeq, again.seq);
    }
    await decisionsHandledThrough(lastSeq);

    expect(await record('run-redeliver')).toEqual(before);
    // The answers were published again with the same derived ids, and JetStream dropped them.
    const after = await outputsFor(intents, 3);
    const summary = (events: Envelope[]) =>
      events.map((event) => `${event.intent_id ?? ''} ${event.type}`).sort();
    expect(summary(after)).toEqual(summary(first));
  });

  it('ignores a denied decision', async () => {
    const intent = decided('run-deny', 'deny');
    const marker = decided('run-deny');
    await publisher.publish(intent);
    await publisher.publish(marker);
    const outputs = await outputsFor([intent, marker], 1);
    expect(outputs.map((event) => event.intent_id)).toEqual([marker.intent_id]);
  });

  it('denies an intent that belongs to no run', async () => {
    const intent = buildEvent({
      type: 'policy.decided',
      env,
      eventId: ulid(),
      intentId: ulid(),
      agentId: 'gov-agent',
      producer: TEST_PRODUCER,
      data: decision('allow'),
    });
    await publisher.publish(intent);
    const [resolved] = await outputsFor([intent], 1);
    expect(resolved).toMatchObject({
      type: 'intent.resolved',
      data: { status: 'denied', stage: 'budget', reason: 'no_run' },
    });
  });

  it('two replicas count every intent exactly once', async () => {
    await startReplica();
    const runIds = Array.from({ length: 5 }, (_, i) => `run-replicas-${i}`);
    const intents = Array.from({ length: 100 }, (_, i) => decided(runIds[i % 5] ?? 'run-x'));
    await publisher.publishMany(intents);
    const outputs = await outputsFor(intents, 100);
    expect(outputs).toHaveLength(100);
    expect(outputs.every((event) => event.type === 'budget.reserved')).toBe(true);
    expect(new Set(outputs.map((event) => event.intent_id)).size).toBe(100);
    for (const run of runIds) {
      const mine = outputs.filter((event) => event.run_id === run);
      const steps = mine
        .map((event) => (event.data as { run_steps: number }).run_steps)
        .sort((a, b) => a - b);
      expect(steps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const stored = await record(run);
      expect(stored?.max_steps).toBe(1000);
      expect([...(stored?.counted ?? [])].sort()).toEqual(
        mine.map((event) => event.intent_id).sort(),
      );
    }
  });
});
