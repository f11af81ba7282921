import { STORED_EVENT_COLUMNS } from './event-row.js';

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
} as const;
