import type { NatsConnection } from '@nats-io/transport-node';
import { parseEvent, subjects, type Envelope } from '@warden/contracts';
import { SubjectReader, type ReadFrom, type SubjectReaderOptions } from './subject-reader.js';

/** How the listener's readers use the connection: see {@link SubjectReaderOptions}. */
export type ReaderSettings = Pick<
  SubjectReaderOptions,
  'reconnects' | 'inboxPrefix' | 'deleteConsumers'
>;

type Resolved = Envelope<'intent.resolved'>;

/** Clock skew allowed between the host that made an intent id and the NATS server's clock. */
export const CATCH_UP_SKEW_MS = 5_000;

/**
 * Whether the outcome of an intent made at `proposedAt` (epoch ms, from its ULID) may have been
 * published before the listener started at `listeningSince`, and so must be looked for on the
 * stream. The margin covers clocks that disagree.
 */
export function needsCatchUp(proposedAt: number, listeningSince: number): boolean {
  return proposedAt < listeningSince + CATCH_UP_SKEW_MS;
}

/**
 * Where a catch-up read for an intent made at `proposedAt` starts, at `now`: a little before the
 * intent's time, and never in the future (an intent id from a clock that runs ahead).
 */
export function catchUpStart(proposedAt: number, now: number): Date {
  return new Date(Math.min(proposedAt, now) - CATCH_UP_SKEW_MS);
}

/** A registered interest in one intent's outcome. */
export interface OutcomeWaiter {
  /** Resolves with the outcome; never rejects (the caller races it with its deadline). */
  readonly outcome: Promise<Resolved>;
  /**
   * Also looks for the outcome on the stream from the intent's own time (once; a no-op without
   * the intent's time, or when already looking).
   */
  lookBack(): void;
  /** Drops the interest (after the outcome, a timeout, or a failure to propose). */
  release(): void;
}

/**
 * Receives this agent's outcomes (`intent.resolved` on `warden.<env>.evt.intent.resolved.<agent>`)
 * and hands each to the calls waiting for it; outcomes nobody waits for are ignored.
 *
 * One reader per client, started at connect (before any call) from the end of the stream: an
 * outcome published while the connection was down is read after the reconnect, since the stream
 * keeps it. An outcome published before this listener existed (an agent that restarted asks again
 * for an earlier intent) is found by a short-lived extra reader that starts at the intent's own
 * time and stops as soon as the call has its answer.
 */
export class OutcomeListener {
  private readonly waiting = new Map<string, Set<(event: Resolved) => void>>();
  private readonly catchUps = new Set<SubjectReader>();
  private readonly main: SubjectReader;
  private listeningSince = Number.POSITIVE_INFINITY;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
    private readonly agentId: string,
    private readonly settings: ReaderSettings,
  ) {
    this.main = this.reader({ kind: 'new' });
  }

  /**
   * Starts listening for `agentId`'s outcomes in `env`; resolves once the server-side consumer
   * exists, so every outcome published from then on is seen.
   */
  static async start(
    nc: NatsConnection,
    env: string,
    agentId: string,
    settings: ReaderSettings,
  ): Promise<OutcomeListener> {
    const listener = new OutcomeListener(nc, env, agentId, settings);
    await listener.main.open();
    listener.listeningSince = Date.now();
    return listener;
  }

  /**
   * Registers interest in the outcome of `intentId`. Register before proposing, so the answer
   * cannot slip past. `proposedAt` (epoch ms, from the intent id) is given for an intent this
   * client did not just make: when it is older than the listener, the outcome may already be on
   * the stream, and is looked for there at once.
   */
  wait(intentId: string, proposedAt?: number): OutcomeWaiter {
    let resolve!: (event: Resolved) => void;
    const outcome = new Promise<Resolved>((settle) => {
      resolve = settle;
    });
    let waiters = this.waiting.get(intentId);
    if (!waiters) {
      waiters = new Set();
      this.waiting.set(intentId, waiters);
    }
    waiters.add(resolve);
    let catchUp: SubjectReader | undefined;
    let released = false;
    const lookBack = (): void => {
      if (catchUp || released || this.closed || proposedAt === undefined) return;
      catchUp = this.reader({ kind: 'time', at: catchUpStart(proposedAt, Date.now()) });
      this.catchUps.add(catchUp);
      catchUp.start();
    };
    const release = (): void => {
      released = true;
      const current = this.waiting.get(intentId);
      current?.delete(resolve);
      if (current?.size === 0) this.waiting.delete(intentId);
      if (catchUp) {
        this.catchUps.delete(catchUp);
        void catchUp.stop({ deleteConsumer: true });
      }
    };
    if (proposedAt !== undefined && needsCatchUp(proposedAt, this.listeningSince)) lookBack();
    return { outcome, lookBack, release };
  }

  /**
   * Stops every reader and, with `deleteConsumers` (and readers allowed to delete), deletes their
   * consumers on the server, waiting at most a moment; consumers left behind expire on their own.
   */
  async close(options: { deleteConsumers: boolean }): Promise<void> {
    this.closed = true;
    const readers = [this.main, ...this.catchUps];
    this.catchUps.clear();
    await Promise.all(
      readers.map((reader) => reader.stop({ deleteConsumer: options.deleteConsumers })),
    );
  }

  private reader(from: ReadFrom): SubjectReader {
    return new SubjectReader(this.nc, {
      ...this.settings,
      stream: subjects.streamName(this.env),
      subject: subjects.event(this.env, 'intent.resolved', this.agentId),
      from,
      onMessage: (data, subject) => {
        this.deliver(data, subject);
      },
    });
  }

  private deliver(data: Uint8Array, subject: string): void {
    if (this.waiting.size === 0) return;
    // Every outcome is validated against its contract; one that fails is not ours to judge (the
    // trace collector records it) and is skipped, never a crash.
    const parsed = parseEvent(data, { env: this.env, subject });
    if (!parsed.ok || parsed.event.type !== 'intent.resolved') return;
    const { intent_id: intentId } = parsed.event;
    if (intentId === undefined) return;
    const waiters = this.waiting.get(intentId);
    if (!waiters) return;
    this.waiting.delete(intentId);
    for (const resolve of waiters) resolve(parsed.event);
  }
}
