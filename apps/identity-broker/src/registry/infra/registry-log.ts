import {
  DeliverPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseEvent, subjects, type Envelope } from '@warden/contracts';
import { type EventPublisher, MessagingError, type PublishResult } from '@warden/messaging';

/** JetStream's header for optimistic concurrency on one subject (server ≥ 2.3). */
const EXPECTED_LAST_SUBJECT_SEQUENCE = 'Nats-Expected-Last-Subject-Sequence';

/** What a guarded registration publish ended with. */
export type RegistrationOutcome = 'published' | 'exists';

/** An event the log holds that is not a valid event (a producer bug, or a hand-published message). */
export interface SkippedMessage {
  readonly seq: number;
  readonly subject: string;
  readonly reason: string;
}

/**
 * The registry's side of the env's event stream: publishing its events, and reading them back
 * (one registration, or all of them for a replay).
 */
export class RegistryLog {
  readonly env: string;
  private readonly stream: string;

  constructor(
    private readonly nc: NatsConnection,
    readonly publisher: EventPublisher,
  ) {
    this.env = publisher.env;
    this.stream = subjects.streamName(publisher.env);
  }

  /** Publishes one event and waits for JetStream's ack. */
  publish(event: Envelope): Promise<PublishResult> {
    return this.publisher.publish(event);
  }

  /**
   * Publishes `agent.registered` only if the log holds no registration of that agent yet: the
   * subject `…evt.agent.registered.<agent>` must have no message (expected last subject sequence
   * 0). This makes the log itself refuse a second registration of an id, also when KV lost the
   * first one's record, and also when two replicas register the same id at the same moment.
   */
  async publishRegistration(event: Envelope<'agent.registered'>): Promise<RegistrationOutcome> {
    try {
      await this.publisher.publish(event, { headers: { [EXPECTED_LAST_SUBJECT_SEQUENCE]: '0' } });
      return 'published';
    } catch (error) {
      if (isWrongLastSequence(error)) return 'exists';
      throw error;
    }
  }

  /** The agent's `agent.registered` as the log holds it, or `undefined` (none, or aged out). */
  async registrationOf(agentId: string): Promise<Envelope<'agent.registered'> | undefined> {
    const jsm = await jetstreamManager(this.nc);
    const subject = subjects.event(this.env, 'agent.registered', agentId);
    const message = await jsm.streams.getMessage(this.stream, { last_by_subj: subject });
    if (message === null) return undefined;
    const parsed = parseEvent(message.data, { env: this.env, subject: message.subject });
    return parsed.ok && parsed.event.type === 'agent.registered' ? parsed.event : undefined;
  }

  /**
   * Every valid event on `filter` (e.g. `warden.<env>.evt.agent.>`) up to the stream's end when
   * the call started, in log order, through an ordered consumer. Invalid messages are passed to
   * `onSkipped` and left out: a replay never stops on one bad message.
   */
  async *read(
    filter: string,
    onSkipped: (skipped: SkippedMessage) => void = () => undefined,
  ): AsyncGenerator<Envelope> {
    const consumer = await jetstream(this.nc).consumers.get(this.stream, {
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
          const parsed = parseEvent(message.data, { env: this.env, subject: message.subject });
          // parseEvent also checks that the subject is the event's own (env, type, agent).
          if (parsed.ok) yield parsed.event;
          else onSkipped({ seq: message.seq, subject: message.subject, reason: parsed.reason });
        }
        if (received === 0) {
          throw new MessagingError(
            'nats_unreachable',
            `reading ${filter} from ${this.stream} stalled with ${pending} events to go; retry`,
          );
        }
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}

/** Whether a publish failed because the subject's last sequence was not the expected one. */
function isWrongLastSequence(error: unknown): boolean {
  const cause = error instanceof MessagingError ? error.cause : error;
  return (
    cause instanceof JetStreamApiError &&
    (cause.code === JetStreamApiCodes.StreamWrongLastSequence ||
      cause.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
