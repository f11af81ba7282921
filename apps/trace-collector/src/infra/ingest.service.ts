import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';
import type { EventRow, EventStore } from '@warden/event-store';
import {
  consumeBatches,
  ensureDurable,
  type BatchConsumer,
  type RawMessage,
} from '@warden/messaging';
import type { Logger } from 'pino';
import { deduplicationToken, prepareBatch } from '../domain/prepare-batch.js';
import type { Checkpointer } from './checkpointer.js';

/** The durable consumer of the collector: one per env, shared by nothing else. */
export const COLLECTOR_DURABLE = 'trace-collector';

/**
 * Batches being written at once. The insert runs on chDB's threads, off the JS thread, so while
 * one batch is inserted the next is parsed and redacted; more would only queue in the engine.
 */
const BATCHES_IN_FLIGHT = 2;

/** What the collector has done since it started, for logs, readiness and the bench. */
export interface IngestStats {
  batches: number;
  messages: number;
  stored: number;
  rejected: number;
  /** Rows dropped because they were already in the table (redelivered after a crash). */
  alreadyStored: number;
  failedBatches: number;
}

/**
 * Moves every event of the env's stream into the `events` table exactly once: batches from the
 * durable consumer are parsed, redacted and inserted, and acked only after the insert succeeded.
 *
 * Each batch is followed by its signed checkpoint (see Checkpointer), before it is acked.
 *
 * Exactly once rests on three things: JetStream drops duplicate publishes (Nats-Msg-Id = event_id);
 * an insert retried with the same rows carries the same deduplication token; and rows of
 * redelivered messages (the collector died between insert and ack) are checked against the table.
 */
export class IngestService {
  readonly stats: IngestStats = {
    batches: 0,
    messages: 0,
    stored: 0,
    rejected: 0,
    alreadyStored: 0,
    failedBatches: 0,
  };
  private consumer: BatchConsumer | undefined;
  /** Inserts under way, so a batch of redelivered messages can wait for them before its check. */
  private readonly inserting = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly store: EventStore,
    private readonly options: {
      env: string;
      batchSize: number;
      batchWaitMs: number;
      ackWaitMs: number;
    },
    private readonly logger: Logger,
    private readonly checkpointer: Checkpointer,
  ) {}

  get running(): boolean {
    return this.consumer !== undefined;
  }

  async start(): Promise<void> {
    const { env, batchSize, batchWaitMs, ackWaitMs } = this.options;
    await ensureDurable(this.nc, env, {
      durable: COLLECTOR_DURABLE,
      filterSubject: subjects.allEvents(env),
      ackWaitMs,
      // The collector never gives up on an event: a failed insert is retried until it succeeds.
      maxDeliver: -1,
      maxAckPending: batchSize * (BATCHES_IN_FLIGHT + 3),
    });
    this.consumer = consumeBatches(this.nc, {
      env,
      durable: COLLECTOR_DURABLE,
      filterSubject: subjects.allEvents(env),
      maxBatch: batchSize,
      maxWaitMs: batchWaitMs,
      concurrency: BATCHES_IN_FLIGHT,
      handle: (batch) => this.ingest(batch),
      logger: this.logger,
    });
    this.logger.info({ env, batchSize, batchWaitMs }, 'trace collector consuming');
  }

  /** Stops pulling and writes what is buffered; the caller closes the store afterwards. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.stop();
    this.logger.info({ ...this.stats }, 'trace collector stopped');
  }

  /** Writes one batch; throws (so nothing is acked) when the store fails. */
  async ingest(batch: readonly RawMessage[]): Promise<void> {
    const { env } = this.options;
    const prepared = prepareBatch(env, subjects.streamName(env), batch, Date.now() * 1000);
    let rows = prepared.rows;
    if (prepared.redeliveredIds.length > 0) {
      // The first delivery of these messages may be in an insert still under way: let it land,
      // or the check below would not see its rows.
      await Promise.allSettled(this.inserting);
      const existing = await this.store.findExistingEventIds(env, prepared.redeliveredIds);
      if (existing.size > 0) rows = rows.filter((row) => !existing.has(row.event_id));
      this.stats.alreadyStored += prepared.rows.length - rows.length;
    }
    try {
      // Every event of the batch is checkpointed, the ones found stored already included.
      await this.insert(
        rows,
        prepared.rows.map((row) => row.event_id),
      );
    } catch (error) {
      this.stats.failedBatches++;
      this.logger.error(
        { err: error, rows: rows.length },
        'insert or checkpoint failed; the batch will be redelivered',
      );
      throw error;
    }
    const rejected = Object.values(prepared.rejected).reduce((sum, n) => sum + n, 0);
    this.stats.batches++;
    this.stats.messages += batch.length;
    this.stats.stored += prepared.stored;
    this.stats.rejected += rejected;
    if (rejected > 0)
      this.logger.warn(
        { rejected: prepared.rejected },
        'messages rejected and recorded as event.rejected',
      );
  }

  private async insert(rows: EventRow[], eventIds: string[]): Promise<void> {
    const insert = this.checkpointer.run(eventIds, async () => {
      if (rows.length > 0) {
        await this.store.insertEvents(rows, { deduplicationToken: deduplicationToken(rows) });
      }
    });
    this.inserting.add(insert);
    try {
      await insert;
    } finally {
      this.inserting.delete(insert);
    }
  }
}
