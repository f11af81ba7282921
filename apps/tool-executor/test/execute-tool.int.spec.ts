import { createHash } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, subjects, type Envelope } from '@warden/contracts';
import {
  connectNats,
  durableName,
  ensureKvBuckets,
  EventPublisher,
  removeEnv,
  type PublishResult,
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestArgs, startedRecord } from '../src/domain/execution-record.js';
import { KvExecutionStore } from '../src/infra/execution-store.kv.js';
import { service } from '../src/service.js';
import { ExecuteTool } from '../src/use-cases/execute-tool.use-case.js';

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
let store: KvExecutionStore;
const running: RunningService[] = [];
const env = uniqueEnv('executor');

function reserved(
  tool: string,
  args: Record<string, unknown>,
  options: { agent?: string; discriminator?: string } = {},
): Envelope<'budget.reserved'> {
  return buildEvent({
    type: 'budget.reserved',
    cause: proposedEvent(env, { agent: options.agent ?? 'agent-1', tool, args }),
    producer: TEST_PRODUCER,
    ...(options.discriminator === undefined ? {} : { discriminator: options.discriminator }),
    data: { tool, args, reserved_micro_usd: 10, step: 1 },
  });
}

async function startReplica(): Promise<RunningService> {
  const replica = await service.start(
    service.config({ WARDEN_ENV: env, NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'warn' }),
  );
  running.push(replica);
  return replica;
}

async function eventsOf(type: string, intentId: string | undefined): Promise<Envelope[]> {
  return (await eventsOfType(nc, env, type)).filter((e) => e.intent_id === intentId);
}

async function resolvedFor(intentId: string | undefined): Promise<Envelope<'intent.resolved'>> {
  const [resolved] = await waitFor(async () => {
    const found = await eventsOf('intent.resolved', intentId);
    return found.length > 0 ? found : undefined;
  });
  return resolved as Envelope<'intent.resolved'>;
}

/** Until the executor has acked everything up to stream sequence `seq`. */
async function handledUpTo(seq: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await waitFor(
    async () => {
      const info = await jsm.consumers.info(
        subjects.streamName(env),
        durableName('tool-executor', 'budget.reserved'),
      );
      // Everything up to `seq` is acked: the copy was handled, whatever other tests still hold.
      return info.ack_floor.stream_seq >= seq;
    },
    { message: `budget.reserved up to seq ${seq} acked` },
  );
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'executor-test' });
  await startReplica();
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
  const { executions } = await ensureKvBuckets(nc, env, ['executions']);
  store = new KvExecutionStore(executions);
});

afterAll(async () => {
  await Promise.all(running.map((replica) => replica.stop()));
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

// Each test owns its intents and filters the stream by their ids, so they run concurrently: every
// read of the stream (eventsOfType) currently costs up to 2 s, see `readStream` in libs/testing.
describe.concurrent('tool-executor', () => {
  it('runs echo: tool.started, then intent.resolved with the args as output', async () => {
    const intent = reserved('echo', { text: 'hi', n: [1, 2] });
    await publisher.publish(intent);
    const resolved = await resolvedFor(intent.intent_id);
    expect(resolved).toMatchObject({
      causation_id: intent.event_id,
      run_id: intent.run_id,
      agent_id: 'agent-1',
      producer: { service: 'tool-executor' },
      data: {
        status: 'executed',
        stage: 'executor',
        tool: 'echo',
        output: { text: 'hi', n: [1, 2] },
      },
    });
    const started = await eventsOf('tool.started', intent.intent_id);
    expect(started.map((e) => e.data)).toEqual([{ tool: 'echo', attempt: 1 }]);
    expect(started[0]!.occurred_at < resolved.occurred_at).toBe(true);

    const record = (await store.get(intent.intent_id!))?.record;
    expect(record).toMatchObject({
      state: 'done',
      attempt: 1,
      cause_event_id: intent.event_id,
      resolved_at: resolved.occurred_at,
      outcome: { status: 'executed', output: { text: 'hi', n: [1, 2] } },
      result_digest: createHash('sha256').update('{"text":"hi","n":[1,2]}').digest('hex'),
    });
  });

  it('resolves fail as failed, with its message', async () => {
    const intent = reserved('fail', { message: 'boom' });
    await publisher.publish(intent);
    expect((await resolvedFor(intent.intent_id)).data).toMatchObject({
      status: 'failed',
      stage: 'executor',
      tool: 'fail',
      reason: 'tool_failed',
      message: 'boom',
    });
  });

  it('runs sleep for at least its ms', async () => {
    const intent = reserved('sleep', { ms: 50 });
    await publisher.publish(intent);
    const { data } = await resolvedFor(intent.intent_id);
    expect(data).toMatchObject({ status: 'executed', output: { slept_ms: 50 } });
    expect(data.duration_ms).toBeGreaterThanOrEqual(50);
  });

  it('fails an unknown tool with unknown_tool and never starts it', async () => {
    const intent = reserved('payments.refund', { amount: 5 });
    await publisher.publish(intent);
    expect((await resolvedFor(intent.intent_id)).data).toMatchObject({
      status: 'failed',
      stage: 'executor',
      reason: 'unknown_tool',
    });
    expect(await eventsOf('tool.started', intent.intent_id)).toEqual([]);
  });

  it('fails invalid args with invalid_args and the issues, without starting the tool', async () => {
    const intent = reserved('sleep', { ms: 90_000 });
    await publisher.publish(intent);
    expect((await resolvedFor(intent.intent_id)).data).toMatchObject({
      status: 'failed',
      reason: 'invalid_args',
      details: [{ path: 'args.ms' }],
    });
    expect(await eventsOf('tool.started', intent.intent_id)).toEqual([]);
  });

  it('replaces an output over 64 KiB by { truncated, bytes }', async () => {
    const intent = reserved('echo', { blob: 'x'.repeat(100_000) });
    await publisher.publish(intent);
    expect((await resolvedFor(intent.intent_id)).data).toMatchObject({
      status: 'executed',
      output: { truncated: true, bytes: 100_011 },
    });
  });

  it('keeps a tool that outlives AckWait from being redelivered while it runs', async () => {
    // Its own env: AckWait is a setting of the durable every replica of the env shares.
    const slowEnv = uniqueEnv('executor-ackwait');
    const replica = await service.start(
      service.config({
        WARDEN_ENV: slowEnv,
        NATS_URL: nats.url,
        HTTP_PORT: '0',
        LOG_LEVEL: 'warn',
        EVENT_ACK_WAIT_MS: '1000',
      }),
    );
    try {
      const intent = buildEvent({
        type: 'budget.reserved',
        cause: proposedEvent(slowEnv, { tool: 'sleep', args: { ms: 2_500 } }),
        producer: TEST_PRODUCER,
        data: { tool: 'sleep', args: { ms: 2_500 }, reserved_micro_usd: 0, step: 1 },
      });
      await new EventPublisher(nc, { env: slowEnv, producer: TEST_PRODUCER }).publish(intent);
      const [resolved] = await waitFor(async () => {
        const found = await eventsOfType(nc, slowEnv, 'intent.resolved');
        return found.length > 0 ? found : undefined;
      });
      expect(resolved?.data).toMatchObject({ status: 'executed', output: { slept_ms: 2_500 } });
      const jsm = await jetstreamManager(nc);
      const info = await jsm.consumers.info(
        subjects.streamName(slowEnv),
        durableName('tool-executor', 'budget.reserved'),
      );
      expect(info.num_redelivered).toBe(0);
      expect(await eventsOfType(nc, slowEnv, 'tool.started')).toHaveLength(1);
    } finally {
      await replica.stop();
      await removeEnv(nc, slowEnv);
    }
  });

  it('answers a copy of an executed intent (other event id) from the record: one run, one resolution', async () => {
    const intent = reserved('echo', { text: 'once' });
    await publisher.publish(intent);
    await resolvedFor(intent.intent_id);
    const copy = { ...intent, event_id: reserved('echo', {}, { discriminator: 'copy' }).event_id };
    expect(copy.event_id).not.toBe(intent.event_id);
    const { seq } = await publisher.publish(copy);
    await handledUpTo(seq);

    expect(await eventsOf('tool.started', intent.intent_id)).toHaveLength(1);
    const resolutions = await eventsOf('intent.resolved', intent.intent_id);
    expect(resolutions).toHaveLength(1);
    expect(resolutions[0]!.causation_id).toBe(intent.event_id);
    expect((await store.get(intent.intent_id!))?.record).toMatchObject({ attempt: 1 });
  });

  it('republishes the recorded resolution when the same event is handled again', async () => {
    const intent = reserved('echo', { text: 'again' });
    await publisher.publish(intent);
    const first = await resolvedFor(intent.intent_id);

    // What a redelivery does, through the service's own wiring: same event, delivery 2.
    const executeTool = running[0]!.app.get(ExecuteTool);
    const producer = { service: 'tool-executor', instance: 'redelivery-test', version: '0.1.0' };
    const redeliveryPublisher = new EventPublisher(nc, { env, producer });
    const results: PublishResult[] = [];
    const outcome = await executeTool.execute(intent, {
      producer,
      deliveryCount: 2,
      publish: async (event) => {
        const result = await redeliveryPublisher.publish(event);
        results.push(result);
        return result;
      },
    });

    expect(outcome).toBe('processed');
    expect(results).toEqual([{ seq: expect.any(Number) as number, duplicate: true }]);
    expect(await eventsOf('intent.resolved', intent.intent_id)).toEqual([first]);
    expect(await eventsOf('tool.started', intent.intent_id)).toHaveLength(1);
  });

  it('runs a read-only tool again when the replica of its first attempt died', async () => {
    const intent = reserved('echo', { text: 'recovered' });
    const now = Date.now();
    await store.create(
      intent.intent_id!,
      startedRecord(
        {
          intentId: intent.intent_id!,
          tool: 'echo',
          argsDigest: digestArgs('echo', intent.data.args),
          causeEventId: intent.event_id,
          owner: 'dead-replica',
        },
        { now: now - 5_000, leaseMs: 2_000 },
      ),
    );
    await publisher.publish(intent);
    expect((await resolvedFor(intent.intent_id)).data).toMatchObject({
      status: 'executed',
      output: { text: 'recovered' },
    });
    const started = await eventsOf('tool.started', intent.intent_id);
    expect(started.map((e) => e.data)).toEqual([{ tool: 'echo', attempt: 2 }]);
    expect((await store.get(intent.intent_id!))?.record).toMatchObject({
      state: 'done',
      attempt: 2,
    });
  });

  it('waits for the lease of a replica still running the intent before taking it over', async () => {
    const intent = reserved('echo', { text: 'patient' });
    const leaseUntil = Date.now() + 1_200;
    await store.create(
      intent.intent_id!,
      startedRecord(
        {
          intentId: intent.intent_id!,
          tool: 'echo',
          argsDigest: digestArgs('echo', intent.data.args),
          causeEventId: intent.event_id,
          owner: 'busy-replica',
        },
        { now: leaseUntil - 2_000, leaseMs: 2_000 },
      ),
    );
    await publisher.publish(intent);
    const resolved = await resolvedFor(intent.intent_id);
    expect(resolved.data).toMatchObject({ status: 'executed' });
    const started = await eventsOf('tool.started', intent.intent_id);
    expect(started.map((e) => e.data)).toEqual([{ tool: 'echo', attempt: 2 }]);
    // Nothing ran while the other replica's lease held.
    expect(Date.parse(started[0]!.occurred_at)).toBeGreaterThanOrEqual(leaseUntil);
  });
});

describe('tool-executor replicas', () => {
  it('shares 200 intents between two replicas: 200 runs, 200 resolutions, none doubled', async () => {
    await startReplica();
    const intents = Array.from({ length: 200 }, (_, i) =>
      reserved('noop', {}, { agent: `agent-r${i % 4}` }),
    );
    await publisher.publishMany(intents);
    const ids = new Set(intents.map((intent) => intent.intent_id));
    const mine = async (type: string) =>
      (await eventsOfType(nc, env, type)).filter((e) => ids.has(e.intent_id));
    const resolved = await waitFor(
      async () => {
        const found = await mine('intent.resolved');
        return found.length >= intents.length ? found : undefined;
      },
      { timeoutMs: 20_000, message: '200 intents resolved' },
    );
    const started = await mine('tool.started');
    expect(resolved).toHaveLength(200);
    expect(new Set(resolved.map((e) => e.intent_id)).size).toBe(200);
    expect(
      resolved.every((e) => e.type === 'intent.resolved' && e.data.status === 'executed'),
    ).toBe(true);
    expect(started).toHaveLength(200);
    expect(new Set(started.map((e) => e.intent_id)).size).toBe(200);
    expect(new Set(resolved.map((e) => e.producer.instance)).size).toBe(2);
  });
});
