import { z } from 'zod';
import { fromClickHouseDateTime64, toClickHouseDateTime64, toSafeInteger } from './event-row.js';
import { CHECKPOINT_COLUMNS } from './queries.js';

/**
 * One row of `checkpoints` (deploy/clickhouse/0005_checkpoints.sql): the digests of one inserted
 * batch, chained to the previous checkpoint and signed by the trace collector. The five arrays are
 * parallel, one element per event id. Times are RFC 3339 with microseconds.
 */
export interface Checkpoint {
  env: string;
  seq: number;
  prev_digest: string;
  digest: string;
  event_ids: string[];
  types: string[];
  run_ids: string[];
  occurred_ats: string[];
  row_digests: string[];
  key_id: string;
  signature: string;
  created_at: string;
}

/** The head of an env's chain: what the next checkpoint links to. */
export interface CheckpointHead {
  seq: number;
  digest: string;
}

/** One event's digest as the engine computes it (`SQL.eventDigests`). */
export interface EventDigest {
  event_id: string;
  env: string;
  type: string;
  run_id: string;
  /** The earliest `occurred_at` of its rows, RFC 3339. */
  occurred_at: string;
  /** Rows stored under this event id (more than 1 after a republish past JetStream's window). */
  copies: number;
  /** Hex SHA-256 of its row, or of its rows' sorted digests when there are several. */
  digest: string;
}

/** The answer to {@link EventStore.digestEvents}. */
export interface EventDigests {
  /** The engine's clock when the statement ran, RFC 3339: a new checkpoint's `created_at`. */
  at: string;
  /** One per event id found (in no particular order). */
  rows: EventDigest[];
}

/** Options of {@link EventStore.digestEvents}. */
export interface DigestEventsOptions {
  /** Only this env's rows; every env when left out. */
  env?: string;
  /** Only rows stored up to this instant (RFC 3339); all rows when left out. */
  until?: string;
}

/** An event named in a verification report. */
export interface EventRef {
  event_id: string;
  env: string;
  type: string;
  run_id: string;
  occurred_at: string;
}

const time = z.unknown().transform((value) => fromClickHouseDateTime64(value));
const int = (column: string) => z.unknown().transform((value) => toSafeInteger(value, column));

export const CheckpointRow = z.object({
  env: z.string(),
  seq: int('seq'),
  prev_digest: z.string(),
  digest: z.string(),
  event_ids: z.array(z.string()),
  types: z.array(z.string()),
  run_ids: z.array(z.string()),
  occurred_ats: z.array(time),
  row_digests: z.array(z.string()),
  key_id: z.string(),
  signature: z.string(),
  created_at: time,
});

export const CheckpointHeadRow = z.object({ seq: int('seq'), digest: z.string() });

export const EventDigestRow = z.object({
  event_id: z.string(),
  env: z.string(),
  type: z.string(),
  run_id: z.string(),
  occurred_at: time,
  copies: int('copies'),
  digest: z.string(),
});

export const EventRefRow = z.object({
  event_id: z.string(),
  env: z.string(),
  type: z.string(),
  run_id: z.string(),
  occurred_at: time,
});

export const AtRow = z.object({ at: time });

/** A checkpoint as one JSONCompactEachRow line, values in {@link CHECKPOINT_COLUMNS} order. */
export function toCheckpointLine(checkpoint: Checkpoint): string {
  // Times go in as ClickHouse parses them (no offset); everything else as it is.
  const values = CHECKPOINT_COLUMNS.map((column) =>
    column === 'created_at'
      ? toClickHouseDateTime64(checkpoint.created_at)
      : column === 'occurred_ats'
        ? checkpoint.occurred_ats.map(toClickHouseDateTime64)
        : checkpoint[column],
  );
  return JSON.stringify(values);
}
