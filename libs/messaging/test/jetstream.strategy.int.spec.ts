import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  durableName,
  EventPublisher,
  JETSTREAM_TRANSPORT,
  JetStreamTransport,
  OnEvent,
  Outcome,
  removeEnv,
  type EventContext,
} from '../src/index.js';
import { consumerInfo, countOnStream, isDrained, lastOnStream } from './support.js';

/** What the example handler saw, and how slow it should be. */
const probe = { handled: [] as { id: string; pid: string }[], delayMs: 0 };

/** The example service: resolves every proposed intent at once (a stand-in for the pipeline). */
@Controller()
class ResolveController {
  @OnEvent('intent.proposed')
  async resolve(event: Envelope<'intent.proposed'>, ctx: EventContext): Promise<Outcome> {
    probe.handled.push({ id: event.event_id, pid: ctx.producer.instance });
    if (event.agent_id === 'explode') throw new Error('the tool registry is unreachable');
    if (probe.delayMs > 0) await sleep(probe.delayMs);
    await ctx.publish(
      buildEvent({
        type: 'intent.resolved',
        cause: event,
        producer: ctx.producer,
        data: { status: 'executed', stage: 'executor', tool: event.data.tool },
      }),
    );
    return Outcome.processed;
  }
}

@Module({ controllers: [ResolveController] })
class ResolverModule {}

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
const env = uniqueEnv('nest');

const transports = new WeakMap<INestMicroservice, JetStreamTransport>();

async function startResolver(instance: string): Promise<INestMicroservice> {
  const transport = new JetStreamTransport({
    servers: nats.url,
    env,
    service: 'resolver',
    producer: { instance, version: '1.0.0' },
    consumer: { maxDeliver: 1 },
  });
  // Nest types these options as a class; its own docs pass a literal.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  const app = await NestFactory.createMicroservice(ResolverModule, {
    strategy: transport,
    logger: false,
  });
  await app.listen();
  transports.set(app, transport);
  return app;
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'nest-test' });
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
});

afterAll(async () => {
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('JetStreamTransport', () => {
  it('delivers events to the @OnEvent handler, whose output goes through ctx', async () => {
    const app = await startResolver('r1');
    try {
      const info = await consumerInfo(nc, env, durableName('resolver', 'intent.proposed'));
      expect(info.config.filter_subject).toBe(subjects.eventType(env, 'intent.proposed'));

      const event = proposedEvent(env, { agent: 'nest-agent' });
      await publisher.publish(event);
      const resolved = subjects.event(env, 'intent.resolved', 'nest-agent');
      const stored = await waitFor(() =>
        lastOnStream<Envelope<'intent.resolved'>>(nc, env, resolved),
      );
      expect(stored.data).toMatchObject({
        causation_id: event.event_id,
        producer: { service: 'resolver', instance: 'r1', version: '1.0.0' },
        data: { status: 'executed' },
      });
    } finally {
      await app.close();
    }
  });

  it('dead-letters with the error the handler threw, not Nest’s generic one', async () => {
    const app = await startResolver('r1');
    try {
      await publisher.publish(proposedEvent(env, { agent: 'explode' }));
      const deadLetters = subjects.event(env, 'event.dead_lettered', 'explode');
      const stored = await waitFor(() =>
        lastOnStream<Envelope<'event.dead_lettered'>>(nc, env, deadLetters),
      );
      expect(stored.data.data).toMatchObject({
        reason: 'handler_failed',
        detail: 'the tool registry is unreachable',
        consumer: 'resolver__intent_proposed',
      });
    } finally {
      await app.close();
    }
  });

  it('app.close() drains: a running handler finishes, publishes and acks first', async () => {
    const app = await startResolver('r1');
    const durable = durableName('resolver', 'intent.proposed');
    probe.delayMs = 300;
    try {
      const event = proposedEvent(env, { agent: 'drain-agent' });
      await publisher.publish(event);
      await waitFor(() => probe.handled.some((h) => h.id === event.event_id));
      await app.close();
      // Closed: the output is stored and the input acked, with nothing left in flight.
      expect(
        await countOnStream(nc, env, subjects.event(env, 'intent.resolved', 'drain-agent')),
      ).toBe(1);
      expect(await isDrained(nc, env, durable)).toBe(true);
      expect(() => transports.get(app)?.unwrap()).toThrow(/not listening/);
    } finally {
      probe.delayMs = 0;
    }
  });

  it('two replicas share the durable and split the events', async () => {
    const replicas = [await startResolver('r1'), await startResolver('r2')];
    try {
      probe.handled = [];
      const events = Array.from({ length: 300 }, () => proposedEvent(env, { agent: 'split' }));
      await publisher.publishMany(events);
      await waitFor(
        () =>
          probe.handled.length >= 300 &&
          isDrained(nc, env, durableName('resolver', 'intent.proposed')),
      );
      expect(new Set(probe.handled.map((h) => h.id)).size).toBe(300);
      expect(probe.handled.length).toBe(300);
      const byReplica = new Set(probe.handled.map((h) => h.pid));
      expect(byReplica).toEqual(new Set(['r1', 'r2']));
    } finally {
      await Promise.all(replicas.map((app) => app.close()));
    }
  });

  it('refuses a handler pattern that is not an event type', async () => {
    @Controller()
    class WrongController {
      @(EventPattern('intent.invented', JETSTREAM_TRANSPORT) as MethodDecorator)
      handle(): Outcome {
        return Outcome.processed;
      }
    }
    @Module({ controllers: [WrongController] })
    class WrongModule {}
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    const app = await NestFactory.createMicroservice(WrongModule, {
      strategy: new JetStreamTransport({ servers: nats.url, env, service: 'wrong' }),
      logger: false,
    });
    await expect(app.listen()).rejects.toMatchObject({ code: 'invalid_config' });
    await app.close();
  });
});
