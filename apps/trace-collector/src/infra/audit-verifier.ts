import type { KeyObject } from 'node:crypto';
import { VerifyFailureKind, type AuditVerifyResult, type VerifyFailure } from '@warden/contracts';
import type { Checkpoint, CheckpointHead, EventDigest, EventStore } from '@warden/event-store';
import { checkCheckpoint, checkRows, type RowsCheck } from '../domain/checkpoint-chain.js';

/** Checkpoints read per page: each carries a batch's worth of ids and digests. */
const PAGE = 16;

/**
 * `audit.verify`: walks the env's checkpoints in order (from `since` when given), and for each one
 * checks its digest, its signature against the key published in NATS KV, its link to the one
 * before, and the digests of the rows it covers as the engine computes them now. Then looks for
 * rows no checkpoint covers. Stops at the first failure.
 */
export class AuditVerifier {
  constructor(
    private readonly store: EventStore,
    private readonly env: string,
    private readonly keys: { publicKey(keyId: string): Promise<KeyObject | undefined> },
    private readonly writer: { settled(): Promise<void> },
  ) {}

  async verify(since?: string): Promise<AuditVerifyResult> {
    // Rows stored after this instant are left to the next verification: their checkpoint may not
    // be written yet.
    const until = await this.store.now();
    const result: AuditVerifyResult = {
      ok: true,
      checkpoints: 0,
      events: 0,
      expired: 0,
      until,
      ...(since === undefined ? {} : { since }),
    };
    const fail = (failure: VerifyFailure): AuditVerifyResult => ({ ...result, ok: false, failure });
    let previous: CheckpointHead | undefined;
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.store.readCheckpoints(this.env, {
        ...(since === undefined ? {} : { since }),
        offset,
        limit: PAGE,
      });
      for (const checkpoint of page) {
        const publicKey = await this.keys.publicKey(checkpoint.key_id);
        const broken = checkCheckpoint(checkpoint, previous, publicKey);
        if (broken !== undefined) return fail(broken);
        const rows = await this.checkRowsOf(checkpoint);
        if (rows.failure !== undefined) return fail(rows.failure);
        result.checkpoints++;
        result.events += rows.verified;
        result.expired += rows.expired;
        result.first_seq ??= checkpoint.seq;
        result.last_seq = checkpoint.seq;
        previous = { seq: checkpoint.seq, digest: checkpoint.digest };
      }
      if (page.length < PAGE) break;
    }
    // Every batch stored up to `until` started before now: once the writer has caught up, each
    // has its checkpoint, and a row still uncovered was not written by the collector.
    await this.writer.settled();
    const [uncovered] = await this.store.findUncoveredEvents(this.env, {
      ...(since === undefined ? {} : { since }),
      until,
      limit: 1,
    });
    if (uncovered !== undefined) {
      return fail({
        kind: VerifyFailureKind.RowUncovered,
        message: `event ${uncovered.event_id} is stored but no checkpoint covers it: it was inserted around the collector`,
        event: {
          event_id: uncovered.event_id,
          type: uncovered.type,
          run_id: uncovered.run_id,
          occurred_at: uncovered.occurred_at,
        },
      });
    }
    return result;
  }

  /** The checkpoint's rows against their digests now; a second look in every env for any not found. */
  private async checkRowsOf(checkpoint: Checkpoint): Promise<RowsCheck> {
    const until = checkpoint.created_at;
    const now = new Date();
    const stored = byId(
      (await this.store.digestEvents(checkpoint.event_ids, { env: this.env, until })).rows,
    );
    const first = checkRows(checkpoint, stored, undefined, now);
    if (first.notFound.length === 0) return first;
    const elsewhere = byId((await this.store.digestEvents(first.notFound, { until })).rows);
    return checkRows(checkpoint, stored, elsewhere, now);
  }
}

function byId(rows: readonly EventDigest[]): Map<string, EventDigest> {
  return new Map(rows.map((row) => [row.event_id, row]));
}
