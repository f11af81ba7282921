import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjects, type Envelope } from '@warden/contracts';

/** One message of an env's stream, as tests inspect it. */
export interface StreamMessage {
  readonly subject: string;
  readonly seq: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly event: Envelope;
}

/**
 * Every message of the env's stream whose subject matches `filter` (default: all events), in
 * stream order, read through an ordered consumer. For tests: it reads the whole filtered stream.
 */
export async function readStream(
  nc: NatsConnection,
  env: string,
  filter: string = subjects.allEvents(env),
): Promise<StreamMessage[]> {
  const stream = subjects.streamName(env);
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  const expected = Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  const out: StreamMessage[] = [];
  if (expected === 0) return out;
  const consumer = await jetstream(nc).consumers.get(stream, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.All,
  });
  while (out.length < expected) {
    const batch = await consumer.fetch({
      max_messages: Math.min(1000, expected - out.length),
      expires: 2000,
    });
    let received = 0;
    for await (const message of batch) {
      received++;
      const headers: Record<string, string> = {};
      if (message.headers)
        for (const key of message.headers.keys()) headers[key] = message.headers.get(key);
      out.push({
        subject: message.subject,
        seq: message.seq,
        headers,
        event: message.json<Envelope>(),
      });
    }
    if (received === 0) break;
  }
  await consumer.delete().catch(() => undefined);
  return out;
}

/** The events of the env's stream of one type (any agent). */
export async function eventsOfType(
  nc: NatsConnection,
  env: string,
  type: string,
): Promise<Envelope[]> {
  return (await readStream(nc, env, subjects.eventType(env, type))).map((m) => m.event);
}
