import type {
  Checkpoint,
  CheckpointHead,
  DigestEventsOptions,
  EventDigests,
  EventRef,
} from './checkpoint.js';
import type { EventRow, StoredEvent } from './event-row.js';

/** A result column: its name and ClickHouse type. */
export interface ResultColumn {
  name: string;
  /** ClickHouse type, e.g. `LowCardinality(String)`. */
  type: string;
}

/** What {@link EventStore.migrate} did, by migration id (`0001_events`). */
export interface MigrateResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Migrations that were already applied (checksums verified). */
  alreadyApplied: string[];
}

/** Options of {@link EventStore.insertEvents}. */
export interface InsertEventsOptions {
  /**
   * Identifies this batch's content, e.g. `WARDEN_PROD:1200-1450` (stream and sequence range). A
   * retry of the same batch with the same token is stored once; a *different* batch sent with a
   * token already used is dropped as well, so never reuse a token for other rows. 1–256 printable
   * ASCII characters.
   */
  deduplicationToken: string;
}

/** Options of {@link EventStore.timeline}. */
export interface TimelineOptions {
  /** Events to return at most (default 10,000). */
  limit?: number;
}

/** Options of {@link EventStore.readOnlyQuery}. */
export interface ReadOnlyQueryOptions {
  /** Rows to return at most (default 1,000, at most 100,000). */
  maxRows?: number;
  /** The engine stops the statement after this long (default 30 s, at most 10 min). */
  timeoutMs?: number;
}

/** The answer to {@link EventStore.readOnlyQuery}. */
export interface ReadOnlyQueryResult {
  columns: ResultColumn[];
  /**
   * Rows as ClickHouse's JSON format renders them: 64-bit integers as strings, DateTime64 as
   * `YYYY-MM-DD hh:mm:ss.ffffff`, arrays as arrays.
   */
  rows: Record<string, unknown>[];
  /** True when the statement had more rows than `maxRows` and the rest were cut off. */
  truncated: boolean;
}

/**
 * The audit log (DESIGN §7): the only way Warden code reaches ClickHouse. Two implementations run
 * the same SQL: embedded chDB in a data directory, or a ClickHouse server over HTTP
 * (see `openEventStore`). Every method throws `EventStoreError` and nothing else.
 */
export interface EventStore {
  /** Which engine this store runs on. */
  readonly kind: 'embedded' | 'server';

  /**
   * Applies the numbered SQL files of `deploy/clickhouse` that are not applied yet, recording each
   * in `schema_migrations` (version, name, checksum, applied_at). Idempotent.
   *
   * @throws EventStoreError `migration_checksum_mismatch` when an applied file was edited;
   * `migration_failed` when a file cannot be read or a statement fails.
   */
  migrate(): Promise<MigrateResult>;

  /**
   * Writes rows with one `INSERT … FORMAT JSONCompactEachRow`, carrying `insert_deduplication_token` so a
   * retried batch is stored once. Each row is validated against `EventRow` first; one bad row
   * rejects the batch before anything is sent.
   *
   * @throws EventStoreError `invalid_input` for a bad row or token; engine codes otherwise
   * (`retryable` tells whether to try again with the same token).
   */
  insertEvents(rows: readonly EventRow[], options: InsertEventsOptions): Promise<void>;

  /**
   * Which of `eventIds` are stored already in `env`. For the collector's redelivered messages
   * after a crash; it uses the bloom_filter index on `event_id`, not a scan.
   */
  findExistingEventIds(env: string, eventIds: readonly string[]): Promise<Set<string>>;

  /** One run's events ordered by `occurred_at`, then `stream_seq`. */
  timeline(env: string, runId: string, options?: TimelineOptions): Promise<StoredEvent[]>;

  /**
   * Runs one analyst statement for `warden audit sql`, with `{name:Type}` placeholders bound from
   * `params`. Refuses anything but one SELECT / WITH … SELECT / SHOW / DESCRIBE / EXPLAIN
   * statement, and runs it with the engine's `readonly = 1`, a row cap and a timeout.
   *
   * @throws EventStoreError `not_read_only`, `query_failed` (e.g. bad SQL, with ClickHouse's
   * code and message), `timeout`.
   */
  readOnlyQuery(
    sql: string,
    params?: Record<string, unknown>,
    options?: ReadOnlyQueryOptions,
  ): Promise<ReadOnlyQueryResult>;

  /**
   * The engine-computed digest of each event in `eventIds` (every column of its row or rows, see
   * `ROW_DIGEST_SQL`), with the engine's clock. The trace collector checkpoints a batch with it
   * and `audit verify` recomputes it with the same statement.
   */
  digestEvents(eventIds: readonly string[], options?: DigestEventsOptions): Promise<EventDigests>;

  /** Appends one checkpoint (no validation of its chain: that is the collector's). */
  insertCheckpoint(checkpoint: Checkpoint): Promise<void>;

  /** The env's last checkpoint by `seq`, or undefined when it has none. */
  lastCheckpoint(env: string): Promise<CheckpointHead | undefined>;

  /**
   * A page of the env's checkpoints created at or after `since` (RFC 3339), by `seq`.
   *
   * @throws EventStoreError `invalid_input` for a bad `since`, `offset` or `limit`.
   */
  readCheckpoints(
    env: string,
    page: { since?: string; offset: number; limit: number },
  ): Promise<Checkpoint[]>;

  /**
   * Rows of the env stored between `since` and `until` (RFC 3339) that no checkpoint covers,
   * oldest first, at most `limit`.
   */
  findUncoveredEvents(
    env: string,
    window: { since?: string; until: string; limit: number },
  ): Promise<EventRef[]>;

  /** The engine's clock, RFC 3339 with microseconds. */
  now(): Promise<string>;

  /** Number of stored events, in one env or in all. */
  count(env?: string): Promise<number>;

  /** Resolves when the engine answers. */
  ping(): Promise<void>;

  /**
   * Releases the engine. For the embedded store this frees the data directory for another process
   * (or another directory in this one). Idempotent; every other method fails with `closed` after.
   */
  close(): Promise<void>;
}
