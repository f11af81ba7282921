import type { NatsConnection } from '@nats-io/transport-node';
import { subjects, type Envelope } from '@warden/contracts';
import {
  EXPECTED_LAST_SUBJECT_SEQUENCE,
  isWrongLastSequence,
  lastOnSubject,
  readLog,
  type EventPublisher,
  type PublishResult,
  type SkippedMessage,
} from '@warden/messaging';

export type { SkippedMessage };

/** What a guarded registration publish ended with. */
export type RegistrationOutcome = 'published' | 'exists';

/**
 * The registry's side of the env's event stream: publishing its events, and reading them back
 * (one registration, or all of them for a replay).
 */
export class RegistryLog {
  readonly env: string;

  constructor(
    private readonly nc: NatsConnection,
    readonly publisher: EventPublisher,
  ) {
    this.env = publisher.env;
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
    const subject = subjects.event(this.env, 'agent.registered', agentId);
    const event = (await lastOnSubject(this.nc, this.env, subject))?.event;
    return event?.type === 'agent.registered' ? event : undefined;
  }

  /** Every valid event on `filter`, in log order (see `readLog`). */
  read(filter: string, onSkipped?: (skipped: SkippedMessage) => void): AsyncGenerator<Envelope> {
    return readLog(this.nc, this.env, filter, onSkipped);
  }
}
