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

/** The events of its own intents an agent reads (AGENT_READS of `@warden/nats-auth`). */
export type WatchedType = 'intent.resolved' | 'approval.requested' | 'model.routed';

/** The readers opened at connect: every call may end, or wait for a human. */
const READ_FROM_START: readonly WatchedType[] = ['intent.resolved', 'approval.requested'];
/** What a look back reads: the outcome, and whether a human was asked first. */
const LOOKED_BACK: readonly WatchedType[] = ['intent.resolved', 'approval.requested'];

type Handlers = { [T in WatchedType]?: (event: Envelope<T>) => void };

/** A registered interest in one intent's events. */
export interface OutcomeWaiter {
  /** Resolves with the outcome; never rejects (the caller races it with its deadline). */
  readonly outcome: Promise<Resolved>;
  /** Resolves with the intent's approval request, if one comes (never rejects). */
  readonly approval: Promise<Envelope<'approval.requested'>>;
  /** Resolves with the routing of a model call, if one comes (never rejects). */
  readonly routed: Promise<Envelope<'model.routed'>>;
  /**
   * Resolves once a look back has read the stream's outcomes up to the present (at once when there
   * is no look back): an outcome not seen by then was not published before the look back began.
   */
  caughtUp(): Promise<void>;
  /**
   * Also looks for the outcome (and an approval request) on the stream from the intent's own time
   * (once; a no-op without the intent's time, or when already looking).
   */
  lookBack(): void;
  /** Drops the interest (after the outcome, a timeout, or a failure to propose). */
  release(): void;
}

/**
 * Receives this agent's outcomes (`intent.resolved` on `warden.<env>.evt.intent.resolved.<agent>`),
 * approval requests (`approval.requested`) and model routings (`model.routed`), each on its own
 * subject (nats-server 2.9: one filter per consumer), and hands each to the calls waiting for that
 * intent; events nobody waits for are ignored.
 *
 * One reader per type and client, started from the end of the stream: outcomes and approval
 * requests at connect (before any call), model routings at the first model call. An event published
 * while the connection was down is read after the reconnect, since the stream keeps it. An outcome
 * published before this listener existed (an agent that restarted asks again for an earlier intent)
 * is found by short-lived extra readers that start at the intent's own time and stop as soon as the
 * call has its answer.
 */
export class OutcomeListener {
  private readonly waiting = new Map<string, Set<Handlers>>();
  private readonly catchUps = new Set<SubjectReader>();
  private readonly main = new Map<WatchedType, { reader: SubjectReader; open: Promise<void> }>();
  private listeningSince = Number.POSITIVE_INFINITY;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
    private readonly agentId: string,
    private readonly settings: ReaderSettings,
  ) {}

  /**
   * Starts listening for `agentId`'s outcomes and approval requests in `env`; resolves once the
   * server-side consumers exist, so every one published from then on is seen.
   */
  static async start(
    nc: NatsConnection,
    env: string,
    agentId: string,
    settings: ReaderSettings,
  ): Promise<OutcomeListener> {
    const listener = new OutcomeListener(nc, env, agentId, settings);
    try {
      await Promise.all(READ_FROM_START.map((type) => listener.listen(type)));
    } catch (error) {
      await listener.close({ deleteConsumers: true });
      throw error;
    }
    listener.listeningSince = Date.now();
    return listener;
  }

  /**
   * Resolves once events of `type` are read live (opening that reader the first time): wait for it
   * before publishing what they answer.
   */
  listen(type: WatchedType): Promise<void> {
    let entry = this.main.get(type);
    if (entry === undefined) {
      const reader = this.reader(type, { kind: 'new' });
      const open = reader.open();
      entry = { reader, open };
      this.main.set(type, entry);
      // A reader that could not be made is forgotten, so the next call tries again.
      open.catch(() => {
        if (this.main.get(type)?.reader === reader) this.main.delete(type);
      });
    }
    return entry.open;
  }

  /**
   * Registers interest in the events of `intentId`. Register before proposing, so the answer
   * cannot slip past. `proposedAt` (epoch ms, from the intent id) is given for an intent this
   * client did not just make: when it is older than the listener, the outcome may already be on
   * the stream, and is looked for there at once.
   */
  wait(intentId: string, proposedAt?: number): OutcomeWaiter {
    const handlers: Handlers = {};
    const outcome = new Promise<Resolved>((resolve) => {
      handlers['intent.resolved'] = resolve;
    });
    const approval = new Promise<Envelope<'approval.requested'>>((resolve) => {
      handlers['approval.requested'] = resolve;
    });
    const routed = new Promise<Envelope<'model.routed'>>((resolve) => {
      handlers['model.routed'] = resolve;
    });
    let waiters = this.waiting.get(intentId);
    if (!waiters) {
      waiters = new Set();
      this.waiting.set(intentId, waiters);
    }
    waiters.add(handlers);
    const catchUp: SubjectReader[] = [];
    let caughtUp = Promise.resolve();
    let released = false;
    const lookBack = (): void => {
      if (catchUp.length > 0 || released || this.closed || proposedAt === undefined) return;
      const from = { kind: 'time', at: catchUpStart(proposedAt, Date.now()) } as const;
      let reachedEnd!: () => void;
      caughtUp = new Promise((resolve) => {
        reachedEnd = resolve;
      });
      for (const type of LOOKED_BACK) {
        const reader = this.reader(type, from, type === 'intent.resolved' ? reachedEnd : undefined);
        catchUp.push(reader);
        this.catchUps.add(reader);
        reader.start();
      }
    };
    const release = (): void => {
      released = true;
      const current = this.waiting.get(intentId);
      current?.delete(handlers);
      if (current?.size === 0) this.waiting.delete(intentId);
      for (const reader of catchUp) {
        this.catchUps.delete(reader);
        void reader.stop({ deleteConsumer: true });
      }
    };
    if (proposedAt !== undefined && needsCatchUp(proposedAt, this.listeningSince)) lookBack();
    return { outcome, approval, routed, caughtUp: () => caughtUp, lookBack, release };
  }

  /**
   * Stops every reader and, with `deleteConsumers` (and readers allowed to delete), deletes their
   * consumers on the server, waiting at most a moment; consumers left behind expire on their own.
   */
  async close(options: { deleteConsumers: boolean }): Promise<void> {
    this.closed = true;
    const readers = [...[...this.main.values()].map((entry) => entry.reader), ...this.catchUps];
    this.catchUps.clear();
    await Promise.all(
      readers.map((reader) => reader.stop({ deleteConsumer: options.deleteConsumers })),
    );
  }

  private reader(type: WatchedType, from: ReadFrom, onCaughtUp?: () => void): SubjectReader {
    return new SubjectReader(this.nc, {
      ...this.settings,
      stream: subjects.streamName(this.env),
      subject: subjects.event(this.env, type, this.agentId),
      from,
      onMessage: (data, subject) => {
        this.deliver(type, data, subject);
      },
      ...(onCaughtUp === undefined ? {} : { onCaughtUp }),
    });
  }

  private deliver(type: WatchedType, data: Uint8Array, subject: string): void {
    if (this.waiting.size === 0) return;
    // Every event is validated against its contract; one that fails is not ours to judge (the
    // trace collector records it) and is skipped, never a crash.
    const parsed = parseEvent(data, { env: this.env, subject });
    if (!parsed.ok || parsed.event.type !== type) return;
    const { intent_id: intentId } = parsed.event;
    if (intentId === undefined) return;
    const waiters = this.waiting.get(intentId);
    if (!waiters) return;
    for (const handlers of waiters) {
      (handlers[type] as ((event: Envelope) => void) | undefined)?.(parsed.event);
    }
  }
}
