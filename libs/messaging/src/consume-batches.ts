import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';
import { silentLogger, type MessagingLogger } from './logger.js';
import { ensureDurable } from './provision.js';
import { PullLoop } from './pull-loop.js';
import { headersToRecord } from './trace-headers.js';

/** One message as the batch handler sees it: bytes, not yet parsed (the collector parses). */
export interface RawMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Stream sequence: the message's position in the env's log. */
  readonly seq: number;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  /** Delivered before: a previous batch with it failed, or its consumer died before acking. */
  readonly redelivered: boolean;
  /** When the stream stored it (epoch ms). */
  readonly timestampMs: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of {@link consumeBatches}. */
export interface ConsumeBatchesOptions {
  env: string;
  durable: string;
  /** The durable's filter subject (used when `ensureDurable` creates it, checked otherwise). */
  filterSubject: string;
  /** Largest batch handed to `handle`. Default 5,000. */
  maxBatch?: number;
  /** Longest a message waits in the buffer before a partial batch is handled. Default 200 ms. */
  maxWaitMs?: number;
  /**
   * Handles one batch. Resolve only when the batch is durably handled: every message is acked
   * right after. Throw to have the whole batch redelivered (after a delay). At most `concurrency`
   * calls run at once.
   */
  handle(batch: RawMessage[]): Promise<void>;
  /**
   * Batches in `handle` at once. Default 1. 2 lets a handler whose work ends in I/O off the JS
   * thread (the collector's insert) prepare the next batch while the previous one is written;
   * each batch is still acked only after its own `handle` resolved.
   */
  concurrency?: number;
  /** Messages requested per pull. Default min(maxBatch, 2,500) (the fastest drain measured). */
  pullBatch?: number;
  /**
   * Delay after the n-th consecutive failed batch, both before the next `handle` and before the
   * failed messages come back. Default 250 ms × 2^(n-1), at most 10 s.
   */
  retryDelayMs?: (failures: number) => number;
  /**
   * Create or update the durable first (unlimited deliveries, max ack pending (concurrency + 3) × maxBatch).
   * Default false: the caller owns the durable's settings.
   */
  ensureDurable?: boolean;
  /** Ack wait when `ensureDurable` creates the durable. Default 30 s. */
  ackWaitMs?: number;
  logger?: MessagingLogger;
}

/** Counters of a batch consumer. */
export interface BatchConsumerStats {
  batches: number;
  messages: number;
  failedBatches: number;
  /** Messages pulled and waiting for a batch. */
  buffered: number;
  /** Whether any batch is in `handle` now. */
  handling: boolean;
}

/** A running batch consumer. */
export interface BatchConsumer {
  readonly durable: string;
  readonly stats: Readonly<BatchConsumerStats>;
  /**
   * Stops pulling, waits for the batch in `handle`, hands what is still buffered to `handle`
   * (in batches of at most `maxBatch`), acks, and resolves.
   */
  stop(): Promise<void>;
}

/** The default delay after `failures` consecutive failed batches. */
export function defaultRetryDelayMs(failures: number): number {
  return Math.min(10_000, 250 * 2 ** Math.max(0, failures - 1));
}

/**
 * Consumes a durable in batches, for writers that are only efficient in bulk (the trace collector
 * inserting into ClickHouse). Messages accumulate until `maxBatch` of them or `maxWaitMs` after
 * the first, then go to `handle`; only after `handle` resolves is every message of the batch
 * acked (explicit acks, then one flush of the connection so the acks have reached the server).
 * A failing `handle` is logged and its messages naked with a delay, so they come back
 * (`redelivered: true`) after a pause that grows with consecutive failures.
 *
 * Up to `concurrency` batches (default 1) are in `handle` while the next one fills; when that one
 * is full too, pulling pauses. At most (concurrency + 1) × maxBatch + 2 × pullBatch messages are
 * held unacked (the batches in `handle`, the next one, and up to two pulls on their way), so the
 * durable's `max_ack_pending` should be larger, e.g. (concurrency + 3) × maxBatch (a warning is
 * logged otherwise: delivery would stall until a partial batch times out).
 *
 * Returns at once; subscribing happens in the background (failures are logged and retried).
 */
export function consumeBatches(nc: NatsConnection, options: ConsumeBatchesOptions): BatchConsumer {
  const consumer = new BatchLoop(nc, options);
  consumer.start();
  return consumer;
}

class BatchLoop implements BatchConsumer {
  readonly durable: string;
  readonly stats: BatchConsumerStats = {
    batches: 0,
    messages: 0,
    failedBatches: 0,
    buffered: 0,
    handling: false,
  };
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly pullBatch: number;
  private readonly logger: MessagingLogger;
  private readonly retryDelayMs: (failures: number) => number;

  private buffer: JsMsg[] = [];
  private firstBufferedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly concurrency: number;
  /** The batches in `handle`. */
  private readonly inFlight = new Set<Promise<void>>();
  private failures = 0;
  private readonly puller: PullLoop;
  private stopping = false;
  // A method, not the field: TypeScript would narrow the field across awaits that change it.
  private isStopping(): boolean {
    return this.stopping;
  }
  private loop: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: ConsumeBatchesOptions,
  ) {
    this.durable = options.durable;
    this.maxBatch = Math.max(1, options.maxBatch ?? 5_000);
    this.maxWaitMs = Math.max(1, options.maxWaitMs ?? 200);
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.pullBatch = Math.max(1, options.pullBatch ?? Math.min(this.maxBatch, 2_500));
    this.logger = options.logger ?? silentLogger;
    this.retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
    this.puller = new PullLoop(nc, {
      stream: subjects.streamName(options.env),
      durable: options.durable,
      batch: this.pullBatch,
      logger: this.logger,
    });
  }

  start(): void {
    this.loop = this.runUntilStopped();
  }

  stop(): Promise<void> {
    this.stopped ??= this.drain();
    return this.stopped;
  }

  private async drain(): Promise<void> {
    this.stopping = true;
    // Stop pulling; what was already received still comes out of the pull loop, into the buffer.
    this.puller.stop();
    await this.loop;
    this.clearTimer();
    while (this.inFlight.size > 0 || this.buffer.length > 0) {
      if (!this.full() && this.buffer.length > 0) this.startBatch();
      else await Promise.race(this.inFlight);
    }
  }

  private async runUntilStopped(): Promise<void> {
    for (let attempt = 1; !this.isStopping() && !this.nc.isClosed(); attempt++) {
      try {
        const consumer = await this.prepare();
        await this.puller.run(consumer, (message) => this.take(message));
        return;
      } catch (error) {
        const delay = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5));
        this.logger.error(
          { err: error, durable: this.durable, attempt, delay },
          'batch consumer could not start: retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Binds to the durable (creating it when asked) and checks its settings. */
  private async prepare(): Promise<Consumer> {
    const { env, durable, filterSubject } = this.options;
    if (this.options.ensureDurable) {
      await ensureDurable(this.nc, env, {
        durable,
        filterSubject,
        maxDeliver: -1,
        maxAckPending: Math.max(20_000, (this.concurrency + 3) * this.maxBatch),
        ...(this.options.ackWaitMs === undefined ? {} : { ackWaitMs: this.options.ackWaitMs }),
      });
    }
    const consumer = await this.puller.bind();
    const { config } = await consumer.info(true);
    if (config.filter_subject !== filterSubject) {
      this.logger.warn(
        { durable, expected: filterSubject, actual: config.filter_subject },
        'the durable filters another subject than this consumer expects',
      );
    }
    const held = (this.concurrency + 1) * this.maxBatch + 2 * this.pullBatch;
    const maxAckPending = config.max_ack_pending ?? -1;
    if (maxAckPending > 0 && maxAckPending <= held) {
      this.logger.warn(
        { durable, maxAckPending, held },
        'max_ack_pending is below what the batch consumer holds: delivery will stall until batches time out',
      );
    }
    return consumer;
  }

  /** Buffers one message; when the buffer is a full batch and one is in handle, waits. */
  private async take(message: JsMsg): Promise<void> {
    this.buffer.push(message);
    this.stats.buffered = this.buffer.length;
    if (this.buffer.length === 1) {
      this.firstBufferedAt = Date.now();
      this.armTimer(this.maxWaitMs);
    }
    if (this.buffer.length >= this.maxBatch) {
      // The next batch is ready: wait for room in handle (pulling pauses meanwhile).
      while (this.full()) await Promise.race(this.inFlight);
      if (this.buffer.length >= this.maxBatch) this.startBatch();
    }
  }

  private armTimer(ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.full() && this.buffer.length > 0) this.startBatch();
      // Full: afterBatch() sees the buffer has waited long enough and starts it.
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private startBatch(): void {
    const batch = this.buffer.splice(0, this.maxBatch);
    this.stats.buffered = this.buffer.length;
    this.clearTimer();
    if (this.buffer.length > 0) {
      this.firstBufferedAt = Date.now();
      this.armTimer(this.maxWaitMs);
    }
    this.stats.handling = true;
    const handled: Promise<void> = this.handleBatch(batch).finally(() => {
      this.inFlight.delete(handled);
      this.stats.handling = this.inFlight.size > 0;
      this.afterBatch();
    });
    this.inFlight.add(handled);
  }

  private full(): boolean {
    return this.inFlight.size >= this.concurrency;
  }

  private afterBatch(): void {
    if (this.buffer.length === 0 || this.isStopping() || this.full()) return;
    const waited = Date.now() - this.firstBufferedAt;
    if (this.buffer.length >= this.maxBatch || waited >= this.maxWaitMs) this.startBatch();
    else this.armTimer(this.maxWaitMs - waited);
  }

  private async handleBatch(batch: JsMsg[]): Promise<void> {
    if (this.failures > 0 && !this.isStopping()) {
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs(this.failures)));
    }
    const raw = batch.map(toRawMessage);
    try {
      await this.options.handle(raw);
    } catch (error) {
      this.failures++;
      this.stats.failedBatches++;
      const delay = this.retryDelayMs(this.failures);
      this.logger.error(
        { err: error, durable: this.durable, size: batch.length, failures: this.failures, delay },
        'batch handler failed: the batch will be redelivered',
      );
      for (const message of batch) message.nak(delay);
      return;
    }
    this.failures = 0;
    this.stats.batches++;
    this.stats.messages += batch.length;
    // Acks are fire-and-forget publishes (~1 µs each); one flush (PING/PONG) per batch makes sure
    // the server has them before the next batch, instead of one ack round trip per message.
    try {
      for (const message of batch) message.ack();
      await this.nc.flush();
    } catch (error) {
      this.logger.warn(
        { err: error, durable: this.durable, size: batch.length },
        'could not ack the batch: it will be redelivered after AckWait',
      );
    }
  }
}

function toRawMessage(message: JsMsg): RawMessage {
  const info = message.info;
  return {
    subject: message.subject,
    data: message.data,
    seq: info.streamSequence,
    deliveryCount: info.deliveryCount,
    redelivered: info.redelivered,
    timestampMs: Math.floor(info.timestampNanos / 1e6),
    // Decoding headers costs as much as the rest of the message put together, and the collector
    // never reads them: decode on first access only.
    get headers() {
      return headersToRecord(message.headers);
    },
  };
}
