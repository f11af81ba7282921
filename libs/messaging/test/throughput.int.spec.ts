import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';
import {
  startNats,
  uniqueEnv,
  waitFor,
  type TestNats,
  proposedEvent,
  TEST_PRODUCER,
} from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import {
  connectNats,
  consumeBatches,
  consumeEvents,
  ensureDurable,
  EventPublisher,
  Outcome,
  provisionEnv,
  removeEnv,
} from '../src/index.js';

/*
 * Throughput of this library on this machine, for the report and for tuning defaults: run with
 * `WARDEN_MEASURE=1 npx vitest run --project messaging throughput`. Skipped otherwise: numbers
 * are measured, never asserted (DESIGN §11: performance is checked by the bench, not by tests).
 */
const MEASURE = process.env.WARDEN_MEASURE === '1';
const COUNT = Number(process.env.WARDEN_MEASURE_COUNT ?? 100_000);

let nats: TestNats;
let nc: NatsConnection;
const env = uniqueEnv('throughput');

function report(label: string, count: number, ms: number): void {
  process.stdout.write(
    `${label}: ${count} msgs in ${ms.toFixed(0)} ms = ${Math.round((count / ms) * 1000)} msgs/s\n`,
  );
}

describe.runIf(MEASURE)('throughput (measured, not asserted)', () => {
  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'throughput' });
    await provisionEnv(nc, env);
  });

  afterAll(async () => {
    await removeEnv(nc, env);
    await nc.close();
    await nats.stop();
  });

  it('publishMany and drains of a backlog', { timeout: 300_000 }, async () => {
    const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    // ~1 KB events, as in the dependency spike.
    const events = Array.from({ length: COUNT }, () =>
      proposedEvent(env, { agent: 'bench', padBytes: 640 }),
    );
    const size = Buffer.byteLength(JSON.stringify(events[0]));
    process.stdout.write(`event size: ${size} bytes\n`);
    // Baseline in the same run: raw JetStream publishes of the same bytes, window 256.
    const js = jetstream(nc);
    const bytes = new TextEncoder().encode(JSON.stringify(events[0]));
    const rawSubject = subjects.event(env, 'intent.proposed', 'raw');
    let start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 256 }, async () => {
        while (next < COUNT) {
          next++;
          await js.publish(rawSubject, bytes);
        }
      }),
    );
    report('baseline: raw js.publish window 256', COUNT, performance.now() - start);

    start = performance.now();
    const result = await publisher.publishMany(events, { window: 256 });
    report('publishMany window 256', result.stored, performance.now() - start);
    expect(result.stored).toBe(COUNT);

    const filterSubject = subjects.event(env, 'intent.proposed', 'bench');
    // Baseline: nats.js consume() + ack of the same backlog, nothing else.
    await ensureDurable(nc, env, { durable: 'drain-raw', filterSubject, maxAckPending: 20_000 });
    start = performance.now();
    const raw = await (
      await js.consumers.get(subjects.streamName(env), 'drain-raw')
    ).consume({
      max_messages: 1_000,
    });
    let drained = 0;
    for await (const message of raw) {
      message.ack();
      if (++drained === COUNT) break;
    }
    report('baseline: raw consume(1000) + ack', drained, performance.now() - start);

    for (const pullBatch of [1_000, 2_500, 5_000]) {
      const durable = `drain-batches-${pullBatch}`;
      let handled = 0;
      start = performance.now();
      const consumer = consumeBatches(nc, {
        env,
        durable,
        filterSubject,
        maxBatch: 5_000,
        pullBatch,
        ensureDurable: true,
        handle: (batch) => {
          handled += batch.length;
          return Promise.resolve();
        },
      });
      await waitFor(() => consumer.stats.messages >= COUNT, { timeoutMs: 120_000, intervalMs: 5 });
      report(
        `consumeBatches drain (maxBatch 5000, pull ${pullBatch}, no-op handle)`,
        handled,
        performance.now() - start,
      );
      await consumer.stop();
    }

    let processed = 0;
    start = performance.now();
    const events$ = await consumeEvents(nc, {
      env,
      service: 'bench',
      durable: 'drain-events',
      filterSubject,
      handle: () => {
        processed++;
        return Outcome.processed;
      },
    });
    await waitFor(() => processed >= COUNT, { timeoutMs: 120_000, intervalMs: 5 });
    report(
      'consumeEvents drain (concurrency 64, pull 256, parse + span + ack)',
      processed,
      performance.now() - start,
    );
    await events$.stop();
  });
});
