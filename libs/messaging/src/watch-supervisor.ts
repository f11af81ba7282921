/**
 * Keeps a KV watch alive, and says when it is not.
 *
 * Why: a nats.js KV watch can die without telling anyone. Its iterator may end or throw, and
 * when its bucket is deleted and recreated it neither ends nor delivers again. The broker's
 * in-memory views (agents, revocations, signing keys) are only as good as their watch, so a
 * dead watch must be (a) noticed, (b) reported, so readers fail safe instead of serving a frozen
 * view, and (c) restarted, with backoff, until it is live again.
 *
 * Noticing: the iterator ending or throwing; and a periodic probe of the bucket's stream (its
 * last sequence and creation time). Every KV entry's revision is its stream sequence, so a
 * live watch delivers, within one probe interval, every revision the stream had at the
 * previous probe; a watch still short of it is dead. A changed creation time is a recreated
 * bucket (whose revisions start again at 1). Two probes in a row that cannot read the stream
 * (NATS away, bucket gone) count as dead too.
 *
 * No NATS import: the KV handle is reached through the structural types below, so this stays
 * testable with fakes.
 */

/** A watch entry: all the supervisor reads of it is its revision (its stream sequence). */
export interface RevisionedEntry {
  readonly revision: number;
}

/** An open watch: an iterator of entries that `stop()` ends. */
export interface StoppableWatch<E> extends AsyncIterable<E> {
  stop(): void;
}

/** Where the watched bucket's stream is. */
export interface StreamPosition {
  /** The stream's last sequence: the highest revision written. */
  readonly lastRevision: number;
  /** Changes when the bucket is deleted and created again (the stream's creation time). */
  readonly epoch: string;
}

/** The part of a KV bucket's status {@link kvPosition} reads (`KvStatus` of `@nats-io/kv`). */
export interface KvStatusSource {
  status(): Promise<{
    readonly streamInfo: {
      readonly created: string;
      readonly state: { readonly last_seq: number };
    };
  }>;
}

/** The position of a KV bucket, from its status (one JetStream API call). */
export async function kvPosition(kv: KvStatusSource): Promise<StreamPosition> {
  const { streamInfo } = await kv.status();
  return { lastRevision: streamInfo.state.last_seq, epoch: streamInfo.created };
}

/** Timing of a {@link WatchSupervisor}. */
export interface WatchTiming {
  /** How often the stream is probed; also the longest a silently dead watch goes unnoticed. */
  readonly probeIntervalMs: number;
  /** First restart delay; doubles on each failed attempt, up to {@link maxBackoffMs}. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** Production timing: a dead watch is noticed within ~5 s, and retried at most every 30 s. */
export const DEFAULT_WATCH_TIMING: WatchTiming = {
  probeIntervalMs: 5_000,
  initialBackoffMs: 250,
  maxBackoffMs: 30_000,
};

/** The logger calls the supervisor makes (pino's and MessagingLogger's shape). */
export interface WatchLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What a {@link WatchSupervisor} watches, and what it does with it. */
export interface SupervisedWatch<E extends RevisionedEntry> {
  /** For logs and readiness details: e.g. `KV revocations`. */
  readonly name: string;
  /**
   * Opens the watch, and loads whatever the view needs besides it (e.g. the stored values an
   * updates-only watch does not deliver). Called at start and for every restart; resolves once
   * the watch is subscribed and the view complete. `bucketChanged`: the bucket was recreated
   * since the last open (its revisions started again), so a view keyed by revision must forget
   * what it knew.
   */
  open(bucketChanged: boolean): Promise<StoppableWatch<E>>;
  /** Takes one entry in. A throw is logged and the entry skipped: one bad value never stops it. */
  onEntry(entry: E): void;
  /** Where the watched bucket is now. */
  position(): Promise<StreamPosition>;
  /** Called when the watch stops being live (the view is not to be trusted until it is again). */
  onStale?(reason: string): void;
  readonly timing?: Partial<WatchTiming>;
  readonly logger: WatchLogger;
}

/**
 * Runs one KV watch for a view: opens it, feeds its entries to the view, notices when it dies
 * (see the file comment), and reopens it with exponential backoff. {@link live} is what readers
 * check before trusting the view.
 */
export class WatchSupervisor<E extends RevisionedEntry> {
  private readonly timing: WatchTiming;
  private watch: StoppableWatch<E> | undefined;
  private state: 'idle' | 'live' | 'restarting' | 'stopped' = 'idle';
  private reason = 'not started';
  /** The highest revision the current watch delivered, or the stream's position when opened. */
  private seen = 0;
  /** The stream's last revision at the previous probe: the current watch owes it by now. */
  private owed: number | undefined;
  private epoch: string | undefined;
  private probeFailures = 0;
  private attempt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(private readonly spec: SupervisedWatch<E>) {
    this.timing = { ...DEFAULT_WATCH_TIMING, ...spec.timing };
  }

  /** Whether the watch is open and was not found dead: the view is current. */
  get live(): boolean {
    return this.state === 'live';
  }

  /** Why the view is not live (or `live`). */
  get detail(): string {
    return this.state === 'live' ? 'live' : this.reason;
  }

  /**
   * Opens the watch and starts probing. Throws when the first open fails: a replica that cannot
   * read its bucket at start should not start (the caller decides).
   */
  async start(): Promise<void> {
    await this.open();
    this.probeTimer = setInterval(() => {
      this.probe().catch((error: unknown) => {
        this.spec.logger.error({ err: error, watch: this.spec.name }, 'watch probe crashed');
      });
    }, this.timing.probeIntervalMs);
    this.probeTimer.unref();
  }

  /** Stops the watch, the probe and any pending restart. */
  stop(): void {
    this.state = 'stopped';
    this.reason = 'stopped';
    clearTimeout(this.restartTimer);
    clearInterval(this.probeTimer);
    this.watch?.stop();
    this.watch = undefined;
  }

  /**
   * Declares the watch dead (a test, or a caller that knows better): it is stopped, the view
   * reported stale, and a restart scheduled.
   */
  fail(reason: string): void {
    if (this.state === 'stopped' || this.state === 'restarting') return;
    this.state = 'restarting';
    this.reason = reason;
    this.spec.logger.error(
      { watch: this.spec.name, reason },
      'KV watch lost: the view is stale until it is reopened',
    );
    try {
      this.spec.onStale?.(reason);
    } catch (error) {
      this.spec.logger.error({ err: error, watch: this.spec.name }, 'onStale failed');
    }
    const watch = this.watch;
    this.watch = undefined;
    watch?.stop();
    this.scheduleRestart();
  }

  private async open(): Promise<void> {
    const before = await this.spec.position();
    const bucketChanged = this.epoch !== undefined && before.epoch !== this.epoch;
    const watch = await this.spec.open(bucketChanged);
    // Read after the watch is subscribed: everything up to here was delivered as an initial
    // value or loaded by open(); everything after must come through the watch.
    let after: StreamPosition;
    try {
      after = await this.spec.position();
    } catch (error) {
      watch.stop();
      throw error;
    }
    if (this.state === 'stopped') {
      watch.stop();
      return;
    }
    this.epoch = after.epoch;
    this.seen = after.lastRevision;
    this.owed = undefined;
    this.probeFailures = 0;
    this.watch = watch;
    this.state = 'live';
    this.follow(watch).catch((error: unknown) => {
      this.spec.logger.error({ err: error, watch: this.spec.name }, 'watch loop crashed');
    });
  }

  private async follow(watch: StoppableWatch<E>): Promise<void> {
    let ending: string;
    try {
      for await (const entry of watch) {
        if (watch !== this.watch) return;
        if (entry.revision > this.seen) this.seen = entry.revision;
        try {
          this.spec.onEntry(entry);
        } catch (error) {
          this.spec.logger.error(
            { err: error, watch: this.spec.name, revision: entry.revision },
            'skipped a KV entry that could not be applied',
          );
        }
      }
      ending = 'the watch ended';
    } catch (error) {
      ending = `the watch failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (watch === this.watch) this.fail(ending);
  }

  private scheduleRestart(): void {
    if (this.state === 'stopped') return;
    const { initialBackoffMs, maxBackoffMs } = this.timing;
    const base = Math.min(maxBackoffMs, initialBackoffMs * 2 ** this.attempt);
    // ±20 % so replicas that lost their watches together do not reopen in lockstep.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt++;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.reopen().catch((error: unknown) => {
        this.spec.logger.error({ err: error, watch: this.spec.name }, 'watch restart crashed');
      });
    }, delay);
    this.restartTimer.unref();
  }

  private async reopen(): Promise<void> {
    if (this.state !== 'restarting') return;
    try {
      await this.open();
    } catch (error) {
      this.reason = `reopening failed: ${error instanceof Error ? error.message : String(error)}`;
      this.spec.logger.warn(
        { err: error, watch: this.spec.name, attempt: this.attempt },
        'KV watch could not be reopened; retrying',
      );
      this.scheduleRestart();
      return;
    }
    if (this.live) {
      this.attempt = 0;
      this.spec.logger.info({ watch: this.spec.name }, 'KV watch reopened: the view is live');
    }
  }

  private async probe(): Promise<void> {
    if (this.state !== 'live' || this.probing) return;
    this.probing = true;
    try {
      let position: StreamPosition;
      try {
        position = await this.spec.position();
        this.probeFailures = 0;
      } catch (error) {
        // One slow answer is not a dead watch; two in a row (NATS away, bucket gone) is treated
        // as one: failing safe costs a reload, trusting a frozen view costs correctness.
        this.probeFailures++;
        // `live` re-read: the state may have changed while the probe awaited.
        if (this.probeFailures >= 2 && this.live) {
          this.fail(
            `the bucket cannot be read: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        return;
      }
      if (!this.live) return;
      if (position.epoch !== this.epoch) {
        this.fail('the bucket was deleted and created again');
        return;
      }
      if (this.owed !== undefined && this.seen < this.owed) {
        this.fail(`the watch stopped delivering (at revision ${this.seen} of ${this.owed})`);
        return;
      }
      this.owed = position.lastRevision;
    } finally {
      this.probing = false;
    }
  }
}
