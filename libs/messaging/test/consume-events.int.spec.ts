import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { buildEvent, subjects, type Envelope } from '@warden/contracts';
import {
  sleep,
  startNats,
  uniqueEnv,
  waitFor,
  type TestNats,
  proposedEvent,
  TEST_PRODUCER,
} from '@warden/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  consumeEvents,
  durableName,
  EventPublisher,
  Outcome,
  provisionEnv,
  removeEnv,
  type EventConsumer,
  type EventContext,
  type MessagingLogger,
} from '../src/index.js';
import { consumerInfo, countOnStream, isDrained, lastOnStream } from './support.js';

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
const env = uniqueEnv('consume');
const consumers: EventConsumer[] = [];

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'consume-test' });
  await provisionEnv(nc, env);
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
});

afterAll(async () => {
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

/** Each test consumes its own agent's events, through its own durable. */
function scope(name: string) {
  return {
    agent: name,
    durable: `test__${name}`,
    filterSubject: subjects.event(env, 'intent.proposed', name),
  };
}

function recordingLogger(): MessagingLogger & {
  lines: { level: string; obj: object; msg?: string }[];
} {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('consumeEvents', () => {
  it('acks a processed event: handled once, never redelivered', async () => {
    const { agent, durable, filterSubject } = scope('processed');
    const seen: { event: Envelope; ctx: EventContext }[] = [];
    consumers.push(
      await consumeEvents(nc, {
        env,
        service: 'test',
        durable,
        filterSubject,
        ackWaitMs: 1_000,
        handle: (event, ctx) => {
          seen.push({ event, ctx });
          return Outcome.processed;
        },
      }),
    );
    const event = proposedEvent(env, { agent });
    const { seq } = await publisher.publish(event);
    await waitFor(() => isDrained(nc, env, durable), { message: 'the event acked' });
    await sleep(1_300); // longer than AckWait: an unacked message would be back by now
    expect(seen).toHaveLength(1);
    expect(seen[0]!.event).toEqual(event);
    expect(seen[0]!.ctx).toMatchObject({ seq, deliveryCount: 1, durable, subject: filterSubject });
    const info = await consumerInfo(nc, env, durable);
    expect(info.num_redelivered).toBe(0);
    expect(info.ack_floor.stream_seq).toBe(seq);
  });

  it('redelivers an event whose handler asks to retry', async () => {
    const { agent, durable, filterSubject } = scope('retry');
    const deliveries: number[] = [];
    const consumer = await consumeEvents(nc, {
      env,
      service: 'test',
      durable,
      filterSubject,
      handle: (_event, ctx) => {
        deliveries.push(ctx.deliveryCount);
        return ctx.deliveryCount === 1 ? Outcome.retry(50) : Outcome.processed;
      },
    });
    consumers.push(consumer);
    await publisher.publish(proposedEvent(env, { agent }));
    await waitFor(() => deliveries.length === 2 && isDrained(nc, env, durable));
    expect(deliveries).toEqual([1, 2]);
    expect(consumer.stats).toMatchObject({ retried: 1, processed: 1 });
  });

  it('dead-letters an event whose handler keeps throwing, once, and stops delivering it', async () => {
    const { agent, durable, filterSubject } = scope('poison');
    const logger = recordingLogger();
    let calls = 0;
    const consumer = await consumeEvents(nc, {
      env,
      service: 'test',
      durable,
      filterSubject,
      maxDeliver: 3,
      backoffMs: () => 20,
      logger,
      handle: () => {
        calls++;
        throw new Error('upstream exploded');
      },
    });
    consumers.push(consumer);
    const event = proposedEvent(env, { agent });
    const { seq } = await publisher.publish(event);
    const deadLetters = subjects.event(env, 'event.dead_lettered', agent);
    await waitFor(async () => (await countOnStream(nc, env, deadLetters)) === 1, {
      message: 'one dead letter',
    });
    await waitFor(() => isDrained(nc, env, durable));
    await sleep(300);
    expect(calls).toBe(3);
    expect(await countOnStream(nc, env, deadLetters)).toBe(1);
    const stored = await lastOnStream<Envelope<'event.dead_lettered'>>(nc, env, deadLetters);
    expect(stored?.data).toMatchObject({
      type: 'event.dead_lettered',
      causation_id: event.event_id,
      run_id: event.run_id,
      producer: { service: 'test' },
      data: {
        reason: 'handler_failed',
        detail: 'upstream exploded',
        stream_seq: seq,
        deliveries: 3,
        consumer: durable,
        original_event_id: event.event_id,
        original_type: 'intent.proposed',
      },
    });
    expect(consumer.stats).toMatchObject({ failed: 3, deadLettered: 1 });
    expect(
      logger.lines.filter((line) => line.level === 'warn' && /redelivering/.test(line.msg ?? '')),
    ).toHaveLength(2);
  });

  it('dead-letters an event still asking to retry after maxDeliver attempts', async () => {
    const { agent, durable, filterSubject } = scope('retry-forever');
    const consumer = await consumeEvents(nc, {
      env,
      service: 'test',
      durable,
      filterSubject,
      maxDeliver: 2,
      handle: () => Outcome.retry(10),
    });
    consumers.push(consumer);
    await publisher.publish(proposedEvent(env, { agent }));
    const deadLetters = subjects.event(env, 'event.dead_lettered', agent);
    await waitFor(async () => (await countOnStream(nc, env, deadLetters)) === 1);
    const stored = await lastOnStream<Envelope<'event.dead_lettered'>>(nc, env, deadLetters);
    expect(stored?.data.data.reason).toBe('retries_exhausted');
  });

  it('dead-letters, without calling the handler, an event delivered past its attempts', async () => {
    const { agent, durable, filterSubject } = scope('crashing');
    let calls = 0;
    const options = {
      env,
      service: 'test',
      durable,
      filterSubject,
      maxDeliver: 2,
      handle: () => {
        calls++;
        return Outcome.processed;
      },
    };
    // Create the durable (maxDeliver + 1 deliveries), then play a process that takes the event
    // and dies before any outcome, twice.
    await (await consumeEvents(nc, options)).stop();
    await publisher.publish(proposedEvent(env, { agent }));
    const raw = await jetstream(nc).consumers.get(subjects.streamName(env), durable);
    for (let delivery = 1; delivery <= 2; delivery++) {
      const message = await raw.next({ expires: 2_000 });
      expect(message?.info.deliveryCount).toBe(delivery);
      message?.nak();
    }
    consumers.push(await consumeEvents(nc, options));
    const deadLetters = subjects.event(env, 'event.dead_lettered', agent);
    await waitFor(async () => (await countOnStream(nc, env, deadLetters)) === 1);
    const stored = await lastOnStream<Envelope<'event.dead_lettered'>>(nc, env, deadLetters);
    expect(stored?.data.data).toMatchObject({ reason: 'deliveries_exhausted', deliveries: 3 });
    expect(calls).toBe(0);
  });

  it('terms malformed JSON and unknown types without calling the handler', async () => {
    const { agent, durable, filterSubject } = scope('malformed');
    const logger = recordingLogger();
    const seen: string[] = [];
    const consumer = await consumeEvents(nc, {
      env,
      service: 'test',
      durable,
      filterSubject,
      logger,
      handle: (event) => {
        seen.push(event.event_id);
        return Outcome.processed;
      },
    });
    consumers.push(consumer);
    const valid = proposedEvent(env, { agent });
    const otherType = { ...proposedEvent(env, { agent }), type: 'intent.invented' };
    await publisher.publishRaw(filterSubject, '{not json');
    await publisher.publishRaw(filterSubject, JSON.stringify(otherType));
    await publisher.publishRaw(filterSubject, JSON.stringify({ ...valid, event_id: 'nope' }));
    await publisher.publish(valid);
    await waitFor(() => seen.length === 1 && isDrained(nc, env, durable));
    expect(seen).toEqual([valid.event_id]);
    expect(consumer.stats.rejected).toBe(3);
    const reasons = logger.lines
      .filter((line) => line.level === 'warn')
      .map((line) => (line.obj as { reason: string }).reason);
    expect(reasons).toEqual(['malformed_json', 'unknown_type', 'invalid_envelope']);
    const info = await consumerInfo(nc, env, durable);
    expect(info.num_redelivered).toBe(0);
    // Services do not publish event.rejected: the collector records it, once.
    expect(await countOnStream(nc, env, subjects.eventType(env, 'event.rejected'))).toBe(0);
  });

  it('publishes outputs through ctx before the ack', async () => {
    const durable = durableName('resolver', 'intent.proposed');
    const consumer = await consumeEvents(nc, {
      env,
      service: 'resolver',
      eventType: 'intent.proposed',
      handle: async (event, ctx) => {
        await ctx.publish(
          buildEvent({
            type: 'intent.resolved',
            cause: event,
            producer: ctx.producer,
            data: { status: 'executed', stage: 'executor', tool: event.data.tool },
          }),
        );
        return Outcome.processed;
      },
    });
    consumers.push(consumer);
    expect(consumer.durable).toBe(durable);
    const event = proposedEvent(env, { agent: 'outputs' });
    await publisher.publish(event);
    const resolved = subjects.event(env, 'intent.resolved', 'outputs');
    await waitFor(async () => (await countOnStream(nc, env, resolved)) === 1);
    const stored = await lastOnStream<Envelope<'intent.resolved'>>(nc, env, resolved);
    expect(stored?.data).toMatchObject({
      causation_id: event.event_id,
      intent_id: event.intent_id,
      producer: { service: 'resolver' },
    });
  });

  it('splits one durable between two consumers, handling no message twice', async () => {
    const { agent, durable, filterSubject } = scope('shared');
    const second = await connectNats({ servers: nats.url, name: 'replica-2' });
    try {
      const handled: string[][] = [[], []];
      const replica = (connection: NatsConnection, index: number) =>
        consumeEvents(connection, {
          env,
          service: 'test',
          durable,
          filterSubject,
          pullBatch: 20,
          handle: async (event) => {
            handled[index]!.push(event.event_id);
            await sleep(1);
            return Outcome.processed;
          },
        });
      consumers.push(await replica(nc, 0), await replica(second, 1));
      const events = Array.from({ length: 2_000 }, () => proposedEvent(env, { agent }));
      await publisher.publishMany(events);
      await waitFor(
        () => handled[0]!.length + handled[1]!.length >= 2_000 && isDrained(nc, env, durable),
        {
          timeoutMs: 20_000,
        },
      );
      const all = [...handled[0]!, ...handled[1]!];
      expect(all).toHaveLength(2_000);
      expect(new Set(all).size).toBe(2_000);
      expect(handled[0]!.length).toBeGreaterThan(0);
      expect(handled[1]!.length).toBeGreaterThan(0);
    } finally {
      await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
      await second.close();
    }
  });

  it('stop() handles what it already pulled, waits for it, and leaves the rest to the next consumer', async () => {
    const { agent, durable, filterSubject } = scope('drain');
    let started = 0;
    let finished = 0;
    const consumer = await consumeEvents(nc, {
      env,
      service: 'test',
      durable,
      filterSubject,
      concurrency: 2,
      pullBatch: 4,
      handle: async () => {
        started++;
        await sleep(100);
        finished++;
        return Outcome.processed;
      },
    });
    await publisher.publishMany(Array.from({ length: 20 }, () => proposedEvent(env, { agent })));
    await waitFor(() => started >= 2);
    await consumer.stop();
    expect(finished).toBe(started);
    expect(finished).toBeLessThan(20);
    // Nothing is left in flight: the next consumer gets the rest at once, not after AckWait.
    const rest: string[] = [];
    consumers.push(
      await consumeEvents(nc, {
        env,
        service: 'test',
        durable,
        filterSubject,
        handle: (event) => {
          rest.push(event.event_id);
          return Outcome.processed;
        },
      }),
    );
    await waitFor(() => rest.length === 20 - finished && isDrained(nc, env, durable), {
      timeoutMs: 3_000,
    });
    expect(new Set(rest).size).toBe(rest.length);
  });
});
