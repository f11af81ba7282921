import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { VerifyFailureKind, type VerifiedEventRef, type VerifyFailure } from '@warden/contracts';
import type { Checkpoint, CheckpointHead, EventDigest } from '@warden/event-store';

/*
 * The checkpoint chain (issue 9, item 7), as plain data: what a checkpoint's digest covers, how a
 * batch becomes a checkpoint, and how a stored checkpoint and its rows are judged. The SQL that
 * digests each row lives in libs/event-store (ROW_DIGEST_SQL); keys and I/O live in infra/.
 */

/** Names the digest's layout, so a future change of it cannot be confused with this one. */
const CHECKPOINT_FORMAT = 'warden.checkpoint.v1';

/** How long `events` keeps a row (its TTL in deploy/clickhouse/0001_events.sql). */
export const EVENT_RETENTION_DAYS = 400;

/** A checkpoint before it is signed. */
export type UnsignedCheckpoint = Omit<Checkpoint, 'digest' | 'signature'>;

/** The collector's signing key, with the id verifiers find its public key under. */
export interface CheckpointSigner {
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

/**
 * The bytes a checkpoint's digest covers: every field but `digest` and `signature`, as one JSON
 * array. JSON of strings, numbers and arrays of strings is canonical (one text per value) and
 * delimits every field, so no two checkpoints share their bytes.
 */
export function checkpointBytes(checkpoint: UnsignedCheckpoint): string {
  return JSON.stringify([
    CHECKPOINT_FORMAT,
    checkpoint.env,
    checkpoint.seq,
    checkpoint.prev_digest,
    checkpoint.created_at,
    checkpoint.key_id,
    checkpoint.event_ids,
    checkpoint.types,
    checkpoint.run_ids,
    checkpoint.occurred_ats,
    checkpoint.row_digests,
  ]);
}

/** Hex SHA-256 of {@link checkpointBytes}. */
export function checkpointDigest(checkpoint: UnsignedCheckpoint): string {
  return createHash('sha256').update(checkpointBytes(checkpoint)).digest('hex');
}

/** The id of a public key: the first 16 hex digits of SHA-256 of its 32 raw bytes. */
export function keyIdOf(rawPublicKey: Uint8Array): string {
  return createHash('sha256').update(rawPublicKey).digest('hex').slice(0, 16);
}

/**
 * The checkpoint of one inserted batch: its events' engine-computed digests in `eventIds` order,
 * linked to `head` (the env's last checkpoint, if any), digested and signed.
 *
 * @throws Error when an event of the batch is not in `digests`: it was just inserted, so the
 * store is not showing what it stored, and the batch must be retried rather than checkpointed.
 */
export function buildCheckpoint(input: {
  env: string;
  head: CheckpointHead | undefined;
  eventIds: readonly string[];
  digests: readonly EventDigest[];
  at: string;
  signer: CheckpointSigner;
}): Checkpoint {
  const byId = new Map(input.digests.map((row) => [row.event_id, row]));
  const rows = input.eventIds.map((id) => {
    const row = byId.get(id);
    if (row === undefined) throw new Error(`event ${id} is not readable right after its insert`);
    return row;
  });
  const unsigned: UnsignedCheckpoint = {
    env: input.env,
    seq: (input.head?.seq ?? 0) + 1,
    prev_digest: input.head?.digest ?? '',
    event_ids: rows.map((row) => row.event_id),
    types: rows.map((row) => row.type),
    run_ids: rows.map((row) => row.run_id),
    occurred_ats: rows.map((row) => row.occurred_at),
    row_digests: rows.map((row) => row.digest),
    key_id: input.signer.keyId,
    created_at: input.at,
  };
  const digest = checkpointDigest(unsigned);
  const signature = sign(null, Buffer.from(digest, 'hex'), input.signer.privateKey);
  return { ...unsigned, digest, signature: signature.toString('base64') };
}

/**
 * Judges one stored checkpoint on its own and against the one before it: its fields against its
 * digest, its signature against the published key, its place in the chain. `previous` is the
 * checkpoint verified just before (undefined for the first one looked at, whose link cannot be
 * checked: it is the anchor).
 */
export function checkCheckpoint(
  checkpoint: Checkpoint,
  previous: CheckpointHead | undefined,
  publicKey: KeyObject | undefined,
): VerifyFailure | undefined {
  const seq = checkpoint.seq;
  const fail = (kind: VerifyFailureKind, message: string): VerifyFailure => ({
    kind,
    message,
    checkpoint_seq: seq,
  });
  const lengths = [
    checkpoint.types,
    checkpoint.run_ids,
    checkpoint.occurred_ats,
    checkpoint.row_digests,
  ].map((list) => list.length);
  if (lengths.some((n) => n !== checkpoint.event_ids.length)) {
    return fail(
      VerifyFailureKind.CheckpointAltered,
      `checkpoint ${seq} has arrays of different lengths`,
    );
  }
  if (checkpointDigest(checkpoint) !== checkpoint.digest) {
    return fail(
      VerifyFailureKind.CheckpointAltered,
      `checkpoint ${seq}'s fields do not match its digest: it was edited after it was written`,
    );
  }
  if (publicKey === undefined) {
    return fail(
      VerifyFailureKind.SignatureBad,
      `checkpoint ${seq} is signed by key ${checkpoint.key_id}, which the collector never published`,
    );
  }
  let valid = false;
  try {
    valid = verify(
      null,
      Buffer.from(checkpoint.digest, 'hex'),
      publicKey,
      Buffer.from(checkpoint.signature, 'base64'),
    );
  } catch {
    valid = false;
  }
  if (!valid) {
    return fail(
      VerifyFailureKind.SignatureBad,
      `checkpoint ${seq}'s signature does not verify with key ${checkpoint.key_id}`,
    );
  }
  if (previous !== undefined) {
    if (seq !== previous.seq + 1) {
      return fail(
        VerifyFailureKind.ChainBroken,
        seq === previous.seq
          ? `checkpoint ${seq} appears twice`
          : `checkpoint ${previous.seq} is followed by ${seq}: ${seq - previous.seq - 1} missing`,
      );
    }
    if (checkpoint.prev_digest !== previous.digest) {
      return fail(
        VerifyFailureKind.ChainBroken,
        `checkpoint ${seq} does not link to checkpoint ${previous.seq}'s digest`,
      );
    }
  }
  return undefined;
}

/** What {@link checkRows} found for one checkpoint. */
export interface RowsCheck {
  failure?: VerifyFailure;
  /** Event ids whose rows matched. */
  verified: number;
  /** Event ids not stored any more because they are past retention. */
  expired: number;
  /**
   * Event ids not found in the checkpoint's env: the caller looks them up in every env (a row
   * whose env was edited is a changed row, not a missing one) before calling again with them.
   */
  notFound: string[];
}

/**
 * Compares a checkpoint's recorded digests with the digests of the rows stored now. `stored` has
 * the rows found in the checkpoint's env; `elsewhere` those found only by a second look in every
 * env (undefined on the first pass). The first row that differs, in the checkpoint's order, is
 * the failure.
 */
export function checkRows(
  checkpoint: Checkpoint,
  stored: ReadonlyMap<string, EventDigest>,
  elsewhere: ReadonlyMap<string, EventDigest> | undefined,
  now: Date,
): RowsCheck {
  const cutoff = now.getTime() - EVENT_RETENTION_DAYS * 86_400_000;
  const result: RowsCheck = { verified: 0, expired: 0, notFound: [] };
  for (const [index, eventId] of checkpoint.event_ids.entries()) {
    const recorded: VerifiedEventRef = {
      event_id: eventId,
      type: checkpoint.types[index] ?? '',
      run_id: checkpoint.run_ids[index] ?? '',
      occurred_at: checkpoint.occurred_ats[index] ?? '',
    };
    const row = stored.get(eventId) ?? elsewhere?.get(eventId);
    if (row === undefined) {
      if (elsewhere === undefined) {
        result.notFound.push(eventId);
        continue;
      }
      if (Date.parse(recorded.occurred_at) < cutoff) {
        result.expired++;
        continue;
      }
      result.failure ??= {
        kind: VerifyFailureKind.RowMissing,
        message: `event ${eventId} (${recorded.type}, run ${recorded.run_id || '-'}) is covered by checkpoint ${checkpoint.seq} but no longer stored`,
        checkpoint_seq: checkpoint.seq,
        event: recorded,
      };
      continue;
    }
    if (row.digest !== checkpoint.row_digests[index] || row.env !== checkpoint.env) {
      result.failure ??= {
        kind: VerifyFailureKind.RowChanged,
        message:
          row.copies > 1
            ? `event ${eventId} now has ${row.copies} stored rows that do not match checkpoint ${checkpoint.seq}: a row was edited or added`
            : `event ${eventId}'s stored row does not match checkpoint ${checkpoint.seq}: a column was edited`,
        checkpoint_seq: checkpoint.seq,
        event: {
          event_id: eventId,
          type: row.type,
          run_id: row.run_id,
          occurred_at: row.occurred_at,
        },
      };
      continue;
    }
    result.verified++;
  }
  return result;
}
