import { hostname } from 'node:os';
import type { JsMsg } from '@nats-io/jetstream';
import { Match, type NatsConnection } from '@nats-io/transport-node';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  buildEvent,
  parseEvent,
  subjects,
  type Envelope,
  type EventType,
  type Producer,
} from '@warden/contracts';
import { EventPublisher, type PublishOptions, type PublishResult } from './event-publisher.js';
import { silentLogger, type MessagingLogger } from './logger.js';
import { MessagingError, messageOf } from './messaging.errors.js';
import { durableName, ensureDurable } from './provision.js';
import { PullLoop } from './pull-loop.js';
import { extractTraceContext, headersToRecord, TRACEPARENT } from './trace-headers.js';

/** What a handler may return. */
export interface RetryOutcome {
  /** Redeliver the event after this many milliseconds (a dependency is not ready yet). */
  readonly retry: number;
}

/**
 * The outcomes of a handler, mapped onto JetStream: `processed` and `skipped` ack the message,
 * `retry(ms)` naks it with that delay. A handler that throws is naked with backoff. Expected cases
 * (a duplicate, a paused run) are outcomes, not exceptions.
 */
export const Outcome = {
  /** The event was handled; its outputs are published. Ack. */
  processed: 'processed',
  /** Nothing to do for this event (already handled, not this service's business). Ack. */
  skipped: 'skipped',
  /** Try again after `delayMs`. Counts as a delivery: at `maxDeliver` it is dead-lettered. */
  retry: (delayMs: number): RetryOutcome => ({ retry: Math.max(0, Math.round(delayMs)) }),
} as const;
/** What a handler returns: `'processed'`, `'skipped'` or `{ retry: delayMs }`. */
export type Outcome = 'processed' | 'skipped' | RetryOutcome;

/** Whether `value` is an {@link Outcome}. */
export function isOutcome(value: unknown): value is Outcome {
  if (value === Outcome.processed || value === Outcome.skipped) return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<RetryOutcome>).retry === 'number' &&
    Number.isFinite((value as RetryOutcome).retry)
  );
}

/** What a handler knows about the message it handles, and how it publishes its outputs. */
export interface EventContext {
  readonly subject: string;
  /** Stream sequence of the message. */
  readonly seq: number;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The `traceparent` the message arrived with, if any. */
  readonly traceparent: string | undefined;
  /** The durable this message came through. */
  readonly durable: string;
  /** The producer to stamp on events built in the handler. */
  readonly producer: Producer;
  /**
   * Publishes an output of this handler. Await it before returning: the message is acked after
   * the handler returns, so an output is always stored before its cause is acked, and a crash in
   * between only causes a redelivery whose output (same derived id) JetStream drops.
   */
  publish(event: Envelope, options?: PublishOptions): Promise<PublishResult>;
}

/** A handler of events of type `T`. */
export type EventHandler<T extends EventType = EventType> = (
  event: Envelope<T>,
  ctx: EventContext,
) => Outcome | Promise<Outcome>;

/** Settings of a per-message consumer that have defaults (shared with the Nest transport). */
export interface EventConsumerSettings {
  /**
   * Attempts the handler gets per event (deliveries that threw or asked to retry). The durable is
   * configured with one delivery more, reserved for dead-lettering: an event whose handler crashed
   * the process on every delivery, or whose dead letter could not be published, is then
   * dead-lettered without calling the handler again. Default 5.
   */
  maxDeliver?: number;
  /** Ack wait of the durable. Long handlers are kept alive with `working()`. Default 30 s. */
  ackWaitMs?: number;
  /** Max ack pending of the durable. Default 20,000. */
  maxAckPending?: number;
  /**
   * Handlers running at once in this process. Default 64. Events of one type from different
   * runs are independent; set 1 where order matters more than throughput.
   */
  concurrency?: number;
  /** Messages requested per pull. Default 256. */
  pullBatch?: number;
  /** Nak delay after a throw on delivery n. Default 1 s × 2^(n-1), at most 30 s, ±20 % jitter. */
  backoffMs?: (deliveryCount: number) => number;
}

/** Options of {@link consumeEvents}. */
export interface ConsumeEventsOptions<
  T extends EventType = EventType,
> extends EventConsumerSettings {
  env: string;
  /** The consuming service: the producer of its outputs and the prefix of its durable names. */
  service: string;
  /**
   * The one event type consumed. Sets `filterSubject` (`warden.<env>.evt.<type>.*`) and `durable`
   * (`<service>__<type>`) unless given, and types the handler.
   */
  eventType?: T;
  /** The durable's name; required without `eventType`. */
  durable?: string;
  /** The durable's one filter subject; required without `eventType`. */
  filterSubject?: string;
  handle: EventHandler<T>;
  /** Publisher for outputs and dead letters. Default: one on `nc` with this service's producer. */
  publisher?: EventPublisher;
  /** `instance` and `version` of the default producer. Default: `<host>-<pid>`, `0.0.0`. */
  producer?: Partial<Omit<Producer, 'service'>>;
  /** Create or update the durable first. Default true. */
  ensureDurable?: boolean;
  logger?: MessagingLogger;
}

/** Counters of a running consumer (for logs, metrics and tests). */
export interface EventConsumerStats {
  processed: number;
  skipped: number;
  retried: number;
  failed: number;
  /** Messages that were not valid events, termed. */
  rejected: number;
  deadLettered: number;
  inFlight: number;
}

/** A running per-message consumer. */
export interface EventConsumer {
  readonly durable: string;
  readonly stats: Readonly<EventConsumerStats>;
  /**
   * Drains: stops pulling, handles what was already pulled (at most `pullBatch` messages), waits
   * for running handlers to finish and ack, then resolves.
   */
  stop(): Promise<void>;
}

const tracer = trace.getTracer('warden-messaging');

/** The default nak delay after a handler threw: exponential from 1 s, capped at 30 s, ±20 %. */
export function defaultBackoffMs(deliveryCount: number): number {
  const base = Math.min(30_000, 1_000 * 2 ** Math.max(0, deliveryCount - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Consumes one durable message by message: each message is parsed against the contracts, handed
 * to `handle`, and acked, naked or dead-lettered by the outcome.
 *
 * - A message that is not a valid event (bad JSON, unknown type, failed schema, wrong env or
 *   subject) is logged with its reason and `term()`ed: retrying cannot fix it. The service does
 *   not publish `event.rejected` itself: the trace collector sees every message of the stream and
 *   records the rejection, so one bad message gives one `event.rejected` row, not one per
 *   consuming service.
 * - `processed` / `skipped` → ack; `{ retry: ms }` → nak(ms); a throw → nak(backoff).
 * - On the last attempt (`deliveryCount >= maxDeliver`) a failure publishes `event.dead_lettered`
 *   (id derived from the event id and the durable, so a repeat is dropped as a duplicate), then
 *   `term()`s the message.
 * - Each handler runs in an OpenTelemetry CONSUMER span whose parent is the message's
 *   `traceparent`, so outputs published through `ctx.publish` continue the same trace.
 *
 * Resolves once the durable exists and pulling started.
 */
export async function consumeEvents<T extends EventType = EventType>(
  nc: NatsConnection,
  options: ConsumeEventsOptions<T>,
): Promise<EventConsumer> {
  const { env, service, eventType } = options;
  const durable =
    options.durable ?? (eventType === undefined ? undefined : durableName(service, eventType));
  const filterSubject =
    options.filterSubject ??
    (eventType === undefined ? undefined : subjects.eventType(env, eventType));
  if (durable === undefined || filterSubject === undefined) {
    throw new TypeError('consumeEvents needs eventType, or both durable and filterSubject');
  }
  const maxDeliver = options.maxDeliver ?? 5;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) {
    throw new MessagingError(
      'invalid_config',
      `${durable}: maxDeliver must be a whole number of attempts, at least 1 (got ${maxDeliver}); an event consumer always ends in an outcome or a dead letter`,
    );
  }
  if (options.ensureDurable ?? true) {
    await ensureDurable(nc, env, {
      durable,
      filterSubject,
      ackWaitMs,
      maxDeliver: maxDeliver + 1,
      maxAckPending: options.maxAckPending ?? 20_000,
    });
  }
  const publisher =
    options.publisher ??
    new EventPublisher(nc, {
      env,
      producer: {
        service,
        instance: options.producer?.instance ?? `${hostname()}-${process.pid}`,
        version: options.producer?.version ?? '0.0.0',
      },
    });
  const consumer = new EventConsumerLoop(nc, {
    env,
    durable,
    eventType,
    maxDeliver,
    ackWaitMs,
    concurrency: Math.max(1, options.concurrency ?? 64),
    pullBatch: Math.max(1, options.pullBatch ?? 256),
    backoffMs: options.backoffMs ?? defaultBackoffMs,
    handle: options.handle as EventHandler,
    publisher,
    logger: options.logger ?? silentLogger,
  });
  await consumer.start();
  return consumer;
}

interface LoopOptions {
  env: string;
  durable: string;
  eventType: EventType | undefined;
  maxDeliver: number;
  ackWaitMs: number;
  concurrency: number;
  pullBatch: number;
  backoffMs: (deliveryCount: number) => number;
  handle: EventHandler;
  publisher: EventPublisher;
  logger: MessagingLogger;
}

class EventConsumerLoop implements EventConsumer {
  readonly durable: string;
  readonly stats: EventConsumerStats = {
    processed: 0,
    skipped: 0,
    retried: 0,
    failed: 0,
    rejected: 0,
    deadLettered: 0,
    inFlight: 0,
  };
  private readonly puller: PullLoop;
  private loop: Promise<void> = Promise.resolve();
  /** Messages whose handler is running, with when it started (to keep them alive). */
  private readonly running = new Map<JsMsg, number>();
  private slotFreed: (() => void) | undefined;
  private idle: (() => void) | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    nc: NatsConnection,
    private readonly options: LoopOptions,
  ) {
    this.durable = options.durable;
    this.puller = new PullLoop(nc, {
      stream: subjects.streamName(options.env),
      durable: options.durable,
      batch: options.pullBatch,
      logger: options.logger,
    });
  }

  async start(): Promise<void> {
    const consumer = await this.puller.bind();
    this.loop = this.puller.run(consumer, (message) => this.dispatch(message));
    // A handler still running halfway through AckWait tells the server it is working, so the
    // message is not redelivered to another replica while it is being handled.
    const period = Math.max(500, Math.floor(this.options.ackWaitMs / 2));
    this.keepAlive = setInterval(() => {
      const threshold = Date.now() - period;
      for (const [message, started] of this.running) if (started <= threshold) message.working();
    }, period);
    this.keepAlive.unref();
  }

  stop(): Promise<void> {
    this.stopped ??= this.drain();
    return this.stopped;
  }

  private async drain(): Promise<void> {
    // Messages already received are still handled (see PullLoop): handing them back with nak()
    // right after unsubscribing races the server, which may redeliver into the closed request.
    this.puller.stop();
    await this.loop;
    if (this.running.size > 0) {
      await new Promise<void>((resolve) => {
        this.idle = resolve;
      });
    }
    clearInterval(this.keepAlive);
  }

  /** Starts a handler for `message` once a slot is free; resolves when it started. */
  private async dispatch(message: JsMsg): Promise<void> {
    while (this.running.size >= this.options.concurrency) {
      await new Promise<void>((resolve) => {
        this.slotFreed = resolve;
      });
    }
    this.running.set(message, Date.now());
    this.stats.inFlight = this.running.size;
    void this.process(message)
      .catch((error: unknown) => {
        // Only the transport itself gets here (an ack on a closed connection): the message is
        // redelivered after AckWait.
        this.options.logger.error(
          { err: error, durable: this.durable, seq: message.seq },
          'could not settle a message',
        );
      })
      .finally(() => {
        this.running.delete(message);
        this.stats.inFlight = this.running.size;
        this.slotFreed?.();
        this.slotFreed = undefined;
        if (this.running.size === 0) this.idle?.();
      });
  }

  private async process(message: JsMsg): Promise<void> {
    const { logger, maxDeliver } = this.options;
    const deliveryCount = message.info.deliveryCount;
    const parsed = parseEvent(message.data, { env: this.options.env, subject: message.subject });
    if (!parsed.ok || (this.options.eventType && parsed.event.type !== this.options.eventType)) {
      const reason = parsed.ok ? 'subject_mismatch' : parsed.reason;
      const detail = parsed.ok ? `expected ${String(this.options.eventType)}` : parsed.detail;
      logger.warn(
        { durable: this.durable, subject: message.subject, seq: message.seq, reason, detail },
        'not a valid event: terminated (the trace collector records it as event.rejected)',
      );
      this.stats.rejected++;
      message.term();
      return;
    }
    const event = parsed.event;
    // Past the handler's attempts: it crashed the process each time, or the dead letter failed.
    if (deliveryCount > maxDeliver) {
      await this.deadLetter(
        message,
        event,
        'deliveries_exhausted',
        `delivered ${deliveryCount} times without an outcome`,
      );
      return;
    }
    const parent = extractTraceContext(message.headers);
    await tracer.startActiveSpan(
      `${event.type} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'process',
          'messaging.destination.name': message.subject,
          'messaging.consumer.group.name': this.durable,
          'messaging.message.id': event.event_id,
          'warden.event.type': event.type,
          'warden.delivery_count': deliveryCount,
          ...(event.run_id === undefined ? {} : { 'warden.run_id': event.run_id }),
          ...(event.intent_id === undefined ? {} : { 'warden.intent_id': event.intent_id }),
        },
      },
      parent,
      async (span) => {
        try {
          await this.handle(message, event, deliveryCount, span);
        } finally {
          span.end();
        }
      },
    );
  }

  private async handle(
    message: JsMsg,
    event: Envelope,
    deliveryCount: number,
    span: Span,
  ): Promise<void> {
    const { logger, maxDeliver, publisher } = this.options;
    const headers = headersToRecord(message.headers) ?? {};
    const ctx: EventContext = {
      subject: message.subject,
      seq: message.seq,
      deliveryCount,
      headers,
      traceparent: message.headers?.get(TRACEPARENT, Match.IgnoreCase) || undefined,
      durable: this.durable,
      producer: publisher.producer,
      publish: (output, publishOptions) => publisher.publish(output, publishOptions),
    };
    let outcome: Outcome;
    try {
      const returned: unknown = await this.options.handle(event, ctx);
      if (!isOutcome(returned)) {
        throw new TypeError(
          `the handler returned ${describe(returned)}; expected 'processed', 'skipped' or { retry: ms }`,
        );
      }
      outcome = returned;
    } catch (error) {
      span.recordException(error instanceof Error ? error : new Error(String(error)));
      span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
      this.stats.failed++;
      const log = {
        err: error,
        durable: this.durable,
        event_id: event.event_id,
        type: event.type,
        seq: message.seq,
        deliveryCount,
      };
      if (deliveryCount >= maxDeliver) {
        logger.error(log, 'handler failed on its last attempt: dead-lettering');
        await this.deadLetter(message, event, 'handler_failed', messageOf(error));
      } else {
        logger.warn(log, 'handler failed: redelivering after backoff');
        message.nak(this.options.backoffMs(deliveryCount));
      }
      return;
    }
    if (outcome === 'processed' || outcome === 'skipped') {
      this.stats[outcome]++;
      message.ack();
      return;
    }
    this.stats.retried++;
    span.setAttribute('warden.retry_ms', outcome.retry);
    if (deliveryCount >= maxDeliver) {
      await this.deadLetter(
        message,
        event,
        'retries_exhausted',
        `still asked to retry after ${deliveryCount} deliveries`,
      );
    } else {
      message.nak(outcome.retry);
    }
  }

  /**
   * Records that an event will not be handled, then terms it. The dead letter's id is derived
   * from the event id and the durable: two replicas (or a redelivery) dead-lettering the same
   * event publish one record.
   */
  private async deadLetter(
    message: JsMsg,
    event: Envelope,
    reason: 'handler_failed' | 'retries_exhausted' | 'deliveries_exhausted',
    detail: string,
  ): Promise<void> {
    const { publisher, logger } = this.options;
    const deadLetter = buildEvent({
      type: 'event.dead_lettered',
      cause: event,
      producer: publisher.producer,
      discriminator: this.durable,
      data: {
        reason,
        detail: detail.slice(0, 4096),
        subject: message.subject,
        stream_seq: message.seq,
        deliveries: message.info.deliveryCount,
        consumer: this.durable,
        original_event_id: event.event_id,
        original_type: event.type,
      },
    });
    try {
      await publisher.publish(deadLetter);
    } catch (error) {
      // Leave the message to its reserved last delivery (maxDeliver + 1), which retries this.
      logger.error(
        { err: error, durable: this.durable, event_id: event.event_id, seq: message.seq },
        'could not publish the dead letter: the event stays unacked',
      );
      message.nak(this.options.backoffMs(message.info.deliveryCount));
      return;
    }
    this.stats.deadLettered++;
    logger.warn(
      { durable: this.durable, event_id: event.event_id, type: event.type, reason, detail },
      'event dead-lettered',
    );
    message.term();
  }
}

/** A value as JSON for a message, whatever it is. */
export function describe(value: unknown): string {
  try {
    // JSON.stringify returns undefined (despite its type) for undefined and functions.
    const text = JSON.stringify(value) as unknown;
    return typeof text === 'string' ? text : String(value);
  } catch {
    return String(value);
  }
}
