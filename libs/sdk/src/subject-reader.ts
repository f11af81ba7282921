import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';

/** Where a {@link SubjectReader} starts: after the stream's last message, or at a time. */
export type ReadFrom = { readonly kind: 'new' } | { readonly kind: 'time'; readonly at: Date };

/** Options of a {@link SubjectReader}. */
export interface SubjectReaderOptions {
  readonly stream: string;
  /** The one subject read (nats-server 2.9 takes one filter per consumer). */
  readonly subject: string;
  readonly from: ReadFrom;
  /** Called for every message, in stream order, at most once per stream sequence. */
  readonly onMessage: (data: Uint8Array, subject: string) => void;
}

/** Messages asked for per pull request. */
const FETCH_BATCH = 256;
/** How long one pull request waits on an idle subject (heartbeats every half of it). */
const FETCH_EXPIRES_MS = 10_000;
/** The server removes a consumer nobody pulled from for this long (a client that vanished). */
const INACTIVE_THRESHOLD_MS = 60_000;
/** Longest pause between attempts to recreate a lost consumer. */
const MAX_RETRY_DELAY_MS = 2_000;
/** How long `stop()` waits for the server to delete the consumer before giving up on it. */
const DELETE_WAIT_MS = 250;

/**
 * Reads one subject of a stream from a starting point, in order, through its own ephemeral pull
 * consumer (no acks) and a fetch loop, and keeps reading across disconnects and server restarts.
 *
 * Why not nats.js's ordered consumer: on nats-server 2.9 it recreates itself after a restart
 * from "the last sequence seen", which is 0 when nothing was seen yet: a `New` consumer then
 * replays the subject from sequence 1 and stalls after one message, and a `StartTime` one sends a
 * config the server refuses until it gives up (both reproduced). Here the position is taken from
 * the server: a new consumer reports the sequence before the first it will deliver
 * (`delivered.stream_seq`), so a replacement always starts right after the last message this
 * reader saw or skipped.
 *
 * Why a fetch loop and not `consume()`: `consume()` keeps re-pulling between messages and, once
 * stopped, leaves pull requests the server answers into a dead inbox (the pitfall `PullLoop` in
 * `@warden/messaging` documents). A fetch sends one request and stops. With no acks, a message
 * delivered to a request nobody listens to any more is lost for this consumer, so a gap in the
 * delivery sequence makes the reader start a new consumer after the last message it handled.
 */
export class SubjectReader {
  private readonly js;
  private jsm: JetStreamManager | undefined;
  /** The stream sequence of the last message handled, or before the first one to read. */
  private lastSeq: number | undefined;
  private expectedDelivery = 1;
  private consumer: Consumer | undefined;
  private consumerName: string | undefined;
  private current: ConsumerMessages | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: SubjectReaderOptions,
  ) {
    this.js = jetstream(nc);
  }

  /** Creates the consumer, then reads in the background. Rejects when the consumer cannot be made. */
  async open(): Promise<void> {
    await this.create();
    void this.run();
  }

  /** Reads in the background, creating the consumer first and retrying until it exists. */
  start(): void {
    void this.run();
  }

  /**
   * Stops reading at once, then, with `deleteConsumer`, asks the server to delete the consumer
   * (waiting at most a moment). A consumer left behind is dropped by the server after its
   * inactivity threshold.
   */
  async stop(options: { deleteConsumer: boolean }): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.current?.stop();
    this.wake?.();
    const name = this.consumerName;
    this.consumer = undefined;
    this.consumerName = undefined;
    if (name !== undefined && options.deleteConsumer)
      await this.deleteConsumer(name, DELETE_WAIT_MS);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.isRunning()) {
      try {
        const consumer = this.consumer ?? (await this.create());
        if (!this.isRunning()) break;
        const messages = await consumer.fetch({
          max_messages: FETCH_BATCH,
          expires: FETCH_EXPIRES_MS,
        });
        this.current = messages;
        if (!this.isRunning()) messages.stop();
        for await (const message of messages) {
          if (message.info.deliverySequence !== this.expectedDelivery) {
            // A message went to a pull request nobody listened to any more (a reconnect in
            // between): without acks it is never redelivered, so start again after the last one.
            this.consumer = undefined;
            break;
          }
          this.expectedDelivery++;
          if (this.lastSeq !== undefined && message.seq <= this.lastSeq) continue;
          this.lastSeq = message.seq;
          this.options.onMessage(message.data, message.subject);
        }
        failures = 0;
      } catch {
        // The consumer is gone (a server restart, the inactivity threshold after a long
        // disconnect), or the server is not back yet: start a new one after the last message.
        if (!this.isRunning()) break;
        this.consumer = undefined;
        failures++;
        await this.pause(Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** failures));
      } finally {
        this.current = undefined;
      }
    }
  }

  private async create(): Promise<Consumer> {
    this.jsm ??= await jetstreamManager(this.nc, { checkAPI: false });
    const previous = this.consumerName;
    if (previous !== undefined) void this.deleteConsumer(previous, 0);
    const info = await this.jsm.consumers.add(this.options.stream, {
      filter_subject: this.options.subject,
      ack_policy: AckPolicy.None,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(INACTIVE_THRESHOLD_MS),
      ...this.startConfig(),
    });
    if (this.stopping) {
      void this.deleteConsumer(info.name, 0);
      throw new Error('stopped');
    }
    // The sequence before the first message this consumer delivers: exact for `New`, a lower
    // bound for a start time, and never past the stream's last message.
    this.lastSeq = info.delivered.stream_seq;
    this.expectedDelivery = 1;
    this.consumerName = info.name;
    this.consumer = this.js.consumers.getConsumerFromInfo(info);
    return this.consumer;
  }

  private startConfig(): Partial<ConsumerConfig> {
    if (this.lastSeq !== undefined) {
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.lastSeq + 1 };
    }
    const { from } = this.options;
    switch (from.kind) {
      case 'new':
        return { deliver_policy: DeliverPolicy.New };
      case 'time':
        return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.at.toISOString() };
    }
  }

  private async deleteConsumer(name: string, waitMs: number): Promise<void> {
    if (this.nc.isClosed() || this.jsm === undefined) return;
    const deleted = this.jsm.consumers.delete(this.options.stream, name).catch(() => false);
    if (waitMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      deleted,
      new Promise((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  // A method, not a field read: TypeScript would narrow `stopping` across the awaits that change it.
  private isRunning(): boolean {
    return !this.stopping && !this.nc.isClosed() && !this.nc.isDraining();
  }
}
