import type { NatsConnection } from '@nats-io/transport-node';
import { subjects, type Envelope, type EventType } from '@warden/contracts';
import {
  EXPECTED_LAST_SUBJECT_SEQUENCE,
  isWrongLastSequence,
  lastOnSubject,
  type EventPublisher,
} from '@warden/messaging';
import { ApiFailure } from '@warden/messaging';

/** How often a change lost to a concurrent one is tried again before giving up with `busy`. */
const MAX_ATTEMPTS = 5;

/**
 * Publishes changes of one kind (tool registrations, policy versions) one after another through the
 * log: each publish names the sequence of the last event of its type it saw, and JetStream refuses
 * it if another got in between (Nats-Expected-Last-Subject-Sequence). The loser repairs KV from the
 * winner's event and decides again, so two admins racing never both get version 7.
 *
 * `attempt(last)` reads KV and returns the event to publish, or a final answer with nothing to
 * publish; `apply(event)` projects an event (the winner's, or ours) into KV.
 */
export async function publishInTurn<R>(
  nc: NatsConnection,
  publisher: EventPublisher,
  type: EventType,
  steps: {
    attempt(): Promise<{ publish: Envelope } | { answer: R }>;
    /** Projects an event of `type` (ours, or one that beat it) into KV. */
    apply(event: Envelope): Promise<void>;
    answer(): Promise<R>;
  },
): Promise<R> {
  const subject = subjects.event(publisher.env, type, undefined);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const last = await lastOnSubject(nc, publisher.env, subject);
    // KV may miss the last event (a crash between publish and KV write): repair before deciding.
    if (last?.event?.type === type) await steps.apply(last.event);
    const next = await steps.attempt();
    if ('answer' in next) return next.answer;
    try {
      await publisher.publish(next.publish, {
        headers: { [EXPECTED_LAST_SUBJECT_SEQUENCE]: String(last?.seq ?? 0) },
      });
    } catch (error) {
      if (isWrongLastSequence(error)) continue;
      throw error;
    }
    await steps.apply(next.publish);
    return steps.answer();
  }
  throw new ApiFailure('busy', `too many concurrent ${type} changes: retry in a moment`);
}
