import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { MAX_EVENT_BYTES, subjects } from '@warden/contracts';
import { startNats, uniqueEnv, type TestNats } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  durableName,
  ensureDurable,
  ensureKvBuckets,
  kvBucketName,
  MessagingError,
  provisionEnv,
  removeEnv,
  STREAM_MAX_MSG_BYTES,
} from '../src/index.js';
import { getFreePort } from '@warden/testing';

let nats: TestNats;
let nc: NatsConnection;
const env = uniqueEnv('provision');

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'provision-test' });
});

afterAll(async () => {
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('connectNats', () => {
  it('names the URL tried and what to do when nothing answers', async () => {
    const url = `nats://127.0.0.1:${await getFreePort()}`;
    const error = await connectNats({ servers: url, name: 'nobody' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MessagingError);
    expect(error).toMatchObject({ code: 'nats_unreachable', retryable: true });
    expect((error as Error).message).toContain(url);
    expect((error as Error).message).toMatch(/nats-server -js.*NATS_URL/);
  });
});

describe('provisionEnv', () => {
  it('creates the env stream once; a second call changes nothing', async () => {
    const first = await provisionEnv(nc, env);
    expect(first).toMatchObject({
      stream: subjects.streamName(env),
      created: true,
      updated: false,
    });
    expect(first.config.subjects).toEqual([subjects.allEvents(env)]);
    expect(first.config.storage).toBe('file');
    expect(first.config.duplicate_window).toBe(2 * 60 * 1e9);
    expect(first.config.max_age).toBe(7 * 24 * 3600 * 1e9);
    expect(first.config.max_msg_size).toBe(STREAM_MAX_MSG_BYTES);
    expect(STREAM_MAX_MSG_BYTES).toBeGreaterThan(MAX_EVENT_BYTES);

    const jsm = await jetstreamManager(nc);
    const before = await jsm.streams.info(subjects.streamName(env));
    const second = await provisionEnv(nc, env);
    expect(second).toMatchObject({ created: false, updated: false });
    const after = await jsm.streams.info(subjects.streamName(env));
    expect(after.config).toEqual(before.config);
    expect(after.created).toBe(before.created);
  });

  it('updates mutable settings in place', async () => {
    const result = await provisionEnv(nc, env, {
      maxAgeMs: 24 * 3600_000,
      duplicateWindowMs: 5 * 60_000,
    });
    expect(result).toMatchObject({ created: false, updated: true });
    expect(result.config.max_age).toBe(24 * 3600 * 1e9);
    expect(result.config.duplicate_window).toBe(5 * 60 * 1e9);
    await provisionEnv(nc, env);
  });

  it('refuses a duplicate window under two minutes', async () => {
    await expect(provisionEnv(nc, env, { duplicateWindowMs: 10_000 })).rejects.toMatchObject({
      code: 'invalid_config',
    });
  });

  it('survives two processes provisioning at once', async () => {
    const racing = uniqueEnv('provision-race');
    try {
      const results = await Promise.all([provisionEnv(nc, racing), provisionEnv(nc, racing)]);
      expect(results.filter((r) => r.created).length).toBeGreaterThanOrEqual(1);
    } finally {
      await removeEnv(nc, racing);
    }
  });
});

describe('ensureDurable', () => {
  it('derives durable names from service and event type', () => {
    expect(durableName('policy-decision', 'intent.authenticated')).toBe(
      'policy-decision__intent_authenticated',
    );
    expect(() => durableName('Policy Decision', 'intent.authenticated')).toThrow(MessagingError);
  });

  it('creates an explicit-ack pull consumer once and updates it when settings change', async () => {
    await provisionEnv(nc, env);
    const durable = durableName('svc', 'intent.proposed');
    const options = { durable, filterSubject: subjects.eventType(env, 'intent.proposed') };
    const created = await ensureDurable(nc, env, options);
    expect(created.config).toMatchObject({
      durable_name: durable,
      ack_policy: 'explicit',
      filter_subject: subjects.eventType(env, 'intent.proposed'),
      ack_wait: 30 * 1e9,
      max_deliver: 5,
      max_ack_pending: 20_000,
    });
    const again = await ensureDurable(nc, env, options);
    expect(again.created).toBe(created.created);
    expect(again.config).toEqual(created.config);

    const updated = await ensureDurable(nc, env, { ...options, ackWaitMs: 10_000, maxDeliver: 3 });
    expect(updated.config).toMatchObject({ ack_wait: 10 * 1e9, max_deliver: 3 });
  });

  it('refuses names and filters NATS would not take', async () => {
    await expect(
      ensureDurable(nc, env, { durable: 'has.dot', filterSubject: subjects.allEvents(env) }),
    ).rejects.toMatchObject({ code: 'invalid_config' });
    await expect(
      ensureDurable(nc, env, { durable: 'ok', filterSubject: '' }),
    ).rejects.toMatchObject({
      code: 'invalid_config',
    });
  });
});

describe('ensureKvBuckets and removeEnv', () => {
  it('creates warden_<env>_<name> buckets and opens them again', async () => {
    const buckets = await ensureKvBuckets(nc, env, ['agents', 'rate-limits']);
    await buckets.agents.put('a1', '{"active":true}');
    const again = await ensureKvBuckets(nc, env, ['agents']);
    expect((await again.agents.get('a1'))?.string()).toBe('{"active":true}');
    expect((await buckets['rate-limits'].status()).bucket).toBe(kvBucketName(env, 'rate-limits'));
    expect(kvBucketName(env, 'agents')).toBe(`warden_${env}_agents`);
  });

  it('removes only its own env, not one whose name it prefixes', async () => {
    const mine = uniqueEnv('rm');
    const other = `${mine}_b`;
    await provisionEnv(nc, mine);
    await ensureKvBuckets(nc, mine, ['agents']);
    await ensureKvBuckets(nc, other, ['agents']);
    try {
      const removed = await removeEnv(nc, mine);
      expect(removed).toEqual({ stream: true, buckets: [`warden_${mine}_agents`] });
      const jsm = await jetstreamManager(nc);
      await expect(jsm.streams.info(subjects.streamName(mine))).rejects.toThrow(/not found/);
      const names: string[] = [];
      for await (const status of new Kvm(nc).list()) names.push(status.bucket);
      expect(names).toContain(`warden_${other}_agents`);
      expect(names).not.toContain(`warden_${mine}_agents`);
      expect(await removeEnv(nc, mine)).toEqual({ stream: false, buckets: [] });
    } finally {
      await removeEnv(nc, other);
    }
  });
});
