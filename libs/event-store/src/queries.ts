import { STORED_EVENT_COLUMNS } from './event-row.js';
import { ROW_DIGEST_SQL } from './row-digest.js';

/** The columns of a `checkpoints` row, in insert and select order. */
export const CHECKPOINT_COLUMNS = [
  'env',
  'seq',
  'prev_digest',
  'digest',
  'event_ids',
  'types',
  'run_ids',
  'occurred_ats',
  'row_digests',
  'key_id',
  'signature',
  'created_at',
] as const;

/**
 * Every statement the store runs outside the migration files, in one place so a query change shows
 * up in review. Values are always bound (`{name:Type}`), never spliced in. The same text runs on
 * chDB and on a server.
 *
 * Reads that return 64-bit integers ask for them quoted: chDB prints them as bare numbers by
 * default and `JSON.parse` would round anything past 2^53 before the converter could refuse it.
 */
export const SQL = {
  /** Bootstraps the migration ledger; not a numbered migration because the runner needs it first. */
  createMigrationsTable: `
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = MergeTree
ORDER BY version`,

  selectAppliedMigrations: `
SELECT version, name, checksum
FROM schema_migrations
ORDER BY version, applied_at`,

  recordMigration: `
INSERT INTO schema_migrations (version, name, checksum)
SELECT {version:UInt32}, {name:String}, {checksum:String}`,

  /**
   * One run's events in timeline order. The sorting key (env, run_id, occurred_at, stream_seq)
   * makes this a range read with no sort. `LIMIT 1 BY event_id` hides a duplicate that got past
   * insert deduplication (a retry outside the deduplication window).
   */
  timeline: `
SELECT ${STORED_EVENT_COLUMNS.join(', ')}
FROM events
WHERE env = {env:String} AND run_id = {run_id:String}
ORDER BY occurred_at, stream_seq
LIMIT 1 BY event_id
LIMIT {limit:UInt32}
SETTINGS output_format_json_quote_64bit_integers = 1`,

  /**
   * Which of these event ids are stored already. Not in the sorting key: the bloom_filter skip
   * index on event_id lets the engine skip every granule that cannot hold one of them.
   */
  existingEventIds: `
SELECT DISTINCT event_id
FROM events
WHERE env = {env:String} AND event_id IN {event_ids:Array(String)}`,

  countEvents: `
SELECT count() AS n
FROM events
SETTINGS output_format_json_quote_64bit_integers = 1`,

  countEventsInEnv: `
SELECT count() AS n
FROM events
WHERE env = {env:String}
SETTINGS output_format_json_quote_64bit_integers = 1`,

  /**
   * The digest of each of these events as stored now (see ROW_DIGEST_SQL), the same statement at
   * checkpoint time and at verify time.
   *
   * Keyed by event id, not by row, because `events` is a plain MergeTree: a producer's republish
   * after JetStream's duplicate window, or an insert that got past deduplication, stores a second
   * row with the same event id, and nothing merges it away. So an event's digest covers all of its
   * rows (sorted, so their order on disk does not matter), and only rows stored up to `until`: the
   * checkpoint's own `created_at`, which is `at` of this statement when the collector ran it. A copy
   * stored by a later batch is then counted by that batch's checkpoint and not by the earlier one,
   * which still verifies; a copy backdated into an earlier window changes that checkpoint.
   *
   * `{env:String} = ''` looks in every env (a row whose env was edited is still found and named).
   * The `r.` prefixes keep the aggregates' aliases from shadowing the inner columns.
   */
  eventDigests: `
SELECT
    r.event_id                                 AS event_id,
    any(r.env)                                 AS env,
    any(r.type)                                AS type,
    any(r.run_id)                              AS run_id,
    min(r.occurred_at)                         AS occurred_at,
    count()                                    AS copies,
    if(count() = 1, any(r.row_digest),
       hex(SHA256(arrayStringConcat(arraySort(groupArray(r.row_digest)), ',')))) AS digest,
    now64(6)                                   AS at
FROM
(
    SELECT event_id, env, type, run_id, occurred_at, ${ROW_DIGEST_SQL} AS row_digest
    FROM events
    WHERE ({env:String} = '' OR env = {env:String})
      AND event_id IN {event_ids:Array(String)}
      AND ingested_at <= {until:DateTime64(6, 'UTC')}
) AS r
GROUP BY r.event_id
SETTINGS output_format_json_quote_64bit_integers = 1`,

  now: `SELECT now64(6) AS at`,

  lastCheckpoint: `
SELECT seq, digest
FROM checkpoints
WHERE env = {env:String}
ORDER BY seq DESC, created_at DESC
LIMIT 1
SETTINGS output_format_json_quote_64bit_integers = 1`,

  /** A page of the chain in order; ties (a repeated seq, i.e. tampering) in a stable order. */
  checkpoints: `
SELECT ${CHECKPOINT_COLUMNS.join(', ')}
FROM checkpoints
WHERE env = {env:String} AND created_at >= {since:DateTime64(6, 'UTC')}
ORDER BY seq, created_at, digest
LIMIT {limit:UInt32} OFFSET {offset:UInt64}
SETTINGS output_format_json_quote_64bit_integers = 1`,

  /**
   * Rows of the env stored in [since, until] that no checkpoint covers: their event id is in no
   * checkpoint, or only in checkpoints made before the row was stored (the LEFT JOIN fills
   * `covered_until` with 1970 when there is none).
   */
  uncoveredEvents: `
SELECT e.event_id AS event_id, e.env AS env, e.type AS type, e.run_id AS run_id,
       e.occurred_at AS occurred_at
FROM events AS e
LEFT JOIN
(
    SELECT arrayJoin(event_ids) AS event_id, max(created_at) AS covered_until
    FROM checkpoints
    WHERE env = {env:String}
    GROUP BY event_id
) AS c ON e.event_id = c.event_id
WHERE e.env = {env:String}
  AND e.ingested_at >= {since:DateTime64(6, 'UTC')}
  AND e.ingested_at <= {until:DateTime64(6, 'UTC')}
  AND e.ingested_at > c.covered_until
ORDER BY e.ingested_at, e.event_id
LIMIT {limit:UInt32}`,
} as const;
