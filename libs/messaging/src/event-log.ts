import {
  DeliverPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseEvent, subjects, type Envelope } from '@warden/contracts';
import { MessagingError } from './messaging.errors.js';

/**
 * JetStream's header for optimistic concurrency on one subject (server ≥ 2.3): the publish is
 * refused unless the subject's last message has this sequence (`0`: the subject has none).
 */
export const EXPECTED_LAST_SUBJECT_SEQUENCE = 'Nats-Expected-Last-Subject-Sequence';

/** A message of the log that is not a valid event (a producer bug, or a hand-published message). */
export interface SkippedMessage {
  readonly seq: number;
  readonly subject: string;
  readonly reason: string;
}

/** Whether a publish failed because the subject's last sequence was not the expected one. */
export function isWrongLastSequence(error: unknown): boolean {
  const cause = error instanceof MessagingError ? error.cause : error;
  return (
    cause instanceof JetStreamApiError &&
    (cause.code === JetStreamApiCodes.StreamWrongLastSequence ||
      cause.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * The last message on `subject` in the env's stream, with its sequence, or `undefined` when the
 * subject has none (or it aged out). `event` is absent when that message is not a valid event.
 */
export async function lastOnSubject(
  nc: NatsConnection,
  env: string,
  subject: string,
): Promise<{ readonly seq: number; readonly event?: Envelope } | undefined> {
  const jsm = await jetstreamManager(nc);
  const message = await jsm.streams.getMessage(subjects.streamName(env), { last_by_subj: subject });
  if (message === null) return undefined;
  const parsed = parseEvent(message.data, { env, subject: message.subject });
  return parsed.ok ? { seq: message.seq, event: parsed.event } : { seq: message.seq };
}

/**
 * Every valid event on `filter` (e.g. `warden.<env>.evt.agent.registered.*`) up to the stream's
 * end when the call started, in log order, through an ordered consumer. Invalid messages are
 * passed to `onSkipped` and left out: a replay never stops on one bad message.
 */
export async function* readLog(
  nc: NatsConnection,
  env: string,
  filter: string,
  onSkipped: (skipped: SkippedMessage) => void = () => undefined,
): AsyncGenerator<Envelope> {
  const stream = subjects.streamName(env);
  const consumer = await jetstream(nc).consumers.get(stream, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.All,
  });
  try {
    let pending = (await consumer.info(true)).num_pending;
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 500), expires: 5000 });
      let received = 0;
      for await (const message of batch) {
        received++;
        pending--;
        const parsed = parseEvent(message.data, { env, subject: message.subject });
        // parseEvent also checks that the subject is the event's own (env, type, agent).
        if (parsed.ok) yield parsed.event;
        else onSkipped({ seq: message.seq, subject: message.subject, reason: parsed.reason });
      }
      if (received === 0) {
        throw new MessagingError(
          'nats_unreachable',
          `reading ${filter} from ${stream} stalled with ${pending} events to go; retry`,
        );
      }
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
