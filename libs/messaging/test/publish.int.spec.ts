import type { NatsConnection } from '@nats-io/transport-node';
import { subjectOf, subjects } from '@warden/contracts';
import { startNats, uniqueEnv, type TestNats, proposedEvent, TEST_PRODUCER } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  EventPublisher,
  MessagingError,
  provisionEnv,
  removeEnv,
} from '../src/index.js';
import { countOnStream, lastOnStream } from './support.js';

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
const env = uniqueEnv('publish');

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'publish-test' });
  await provisionEnv(nc, env);
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
});

afterAll(async () => {
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('EventPublisher.publish', () => {
  it('stores an event once: a second publish within the window is a duplicate', async () => {
    const event = proposedEvent(env, { agent: 'dup-agent' });
    const first = await publisher.publish(event);
    const second = await publisher.publish(event);
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ seq: first.seq, duplicate: true });
    expect(await countOnStream(nc, env, subjectOf(event))).toBe(1);
    const stored = await lastOnStream(nc, env, subjectOf(event));
    expect(stored?.headers['Nats-Msg-Id']).toBe(event.event_id);
  });

  it('adds the caller headers', async () => {
    const event = proposedEvent(env, { agent: 'header-agent' });
    await publisher.publish(event, { headers: { 'Warden-Credential': 'token' } });
    const stored = await lastOnStream(nc, env, subjectOf(event));
    expect(stored?.headers['Warden-Credential']).toBe('token');
  });

  it('refuses an event that breaks its contract, and nothing reaches the stream', async () => {
    const event = proposedEvent(env, { agent: 'bad-agent' });
    const broken = { ...event, data: { ...event.data, step: 0 } };
    const error = await publisher.publish(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MessagingError);
    expect(error).toMatchObject({ code: 'invalid_event', retryable: false });
    expect((error as Error).message).toMatch(/invalid_data.*step/s);

    await expect(publisher.publish(proposedEvent('other-env'))).rejects.toMatchObject({
      code: 'invalid_event',
    });
    await expect(publisher.publish({ ...event, agent_id: 'Not A Token' })).rejects.toMatchObject({
      code: 'invalid_event',
    });
    await expect(
      publisher.publish(proposedEvent(env, { agent: 'bad-agent', padBytes: 300 * 1024 })),
    ).rejects.toThrow(/oversize/);
    expect(await countOnStream(nc, env, subjects.event(env, 'intent.proposed', 'bad-agent'))).toBe(
      0,
    );
  });

  it('fails with publish_failed when no stream captures the subject', async () => {
    const unprovisioned = uniqueEnv('nostream');
    const orphan = new EventPublisher(nc, {
      env: unprovisioned,
      producer: TEST_PRODUCER,
      timeoutMs: 2_000,
    });
    await expect(orphan.publish(proposedEvent(unprovisioned))).rejects.toMatchObject({
      code: 'publish_failed',
      retryable: true,
    });
  });
});

describe('EventPublisher.publishMany', () => {
  it('pipelines a window of publishes and counts stored and duplicate events', async () => {
    const events = Array.from({ length: 1000 }, () => proposedEvent(env, { agent: 'many' }));
    const result = await publisher.publishMany(events, { window: 64 });
    expect(result).toEqual({ stored: 1000, duplicates: 0 });
    const again = await publisher.publishMany(events.slice(0, 10));
    expect(again).toEqual({ stored: 0, duplicates: 10 });
    expect(await countOnStream(nc, env, subjects.event(env, 'intent.proposed', 'many'))).toBe(1000);
  });

  it('validates every event before sending any', async () => {
    const events = [
      proposedEvent(env, { agent: 'batch-bad' }),
      proposedEvent(env, { agent: 'batch-bad' }),
    ];
    const broken = [events[0]!, { ...events[1]!, env: 'elsewhere' }];
    await expect(publisher.publishMany(broken)).rejects.toMatchObject({ code: 'invalid_event' });
    expect(await countOnStream(nc, env, subjects.event(env, 'intent.proposed', 'batch-bad'))).toBe(
      0,
    );
  });
});

describe('EventPublisher.publishRaw', () => {
  it('puts bytes on the stream unvalidated', async () => {
    const subject = subjects.event(env, 'intent.proposed', 'raw');
    const ack = await publisher.publishRaw(subject, '{not json', { msgId: 'raw-1' });
    expect(ack.duplicate).toBe(false);
    expect((await publisher.publishRaw(subject, 'again', 'raw-1')).duplicate).toBe(true);
    expect(await countOnStream(nc, env, subject)).toBe(1);
  });
});
