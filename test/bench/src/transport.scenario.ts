import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureDurable, EventPublisher, provisionEnv, removeEnv } from '@warden/messaging';
import { ulid } from 'ulid';
import { now, percentiles, type Percentiles } from './stats.js';

/** The transport floor: what one JetStream hop costs on this machine, measured in the same run. */
export interface TransportFloor {
  /** publish (with ack) → pull consumer receives → ack, one message in flight, µs. */
  hopUs: Percentiles;
  /** Validated event publishes with 256 in flight, events/s. */
  publishPerSecond: number;
}

export async function measureTransportFloor(
  nc: NatsConnection,
  env: string,
  hops = 2000,
): Promise<TransportFloor> {
  await provisionEnv(nc, env);
  try {
    const publisher = new EventPublisher(nc, {
      env,
      producer: { service: 'bench', instance: 'floor', version: '0' },
    });
    const event = () => {
      const id = ulid();
      return publisher.build({
        type: 'run.started',
        eventId: id,
        runId: 'run-floor',
        agentId: 'bench',
        data: {},
      });
    };
    const filterSubject = `warden.${env}.evt.run.started.*`;
    await ensureDurable(nc, env, { durable: 'floor', filterSubject, ackWaitMs: 30_000 });
    const consumer = await jetstream(nc).consumers.get(`WARDEN_${env.toUpperCase()}`, 'floor');
    const messages = await consumer.consume({ max_messages: 64 });
    const iterator = messages[Symbol.asyncIterator]();
    const samples: number[] = [];
    for (let i = 0; i < hops; i++) {
      const started = now();
      await publisher.publish(event());
      const next = await iterator.next();
      if (next.done) throw new Error('consumer closed');
      next.value.ack();
      samples.push((now() - started) * 1000);
    }
    // close() waits for pulls the server may never answer (nats-server 2.9): stop and move on.
    messages.stop();

    const batch = Array.from({ length: 20_000 }, event);
    const started = now();
    await publisher.publishMany(batch);
    const publishPerSecond = batch.length / ((now() - started) / 1000);
    return { hopUs: percentiles(samples.slice(100)), publishPerSecond };
  } finally {
    await removeEnv(nc, env);
  }
}
