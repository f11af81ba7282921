import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  casUpdate,
  connectNats,
  ensureKvBuckets,
  MessagingError,
  removeEnv,
} from '../src/index.js';

let nats: TestNats;
let nc: NatsConnection;
let kv: KV;
const env = uniqueEnv('cas');

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'cas-test' });
  ({ counters: kv } = await ensureKvBuckets(nc, env, ['counters']));
});

afterAll(async () => {
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('casUpdate', () => {
  it('ends at the exact total with 8 concurrent writers on one key', async () => {
    const writers = 8;
    const perWriter = 100;
    // Separate connections, as separate replicas would have.
    const connections = await Promise.all(
      Array.from({ length: writers }, (_, i) => connectNats({ servers: nats.url, name: `w${i}` })),
    );
    try {
      const results = await Promise.all(
        connections.map(async (connection) => {
          const { counters } = await ensureKvBuckets(connection, env, ['counters']);
          let attempts = 0;
          for (let i = 0; i < perWriter; i++) {
            const result = await casUpdate<{ n: number }>(
              counters,
              'hot',
              (current) => ({ n: (current?.n ?? 0) + 1 }),
              { maxAttempts: 1_000 },
            );
            attempts += result.attempts;
          }
          return attempts;
        }),
      );
      const entry = await kv.get('hot');
      expect(entry?.json<{ n: number }>()).toEqual({ n: writers * perWriter });
      // Contention really happened: some increments needed more than one round.
      expect(results.reduce((a, b) => a + b, 0)).toBeGreaterThan(writers * perWriter);
    } finally {
      await Promise.all(connections.map((connection) => connection.close()));
    }
  });

  it('creates an absent key, leaves it when mutate returns undefined, and writes over a delete', async () => {
    const created = await casUpdate<number>(kv, 'fresh', (current) => (current ?? 0) + 5);
    expect(created).toMatchObject({ value: 5, written: true, attempts: 1 });
    const left = await casUpdate<number>(kv, 'fresh', () => undefined);
    expect(left).toMatchObject({ value: 5, written: false, revision: created.revision });
    await kv.delete('fresh');
    const rewritten = await casUpdate<number>(kv, 'fresh', (current) => (current ?? 100) + 1);
    expect(rewritten.value).toBe(101);
  });

  it('gives up with cas_conflict after maxAttempts lost races', async () => {
    let rounds = 0;
    const error = await casUpdate<number>(
      kv,
      'contested',
      async (current) => {
        rounds++;
        // Someone else writes between our read and our write, every time.
        await kv.put('contested', JSON.stringify(rounds * 10));
        return (current ?? 0) + 1;
      },
      { maxAttempts: 3 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MessagingError);
    expect(error).toMatchObject({ code: 'cas_conflict', retryable: true });
    expect(rounds).toBe(3);
  });

  it('computes on a known value without reading, and reads again when it is stale', async () => {
    const first = await casUpdate<number>(kv, 'cached', (current) => (current ?? 0) + 1);
    const seen: (number | undefined)[] = [];
    const fromCache = await casUpdate<number>(
      kv,
      'cached',
      (current) => {
        seen.push(current);
        return (current ?? 0) + 1;
      },
      // A value the key never held: proves the round computed on it rather than on a read.
      { known: { value: 41, revision: first.revision } },
    );
    expect(fromCache).toMatchObject({ value: 42, written: true, attempts: 1 });
    expect(seen).toEqual([41]);

    // Another writer moved the key on: the known revision loses, the next round reads.
    await kv.put('cached', JSON.stringify(100));
    seen.length = 0;
    const stale = await casUpdate<number>(
      kv,
      'cached',
      (current) => {
        seen.push(current);
        return (current ?? 0) + 1;
      },
      { known: { value: 42, revision: fromCache.revision } },
    );
    expect(stale).toMatchObject({ value: 101, written: true, attempts: 2 });
    expect(seen).toEqual([42, 100]);
    expect((await kv.get('cached'))?.json<number>()).toBe(101);
  });
});
