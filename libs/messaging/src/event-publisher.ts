import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import {
  buildEvent,
  InvalidSubjectTokenError,
  parseEvent,
  subjectOf,
  subjects,
  type BuildEventInput,
  type Envelope,
  type EventType,
  type Producer,
} from '@warden/contracts';
import { MessagingError, messageOf } from './messaging.errors.js';
import { injectTraceHeaders } from './trace-headers.js';

/** Options of {@link EventPublisher}. */
export interface EventPublisherOptions {
  /** The env every event must belong to; the stream is `WARDEN_<ENV>`. */
  env: string;
  /** The producer stamped on events built with {@link EventPublisher.build}. */
  producer: Producer;
  /** How long to wait for JetStream's ack. Default: the connection's timeout (20 s). */
  timeoutMs?: number;
}

/** Options of one publish. */
export interface PublishOptions {
  /** Extra NATS headers (e.g. `Warden-Credential` on an intent). Trace headers are added. */
  headers?: Readonly<Record<string, string>>;
}

/** JetStream's answer to a publish. */
export interface PublishResult {
  /** The stream sequence of the stored message (of the first copy, for a duplicate). */
  readonly seq: number;
  /** True when an event with this id was already stored within the duplicate window. */
  readonly duplicate: boolean;
}

/** Counts of {@link EventPublisher.publishMany}. */
export interface PublishManyResult {
  readonly stored: number;
  readonly duplicates: number;
}

interface Encoded {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgId: string;
}

const encoder = new TextEncoder();

/**
 * Publishes events of one env to its stream. Every event is checked against its contract first,
 * exactly as consumers will parse it (size, JSON, envelope, data schema, env, subject): a producer
 * bug is a thrown `invalid_event`, never a bad event on the stream.
 *
 * Each publish carries `Nats-Msg-Id = event_id`, so JetStream drops a second publish of the same
 * event within the duplicate window (a handler redelivered after a crash publishes its outputs
 * again with the same derived ids), and expects the env's stream, so a publish that no stream
 * (or another stream) captures fails instead of vanishing. The active trace context rides in the
 * headers.
 */
export class EventPublisher {
  readonly env: string;
  readonly producer: Producer;
  /** The env's stream name, `WARDEN_<ENV>`. */
  readonly stream: string;
  private readonly js: JetStreamClient;
  private readonly timeoutMs: number | undefined;

  constructor(nc: NatsConnection, options: EventPublisherOptions) {
    this.env = options.env;
    this.producer = options.producer;
    this.stream = subjects.streamName(options.env);
    this.timeoutMs = options.timeoutMs;
    this.js = jetstream(nc);
  }

  /** Builds an event of this publisher's env and producer (see `buildEvent`). */
  build<T extends EventType>(
    input: Omit<BuildEventInput<T>, 'producer'> & { producer?: Producer },
  ): Envelope<T> {
    return buildEvent({ env: this.env, ...input, producer: input.producer ?? this.producer });
  }

  /**
   * Validates and publishes one event, and resolves once JetStream stored it (or recognised it
   * as a duplicate).
   *
   * @throws MessagingError `invalid_event` for an event that breaks its contract (not retryable),
   *   `publish_failed` when JetStream did not confirm (retryable).
   */
  async publish(event: Envelope, options: PublishOptions = {}): Promise<PublishResult> {
    const encoded = this.encode(event);
    const ack = await this.send(encoded, options.headers);
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  /**
   * Publishes many events with up to `window` publishes awaiting their ack at once (256 measured
   * best on two cores: a larger window only adds queueing). Every event is validated before the
   * first is sent, so an invalid one fails the call with nothing published. Events are stored in
   * no guaranteed order. A failed publish stops the rest and throws; publishing the same events
   * again is safe (JetStream drops the ones already stored as duplicates).
   */
  async publishMany(
    events: Iterable<Envelope>,
    options: PublishOptions & { window?: number } = {},
  ): Promise<PublishManyResult> {
    const encoded = Array.from(events, (event) => this.encode(event));
    const window = Math.max(1, Math.min(options.window ?? 256, encoded.length));
    let next = 0;
    let stored = 0;
    let duplicates = 0;
    let failure: unknown;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < encoded.length) {
        const message = encoded[next++];
        if (message === undefined) return;
        try {
          const ack = await this.send(message, options.headers);
          if (ack.duplicate) duplicates++;
          else stored++;
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
    if (failure !== undefined)
      throw failure instanceof Error ? failure : new Error(messageOf(failure));
    return { stored, duplicates };
  }

  /**
   * Publishes bytes as they are, unvalidated, to any subject of the stream: for tests and benches
   * that must put malformed messages on the stream. Never use it for events.
   *
   * @param options the `Nats-Msg-Id` to deduplicate on, or options with it and extra headers.
   */
  async publishRaw(
    subject: string,
    data: Uint8Array | string,
    options: string | (PublishOptions & { msgId?: string }) = {},
  ): Promise<PublishResult> {
    const { msgId = '', headers } = typeof options === 'string' ? { msgId: options } : options;
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    const ack = await this.send({ subject, data: bytes, msgId }, headers);
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  private encode(event: Envelope): Encoded {
    let subject: string;
    try {
      subject = subjectOf(event);
    } catch (error) {
      if (error instanceof InvalidSubjectTokenError) {
        throw MessagingError.invalidEvent(event.type, 'invalid_envelope', error.message);
      }
      throw error;
    }
    const data = encoder.encode(JSON.stringify(event));
    // Parse what goes on the wire, not the object: it is what every consumer will see.
    const parsed = parseEvent(data, { env: this.env, subject });
    if (!parsed.ok) throw MessagingError.invalidEvent(event.type, parsed.reason, parsed.detail);
    return { subject, data, msgId: event.event_id };
  }

  private async send(message: Encoded, extra: PublishOptions['headers']): Promise<PubAck> {
    // A fresh header set per message: js.publish writes Nats-Msg-Id into the one it is given.
    const headers: MsgHdrs = natsHeaders();
    if (extra) for (const [key, value] of Object.entries(extra)) headers.set(key, value);
    injectTraceHeaders(headers);
    try {
      return await this.js.publish(message.subject, message.data, {
        headers,
        expect: { streamName: this.stream },
        ...(message.msgId === '' ? {} : { msgID: message.msgId }),
        ...(this.timeoutMs === undefined ? {} : { timeout: this.timeoutMs }),
      });
    } catch (error) {
      const text = messageOf(error);
      const hint = /no responders|503/i.test(text)
        ? `: no stream captures it; provision env ${this.env} first (provisionEnv)`
        : '';
      throw new MessagingError(
        'publish_failed',
        `publishing to ${message.subject} failed (${text})${hint}`,
        { cause: error },
      );
    }
  }
}
