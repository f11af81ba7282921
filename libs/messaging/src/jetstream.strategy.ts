import { hostname } from 'node:os';
import type { NatsConnection, Status } from '@nats-io/transport-node';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { isEventType, type Envelope, type EventType } from '@warden/contracts';
import { isObservable, lastValueFrom } from 'rxjs';
import { connectNats } from './connect.js';
import {
  consumeEvents,
  describe,
  isOutcome,
  type EventConsumer,
  type EventConsumerSettings,
  type EventContext,
  type Outcome,
} from './consume-events.js';
import { EventPublisher } from './event-publisher.js';
import { silentLogger, type MessagingLogger } from './logger.js';
import { MessagingError, messageOf } from './messaging.errors.js';
import { JETSTREAM_TRANSPORT, ON_EVENT_SETTINGS, takeHandlerError } from './on-event.decorator.js';
import { provisionEnv, type ProvisionOptions } from './provision.js';

/** Options of {@link JetStreamTransport}. */
export interface JetStreamTransportOptions {
  env: string;
  /** The service name: producer of its outputs and prefix of its durables. */
  service: string;
  /** NATS URL(s) to connect to; ignored when `connection` is given. */
  servers?: string | string[];
  /**
   * A connection to use instead of opening one (e.g. shared with other parts of the process).
   * The transport does not close a connection it did not open.
   */
  connection?: NatsConnection;
  /** `instance` (default `<host>-<pid>`) and `version` (default `0.0.0`) of the producer. */
  producer?: { instance?: string; version?: string };
  /** Provision the env's stream on listen (default `{}`), or `false` to leave it to others. */
  provision?: ProvisionOptions | false;
  /** Defaults for every handler's consumer; `@OnEvent(type, settings)` overrides per handler. */
  consumer?: EventConsumerSettings;
  logger?: MessagingLogger;
}

/** Nest's view of the transport's state (`app.status`). */
export type JetStreamTransportStatus = 'connected' | 'disconnected' | 'reconnecting' | 'closed';

/** Events `app.on(...)` can listen to: every NATS connection status change. */
export type JetStreamTransportEvents = {
  status: (status: Status) => void;
};

/**
 * A NestJS custom transport over JetStream: `NestFactory.createMicroservice(Module, { strategy:
 * new JetStreamTransport({ servers, env, service }) })`. Each controller method decorated with
 * `@OnEvent(type)` gets its own durable `<service>__<type>` filtered to that type (one filter per
 * consumer: nats-server 2.9), consumed with {@link consumeEvents}: the method receives
 * `(event, ctx)`, its `Outcome` becomes ack / nak, a throw becomes nak with backoff and, on the
 * last attempt, a dead letter.
 *
 * Replicas of a service (same `service`, other processes) bind to the same durables and split the
 * load. `close()` (Nest calls it on `app.close()` and on shutdown signals with
 * `enableShutdownHooks`) drains: it stops pulling, waits for running handlers to publish and ack,
 * then drains the connection.
 *
 * One handler per event type per service: a durable has one outcome per message.
 */
export class JetStreamTransport
  extends Server<JetStreamTransportEvents, JetStreamTransportStatus>
  implements CustomTransportStrategy
{
  override readonly transportId = JETSTREAM_TRANSPORT;
  // Failures are awaited here and become naks; Nest need not report them as unhandled.
  override readonly propagatesEventHandlerErrors = true;

  private nc: NatsConnection | undefined;
  private ownsConnection = false;
  private closed = false;
  private consumers: EventConsumer[] = [];
  private readonly listeners: ((status: Status) => void)[] = [];
  private readonly log: MessagingLogger;

  constructor(private readonly options: JetStreamTransportOptions) {
    super();
    this.log = options.logger ?? silentLogger;
  }

  /** Connects, provisions the env, creates the durables and starts consuming. */
  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => {
        callback();
      },
      (error: unknown) => {
        callback(error);
      },
    );
  }

  /** Drains the consumers (running handlers finish and ack), then the connection it opened. */
  async close(): Promise<void> {
    const consumers = this.consumers;
    this.consumers = [];
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    const nc = this.nc;
    this.nc = undefined;
    if (nc && this.ownsConnection && !nc.isClosed()) await nc.drain();
    this.closed = true;
    this._status$.next('closed');
  }

  /** Listens to NATS connection status changes (disconnect, reconnect, error, …). */
  on<K extends keyof JetStreamTransportEvents>(
    event: K,
    callback: JetStreamTransportEvents[K],
  ): void {
    this.listeners.push(callback);
  }

  /** The NATS connection (once listening). */
  // The signature is Nest's (`Server.unwrap<T>()`): the caller names the type it expects.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  unwrap<T>(): T {
    if (this.nc === undefined) {
      throw new Error('JetStreamTransport is not listening: call app.listen() first');
    }
    return this.nc as T;
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private async start(): Promise<void> {
    this.closed = false;
    const { env, service } = this.options;
    const handlers = [...this.getHandlers()];
    for (const [pattern, handler] of handlers) {
      if (handler.isEventHandler !== true) {
        throw new MessagingError(
          'invalid_config',
          `${service}: @MessagePattern(${JSON.stringify(pattern)}) is request/reply, which JetStreamTransport does not serve (APIs are core NATS request/reply under warden.<env>.api.>); use @OnEvent(type) for events`,
        );
      }
      if (!isEventType(pattern)) {
        throw new MessagingError(
          'invalid_config',
          `${service}: handler pattern ${JSON.stringify(pattern)} is not an event type; use @OnEvent(type)`,
        );
      }
      if (handler.next) {
        throw new MessagingError(
          'invalid_config',
          `${service}: two handlers for ${pattern}; a service consumes each event type once (one durable, one outcome)`,
        );
      }
    }

    const nc = this.options.connection ?? (await this.connect());
    this.nc = nc;
    this.watchConnection(nc);
    try {
      if (this.options.provision !== false) await provisionEnv(nc, env, this.options.provision);
      const publisher = new EventPublisher(nc, {
        env,
        producer: {
          service,
          instance: this.options.producer?.instance ?? `${hostname()}-${process.pid}`,
          version: this.options.producer?.version ?? '0.0.0',
        },
      });
      for (const [pattern, handler] of handlers) {
        const eventType = pattern as EventType;
        const settings = handler.extras?.[ON_EVENT_SETTINGS] as EventConsumerSettings | undefined;
        const consumer = await consumeEvents(nc, {
          ...this.options.consumer,
          ...settings,
          env,
          service,
          eventType,
          publisher,
          logger: this.log,
          handle: (event, ctx) => this.invoke(handler, event, ctx),
        });
        this.consumers.push(consumer);
        this.log.info({ service, durable: consumer.durable, eventType }, 'consuming');
      }
      this._status$.next('connected');
    } catch (error) {
      await this.close().catch(() => undefined);
      throw error;
    }
  }

  private async connect(): Promise<NatsConnection> {
    const { servers, service } = this.options;
    if (servers === undefined) {
      throw new MessagingError(
        'invalid_config',
        `${service}: JetStreamTransport needs servers or a connection`,
      );
    }
    const nc = await connectNats({ servers, name: service });
    this.ownsConnection = true;
    return nc;
  }

  /** Calls Nest's handler chain and turns what comes back into an outcome. */
  private async invoke(
    handler: MessageHandler,
    event: Envelope,
    ctx: EventContext,
  ): Promise<Outcome> {
    let value: unknown;
    try {
      const result: unknown = await handler(event, ctx);
      value = isObservable(result)
        ? await lastValueFrom(result, { defaultValue: undefined })
        : result;
    } catch (error) {
      // Nest replaced the handler's exception with `{ status: 'error', message }`.
      const original = takeHandlerError(ctx);
      if (original) throw original.error;
      throw error instanceof Error ? error : new Error(`handler failed: ${describe(error)}`);
    }
    if (!isOutcome(value)) {
      throw new TypeError(
        `the ${event.type} handler returned ${describe(value)}; return Outcome.processed, Outcome.skipped or Outcome.retry(ms)`,
      );
    }
    return value;
  }

  private watchConnection(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        // A connection the transport does not own outlives it: stop listening once closed.
        if (this.isClosed()) break;
        if (status.type === 'disconnect') {
          this._status$.next('disconnected');
          this.log.warn({ status }, 'NATS disconnected');
        } else if (status.type === 'reconnecting') {
          this._status$.next('reconnecting');
        } else if (status.type === 'reconnect') {
          this._status$.next('connected');
          this.log.info({ status }, 'NATS reconnected');
        } else if (status.type === 'error') {
          this.log.error({ status }, 'NATS connection error');
        }
        for (const listener of this.listeners) listener(status);
      }
    })().catch((error: unknown) => {
      this.log.warn({ err: messageOf(error) }, 'NATS status watch ended');
    });
  }
}
