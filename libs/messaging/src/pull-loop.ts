import { jetstream, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { MessagingLogger } from './logger.js';

/** Options of {@link PullLoop}. */
export interface PullLoopOptions {
  stream: string;
  durable: string;
  /** Messages requested per pull; at most about twice this many are held unhandled. */
  batch: number;
  /** How long one pull request waits for messages on an idle stream. Default 5 s. */
  expiresMs?: number;
  logger: MessagingLogger;
}

/**
 * Pulls a durable and hands each message, in order, to a callback whose promise is awaited (the
 * back-pressure). A pump issues one `fetch` at a time into a local queue, and asks for the next
 * batch as soon as fewer than `batch` messages wait, so the next batch is on its way while this
 * one is handled.
 *
 * Why not `consumer.consume()`: its iterator queues the follow-up pull requests between messages
 * and still sends them after `close()` unsubscribed. nats-server 2.9 then delivers messages to
 * that dead inbox, where they sit unacked until AckWait (30 s) before anyone else gets them — on
 * every shutdown of a busy replica (the drain test reproduced it). A `fetch` sends its one pull
 * request when it starts and never re-pulls, so closing it mid-way only drops a request the
 * server knew about before the unsubscribe, which it then stops serving.
 */
export class PullLoop {
  private current: ConsumerMessages | undefined;
  private stopping = false;
  private readonly queue: JsMsg[] = [];
  private head = 0;
  private pumping = true;
  private wakeConsumer: (() => void) | undefined;
  private wakePump: (() => void) | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: PullLoopOptions,
  ) {}

  /** Binds to the durable; fails when the stream or the durable does not exist. */
  async bind(): Promise<Consumer> {
    return jetstream(this.nc).consumers.get(this.options.stream, this.options.durable);
  }

  /**
   * Pulls until {@link stop}, calling `onMessage` for every message in order, and resolves once
   * every message received has been handed over. Pull errors (a missing durable, missed
   * heartbeats, a reconnect) are logged and retried with backoff.
   */
  async run(consumer: Consumer, onMessage: (message: JsMsg) => unknown): Promise<void> {
    this.pumping = true;
    const pump = this.pump(consumer);
    for (;;) {
      const message = this.next();
      if (message !== undefined) {
        await onMessage(message);
        continue;
      }
      if (!this.isPumping()) break;
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
    }
    await pump;
  }

  /** Stops pulling: the open pull request is closed; messages already received still arrive. */
  stop(): void {
    this.stopping = true;
    void this.current?.close();
    this.wake('pump');
  }

  private async pump(consumer: Consumer): Promise<void> {
    const { batch, expiresMs = 5_000, logger, durable } = this.options;
    let failures = 0;
    try {
      while (this.isRunning()) {
        if (this.queue.length - this.head >= batch) {
          await new Promise<void>((resolve) => {
            this.wakePump = resolve;
          });
          continue;
        }
        try {
          const messages = await consumer.fetch({ max_messages: batch, expires: expiresMs });
          this.current = messages;
          if (!this.isRunning()) void messages.close();
          for await (const message of messages) {
            this.queue.push(message);
            this.wake('consumer');
          }
          failures = 0;
        } catch (error) {
          if (!this.isRunning()) break;
          failures++;
          const delay = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
          logger.warn({ err: error, durable, failures, delay }, 'pull failed: retrying');
          await new Promise((resolve) => setTimeout(resolve, delay));
        } finally {
          this.current = undefined;
        }
      }
    } finally {
      this.pumping = false;
      this.wake('consumer');
    }
  }

  private next(): JsMsg | undefined {
    if (this.head >= this.queue.length) return undefined;
    const message = this.queue[this.head++];
    // Compact now and then instead of shift()ing (O(n) per message on a long queue).
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.queue.length - this.head < this.options.batch) this.wake('pump');
    return message;
  }

  private wake(who: 'consumer' | 'pump'): void {
    const wake = who === 'consumer' ? this.wakeConsumer : this.wakePump;
    if (who === 'consumer') this.wakeConsumer = undefined;
    else this.wakePump = undefined;
    wake?.();
  }

  // Methods, not fields: TypeScript would narrow a field across the awaits that change it.
  private isPumping(): boolean {
    return this.pumping;
  }

  private isRunning(): boolean {
    return !this.stopping && !this.nc.isClosed();
  }
}
