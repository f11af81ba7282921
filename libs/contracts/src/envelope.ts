import { z } from 'zod';
import { deriveEventId, SubjectToken, Ulid } from './ids.js';
import { EVENTS, type DataOf, type EventType } from './events/index.js';
import { subjects } from './subjects.js';
import { nowMicros, Timestamp } from './time.js';

/** Who published an event. */
export const Producer = z.strictObject({
  service: z.string().min(1).max(64),
  instance: z.string().min(1).max(128),
  version: z.string().min(1).max(64),
});
export type Producer = z.infer<typeof Producer>;

/** The fields every event carries whatever its type (DESIGN §3). */
const envelopeFields = {
  event_id: Ulid,
  env: SubjectToken,
  occurred_at: Timestamp,
  producer: Producer,
  run_id: SubjectToken.optional(),
  intent_id: Ulid.optional(),
  agent_id: SubjectToken.optional(),
  workflow: SubjectToken.optional(),
  /** The event that caused this one; an event with no cause names itself. */
  causation_id: Ulid,
  /** The run this event belongs to, or the id of the event that started the chain. */
  correlation_id: z.string().min(1).max(128),
  /** The producer's signature, when signing is on. */
  sig: z.string().max(1024).optional(),
};

/** The envelope of any event, with its `type` and `data` left unchecked (for routing and logging). */
export const AnyEnvelope = z.strictObject({
  ...envelopeFields,
  type: z.string(),
  data: z.unknown(),
});

function envelopeOf<T extends EventType>(type: T) {
  return z.strictObject({ ...envelopeFields, type: z.literal(type), data: EVENTS[type] });
}

/** The full envelope schema of each event type. */
export const ENVELOPES = Object.fromEntries(
  Object.keys(EVENTS).map((type) => [type, envelopeOf(type as EventType)]),
) as { [T in EventType]: ReturnType<typeof envelopeOf<T>> };

/** The envelope fields shared by every event. */
export type EnvelopeBase = z.infer<z.ZodObject<typeof envelopeFields>>;

/** An event of type `T` (or, by default, any known type, as a union discriminated by `type`). */
export type Envelope<T extends EventType = EventType> = {
  [K in T]: EnvelopeBase & { type: K; data: DataOf<K> };
}[T];

/** What {@link buildEvent} needs; ids and context not given are taken from `cause`. */
export interface BuildEventInput<T extends EventType> {
  type: T;
  data: DataOf<T>;
  producer: Producer;
  /** Required for an event without a cause; derived from the cause otherwise (see {@link deriveEventId}). */
  eventId?: string;
  /** The event this one answers; its run, intent, agent, workflow and correlation are inherited. */
  cause?: EnvelopeBase;
  /** Separates several events of one type derived from one cause (e.g. an attempt number). */
  discriminator?: string;
  env?: string;
  runId?: string;
  intentId?: string;
  agentId?: string;
  workflow?: string;
  occurredAt?: string;
}

/**
 * Builds an envelope. An event with a cause gets a derived id, so the handler that builds it again
 * after a redelivery publishes the same id and JetStream drops the duplicate.
 */
export function buildEvent<T extends EventType>(input: BuildEventInput<T>): Envelope<T> {
  const { cause } = input;
  const eventId =
    input.eventId ??
    (cause ? deriveEventId(cause.event_id, input.type, input.discriminator) : undefined);
  if (eventId === undefined)
    throw new Error(`buildEvent(${input.type}): an event without a cause needs an eventId`);
  const env = input.env ?? cause?.env;
  if (env === undefined)
    throw new Error(`buildEvent(${input.type}): env is required without a cause`);
  const runId = input.runId ?? cause?.run_id;
  const event = {
    event_id: eventId,
    type: input.type,
    env,
    occurred_at: input.occurredAt ?? nowMicros(),
    producer: input.producer,
    causation_id: cause?.event_id ?? eventId,
    correlation_id: runId ?? cause?.correlation_id ?? eventId,
    data: input.data,
    ...optional('run_id', runId),
    ...optional('intent_id', input.intentId ?? cause?.intent_id),
    ...optional('agent_id', input.agentId ?? cause?.agent_id),
    ...optional('workflow', input.workflow ?? cause?.workflow),
  };
  return event;
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** The subject an event is published on: `warden.<env>.evt.<type>.<agent_id | _>`. */
export function subjectOf(
  event: Pick<EnvelopeBase, 'env' | 'agent_id'> & { type: string },
): string {
  return subjects.event(event.env, event.type, event.agent_id);
}
