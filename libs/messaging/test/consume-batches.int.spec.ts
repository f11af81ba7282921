import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';
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
  consumeBatches,
  EventPublisher,
  provisionEnv,
  removeEnv,
  type BatchConsumer,
  type RawMessage,
} from '../src/index.js';
import { isDrained } from './support.js';

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
const env = uniqueEnv('batches');
const running: BatchConsumer[] = [];

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'batches-test' });
  await provisionEnv(nc, env);
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((consumer) => consumer.stop()));
});

afterAll(async () => {
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

function scope(name: string) {
  return {
    agent: name,
    durable: `batch__${name}`,
    filterSubject: subjects.event(env, 'intent.proposed', name),
  };
}

describe('consumeBatches', () => {
  it('hands 20,000 messages to handle exactly once, in batches of at most maxBatch, one batch at a time', async () => {
    const { agent, durable, filterSubject } = scope('bulk');
    await publisher.publishMany(
      Array.from({ length: 20_000 }, () => proposedEvent(env, { agent })),
    );
    const seqs: number[] = [];
    const sizes: number[] = [];
    let inHandle = 0;
    let maxInHandle = 0;
    const consumer = consumeBatches(nc, {
      env,
      durable,
      filterSubject,
      maxBatch: 3_000,
      ensureDurable: true,
      handle: async (batch) => {
        maxInHandle = Math.max(maxInHandle, ++inHandle);
        sizes.push(batch.length);
        for (const message of batch) seqs.push(message.seq);
        await sleep(5);
        inHandle--;
      },
    });
    running.push(consumer);
    await waitFor(() => seqs.length >= 20_000 && isDrained(nc, env, durable), {
      timeoutMs: 20_000,
      message: '20,000 messages handled and acked',
    });
    expect(seqs).toHaveLength(20_000);
    expect(new Set(seqs).size).toBe(20_000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3_000);
    expect(sizes.length).toBeGreaterThanOrEqual(7);
    expect(maxInHandle).toBe(1);
    expect(consumer.stats).toMatchObject({ messages: 20_000, failedBatches: 0 });
  });

  it('with concurrency 2 runs two batches in handle at once, each message still handled once', async () => {
    const { agent, durable, filterSubject } = scope('concurrent');
    await publisher.publishMany(
      Array.from({ length: 10_000 }, () => proposedEvent(env, { agent })),
    );
    const seqs: number[] = [];
    let inHandle = 0;
    let maxInHandle = 0;
    const consumer = consumeBatches(nc, {
      env,
      durable,
      filterSubject,
      maxBatch: 1_000,
      concurrency: 2,
      ensureDurable: true,
      handle: async (batch) => {
        maxInHandle = Math.max(maxInHandle, ++inHandle);
        for (const message of batch) seqs.push(message.seq);
        await sleep(20);
        inHandle--;
      },
    });
    running.push(consumer);
    await waitFor(() => seqs.length >= 10_000 && isDrained(nc, env, durable), {
      timeoutMs: 20_000,
      message: '10,000 messages handled and acked',
    });
    expect(new Set(seqs).size).toBe(10_000);
    expect(seqs).toHaveLength(10_000);
    expect(maxInHandle).toBe(2);
  });

  it('redelivers the messages of a failed batch, marked redelivered', async () => {
    const { agent, durable, filterSubject } = scope('failing');
    const events = Array.from({ length: 50 }, () => proposedEvent(env, { agent }));
    await publisher.publishMany(events);
    const calls: RawMessage[][] = [];
    running.push(
      consumeBatches(nc, {
        env,
        durable,
        filterSubject,
        maxBatch: 100,
        maxWaitMs: 50,
        ensureDurable: true,
        retryDelayMs: () => 50,
        handle: (batch) => {
          calls.push(batch);
          return calls.length === 1 ? Promise.reject(new Error('store down')) : Promise.resolve();
        },
      }),
    );
    await waitFor(() => {
      const handled = calls.slice(1).flat();
      return handled.length >= 50 && isDrained(nc, env, durable);
    });
    const failed = calls[0]!;
    expect(failed.every((message) => !message.redelivered && message.deliveryCount === 1)).toBe(
      true,
    );
    const retried = calls
      .slice(1)
      .flat()
      .filter((message) => failed.some((f) => f.seq === message.seq));
    expect(retried.map((message) => message.seq).sort((a, b) => a - b)).toEqual(
      failed.map((message) => message.seq).sort((a, b) => a - b),
    );
    expect(retried.every((message) => message.redelivered && message.deliveryCount === 2)).toBe(
      true,
    );
    const first = failed[0]!;
    const body = JSON.parse(new TextDecoder().decode(first.data)) as { event_id: string };
    expect(first.subject).toBe(filterSubject);
    expect(first.headers?.['Nats-Msg-Id']).toBe(body.event_id);
    expect(events.map((event) => event.event_id)).toContain(body.event_id);
  });

  it('stop() flushes what is buffered through handle and acks it', async () => {
    const { agent, durable, filterSubject } = scope('flush');
    const handled: number[] = [];
    const consumer = consumeBatches(nc, {
      env,
      durable,
      filterSubject,
      maxBatch: 10_000,
      maxWaitMs: 60_000,
      ensureDurable: true,
      handle: (batch) => {
        handled.push(batch.length);
        return Promise.resolve();
      },
    });
    await publisher.publishMany(Array.from({ length: 100 }, () => proposedEvent(env, { agent })));
    await waitFor(() => consumer.stats.buffered === 100, { message: '100 messages buffered' });
    expect(handled).toEqual([]);
    await consumer.stop();
    expect(handled).toEqual([100]);
    expect(await isDrained(nc, env, durable)).toBe(true);
  });
});
