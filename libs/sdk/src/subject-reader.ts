import { AckPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import {
  createInbox,
  nanos,
  nuid,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { classifyDelivery } from './push-delivery.js';
import { ReaderPosition, type ReadFrom } from './reader-position.js';

export type { ReadFrom } from './reader-position.js';

/** What a reader needs to know about the connection: when it comes back, and whether it is up. */
export interface ReconnectFeed {
  readonly isConnected: boolean;
  /** Calls `listener` at each reconnect; returns the function that stops it. */
  onReconnect(listener: () => void): () => void;
}

/** Options of a {@link SubjectReader}. */
export interface SubjectReaderOptions {
  readonly stream: string;
  /** The one subject read (nats-server 2.9 takes one filter per consumer). */
  readonly subject: string;
  readonly from: ReadFrom;
  /** Called for every message, in stream order, at most once per stream sequence. */
  readonly onMessage: (data: Uint8Array, subject: string) => void;
  /** The connection's reconnects: each one replaces the consumer. */
  readonly reconnects: ReconnectFeed;
  /**
   * The connection's inbox prefix: the consumer delivers to a fresh subject under it (an agent
   * under scoped access may subscribe only there). Default `_INBOX`.
   */
  readonly inboxPrefix?: string;
  /**
   * Whether to delete the consumers this reader replaces or stops (best effort, never waited on
   * for correctness). Off under scoped access, where the agent has no grant to delete: the server
   * drops a consumer by itself once nobody listens to its deliver subject.
   */
  readonly deleteConsumers: boolean;
  /**
   * Called once, when the reader has handed over every message the subject held when its first
   * consumer was made (at once when there were none): from then on it is reading live.
   */
  readonly onCaughtUp?: () => void;
}

/** The server drops a consumer whose deliver subject has had no subscriber for this long. */
const INACTIVE_THRESHOLD_MS = 60_000;
/** How often an idle consumer sends a heartbeat: its absence reveals a consumer that is gone. */
const IDLE_HEARTBEAT_MS = 5_000;
/** Silence after which the consumer is taken for lost: two missed heartbeats, and a margin. */
const SILENCE_LIMIT_MS = 2 * IDLE_HEARTBEAT_MS + 1_000;
/** How often the reader checks for that silence. */
const WATCH_INTERVAL_MS = 1_000;
/** Longest pause between attempts to create a consumer. */
const MAX_RETRY_DELAY_MS = 2_000;
/** How long `stop()` waits for the server to delete the consumer before giving up on it. */
const DELETE_WAIT_MS = 250;

/** One consumer of the series a reader goes through, and the subscription to its deliveries. */
interface Generation {
  readonly name: string;
  readonly subscription: Subscription;
  /** When the last delivery or heartbeat arrived (or the consumer was asked for). */
  lastActivity: number;
}

/**
 * Reads one subject of a stream from a starting point, in order, through its own ephemeral
 * *push* consumer (no acks, memory storage, idle heartbeats), and keeps reading across
 * disconnects, server restarts and lost deliveries by replacing the consumer with one that starts
 * right after the last message handled.
 *
 * Why push and no pull: under scoped NATS access (deploy/nats/README.md) an agent may create a
 * consumer of its own outcomes, on `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>` only, and
 * read what it delivers to its own inbox; it may not pull (`CONSUMER.MSG.NEXT`), ask for consumer
 * INFO, or DELETE. So: subscribe to a fresh inbox subject first (nothing delivered can arrive
 * before anyone listens), then create the consumer with an explicit `name` and one filter, which
 * makes nats.js send it to that subject; sequences come from each message's reply subject.
 *
 * Why not nats.js's ordered consumer: on nats-server 2.9 it recreates itself after a restart from
 * "the last sequence seen", which is 0 when nothing was seen yet, and replays the subject from
 * sequence 1 (reproduced). Here a replacement always starts after the position the previous
 * consumer's create reply or its last delivery gave ({@link ReaderPosition}).
 *
 * When the consumer is replaced: at every reconnect (a restarted server lost it, and a consumer
 * that survived a short disconnect may have sent messages into it); on a hole in its delivery
 * sequence or a heartbeat announcing a delivery that never came (without acks nothing is sent
 * twice); after two missed heartbeats; and on a status saying it ended. Stopping is unsubscribing.
 */
export class SubjectReader {
  private jsm: JetStreamManager | undefined;
  private readonly position: ReaderPosition;
  private current: Generation | undefined;
  private stopping = false;
  private looping = false;
  private wake: (() => void) | undefined;
  private wakeRequested = false;
  private unfollow: (() => void) | undefined;
  private caughtUp = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: SubjectReaderOptions,
  ) {
    this.position = new ReaderPosition(options.from);
  }

  /** Creates the consumer, then reads in the background. Rejects when the consumer cannot be made. */
  async open(): Promise<void> {
    await this.create();
    this.loop();
  }

  /** Reads in the background, creating the consumer first and retrying until it exists. */
  start(): void {
    this.loop();
  }

  /**
   * Stops reading at once (unsubscribes), then, with `deleteConsumer` and when this reader may
   * delete, asks the server to delete the consumer, waiting at most a moment. Correctness never
   * depends on it: a consumer nobody listens to is dropped after its inactivity threshold.
   */
  async stop(options: { deleteConsumer: boolean }): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unfollow?.();
    const name = this.retire({ deleteConsumer: false });
    this.wakeUp();
    if (name !== undefined && options.deleteConsumer && this.options.deleteConsumers) {
      await this.deleteConsumer(name, DELETE_WAIT_MS);
    }
  }

  private loop(): void {
    if (this.looping || this.stopping) return;
    this.looping = true;
    this.unfollow = this.options.reconnects.onReconnect(() => {
      this.replace();
    });
    void this.run();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.isRunning()) {
      if (this.current === undefined) {
        try {
          await this.create();
          failures = 0;
        } catch {
          // The stream is not reachable yet (a server still starting, a connection still down):
          // try again, a little later each time.
          if (!this.isRunning()) break;
          failures++;
          await this.pause(Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** failures));
        }
        continue;
      }
      await this.pause(WATCH_INTERVAL_MS);
      this.checkSilence();
    }
  }

  /** Replaces a consumer that sent neither a message nor a heartbeat for too long (gone). */
  private checkSilence(): void {
    const generation = this.current;
    if (
      generation !== undefined &&
      this.options.reconnects.isConnected &&
      Date.now() - generation.lastActivity > SILENCE_LIMIT_MS
    ) {
      this.replace();
    }
  }

  /**
   * Makes the next consumer: listen on a fresh deliver subject, then ask the server for a consumer
   * delivering there. A reconnect or a stop while waiting for the answer supersedes it (the loop
   * makes another); its answer still moves the start position, which holds whatever happened.
   */
  private async create(): Promise<void> {
    this.jsm ??= await jetstreamManager(this.nc, { checkAPI: false });
    this.retire({ deleteConsumer: true });
    const name = nuid.next();
    const deliver = createInbox(this.options.inboxPrefix);
    const start = this.position.startConfig();
    this.position.beginGeneration();
    const generation: Generation = {
      name,
      subscription: this.nc.subscribe(deliver, {
        callback: (error, message) => {
          if (error === null) this.receive(generation, message);
        },
      }),
      lastActivity: Date.now(),
    };
    this.current = generation;
    try {
      // With a `name` and one filter, nats.js sends this to
      // `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`: the one create subject an agent is
      // granted, and whose filter the server checks against the body.
      const info = await this.jsm.consumers.add(this.options.stream, {
        name,
        filter_subject: this.options.subject,
        deliver_subject: deliver,
        ack_policy: AckPolicy.None,
        mem_storage: true,
        num_replicas: 1,
        inactive_threshold: nanos(INACTIVE_THRESHOLD_MS),
        // No flow control: its requests need an answer on a subject the agent may not publish to.
        idle_heartbeat: nanos(IDLE_HEARTBEAT_MS),
        ...start,
      });
      this.position.created(info.delivered);
      if (info.num_pending === 0) this.reachedEnd();
      generation.lastActivity = Date.now();
      if (!this.isCurrent(generation) && this.options.deleteConsumers) {
        void this.deleteConsumer(name, 0);
      }
    } catch (error) {
      if (this.isCurrent(generation)) this.retire({ deleteConsumer: false });
      throw error;
    }
  }

  private receive(generation: Generation, message: Msg): void {
    // Deliveries of a replaced consumer are dropped: its successor starts after the last message
    // handled, so they come again.
    if (generation !== this.current || this.stopping) return;
    generation.lastActivity = Date.now();
    const delivery = classifyDelivery(message);
    switch (delivery.kind) {
      case 'message': {
        if (delivery.info.consumer !== generation.name) return;
        const verdict = this.position.delivered(delivery.info);
        if (verdict === 'gap') this.replace();
        else if (verdict === 'handle') this.options.onMessage(message.data, message.subject);
        if (verdict !== 'gap' && delivery.info.pending === 0) this.reachedEnd();
        return;
      }
      case 'heartbeat':
        if (this.position.heartbeat(delivery.lastDeliverySeq) === 'gap') this.replace();
        return;
      case 'ended':
        this.replace();
        return;
      case 'other':
        return;
    }
  }

  private reachedEnd(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.options.onCaughtUp?.();
  }

  /** Drops the current consumer and has the loop make the next one at once. */
  private replace(): void {
    if (!this.isRunning()) return;
    this.retire({ deleteConsumer: true });
    this.wakeUp();
  }

  /** Stops listening to the current consumer; returns its name. */
  private retire(options: { deleteConsumer: boolean }): string | undefined {
    const generation = this.current;
    if (generation === undefined) return undefined;
    this.current = undefined;
    try {
      generation.subscription.unsubscribe();
    } catch {
      // The connection is closed: so is the subscription.
    }
    if (options.deleteConsumer && this.options.deleteConsumers) {
      void this.deleteConsumer(generation.name, 0);
    }
    return generation.name;
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

  /** Waits `ms`, or less when {@link wakeUp} is called (also just before). */
  private pause(ms: number): Promise<void> {
    if (this.wakeRequested) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private wakeUp(): void {
    if (this.wake) this.wake();
    else this.wakeRequested = true;
  }

  // Methods, not field reads: TypeScript would narrow the fields across the awaits that change them.
  private isCurrent(generation: Generation): boolean {
    return this.current === generation;
  }

  private isRunning(): boolean {
    return !this.stopping && !this.nc.isClosed() && !this.nc.isDraining();
  }
}
