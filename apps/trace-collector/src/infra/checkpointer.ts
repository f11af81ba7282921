import type { CheckpointHead, EventStore } from '@warden/event-store';
import { buildCheckpoint, type CheckpointSigner } from '../domain/checkpoint-chain.js';

/**
 * Writes batches into `events` one at a time, each followed by its checkpoint (issue 9, item 7).
 *
 * One at a time because the chain is a sequence, and because a checkpoint's digests count the rows
 * of its events stored up to its `created_at` (see `SQL.eventDigests`): while a batch is read back
 * no other insert may be half-way. The next batch is still parsed and redacted meanwhile (that
 * happens before {@link run}), and chDB runs one statement at a time anyway.
 *
 * Cost per batch: one read of the batch's digests (the `event_id` bloom filter finds the fresh
 * part) and one one-row insert into `checkpoints`.
 */
export class Checkpointer {
  /** The env's last checkpoint; `unknown` until read, and again after a failed checkpoint insert. */
  private head: CheckpointHead | undefined | 'unknown' = 'unknown';
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: EventStore,
    private readonly env: string,
    private readonly signer: CheckpointSigner,
  ) {}

  /**
   * Runs `write` (the batch's insert), then checkpoints `eventIds`: the rows just written and
   * those of the batch found stored already (a redelivery after a crash between insert and
   * checkpoint would otherwise leave them uncovered; covering an event twice is harmless). Throws,
   * so the batch is redelivered, when either fails.
   */
  run(eventIds: readonly string[], write: () => Promise<void>): Promise<void> {
    const step = this.tail.then(async () => {
      await write();
      if (eventIds.length > 0) await this.checkpoint(eventIds);
    });
    this.tail = step.catch(() => undefined);
    return step;
  }

  /** Resolves when every batch handed to {@link run} before this call is written and checkpointed (or failed). */
  settled(): Promise<void> {
    return this.tail.then(() => undefined);
  }

  private async checkpoint(eventIds: readonly string[]): Promise<void> {
    if (this.head === 'unknown') this.head = await this.store.lastCheckpoint(this.env);
    const { at, rows } = await this.store.digestEvents(eventIds, { env: this.env });
    const checkpoint = buildCheckpoint({
      env: this.env,
      head: this.head,
      eventIds: [...new Set(eventIds)],
      digests: rows,
      at,
      signer: this.signer,
    });
    try {
      await this.store.insertCheckpoint(checkpoint);
    } catch (error) {
      // The insert may have landed all the same (a timeout): read the head again rather than
      // reuse its seq, which would write the same number twice.
      this.head = 'unknown';
      throw error;
    }
    this.head = { seq: checkpoint.seq, digest: checkpoint.digest };
  }
}
