import { jetstreamManager, type ConsumerInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';

/** Helpers shared by this project's integration tests. */

/** How many messages of the env's stream match `filter` (a subject with wildcards). */
export async function countOnStream(
  nc: NatsConnection,
  env: string,
  filter: string,
): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(subjects.streamName(env), { subjects_filter: filter });
  return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
}

/** The last message on `subject` in the env's stream, parsed as JSON (as the caller says it is). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export async function lastOnStream<T = unknown>(
  nc: NatsConnection,
  env: string,
  subject: string,
): Promise<{ data: T; seq: number; headers: Record<string, string> } | undefined> {
  const jsm = await jetstreamManager(nc);
  const message = await jsm.streams.getMessage(subjects.streamName(env), { last_by_subj: subject });
  if (message === null) return undefined;
  const headers: Record<string, string> = {};
  for (const key of message.header.keys()) headers[key] = message.header.get(key);
  return { data: message.json<T>(), seq: message.seq, headers };
}

export async function consumerInfo(
  nc: NatsConnection,
  env: string,
  durable: string,
): Promise<ConsumerInfo> {
  const jsm = await jetstreamManager(nc);
  return jsm.consumers.info(subjects.streamName(env), durable);
}

/** Whether every message the durable received is acked and nothing waits for it. */
export async function isDrained(
  nc: NatsConnection,
  env: string,
  durable: string,
): Promise<boolean> {
  const info = await consumerInfo(nc, env, durable);
  return info.num_ack_pending === 0 && info.num_pending === 0;
}
