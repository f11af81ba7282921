/**
 * The seam between the event store and an engine. Everything above it (SQL text, validation,
 * conversions) is shared; a driver only moves SQL, bound parameters and bytes to one engine and
 * turns that engine's failures into `EventStoreError`s. Internal: not exported from the package.
 */
import type { ResultColumn } from './event-store.js';

/** Rows of a statement run in ClickHouse's `JSON` format (its `meta` and `data`). */
export interface QueryResult {
  columns: ResultColumn[];
  rows: Record<string, unknown>[];
}

/** Values for `{name:Type}` placeholders, bound by the engine (never spliced into the text). */
export type QueryParams = Record<string, unknown>;

/** Limits the engine enforces on a read-only statement. */
export interface ReadOnlyLimits {
  /**
   * Rows to return at most. The engine is asked for one more (ClickHouse's `limit` setting caps the
   * outermost result without touching subqueries), so the caller can tell that it was truncated.
   */
  maxRows: number;
  timeoutMs: number;
}

/** An insert whose body is already serialised, one {@link INSERT_FORMAT} line per row. */
export interface RowsInsert {
  table: string;
  /** The columns, in the order each line lists its values. */
  columns: readonly string[];
  /** Newline-separated JSON arrays. */
  body: string;
  /** Per-insert settings, e.g. `insert_deduplication_token`. */
  settings: Record<string, string | number>;
}

/** One engine connection. */
export interface Driver {
  readonly kind: 'embedded' | 'server';
  /** Runs a statement that returns rows (no FORMAT clause in `sql`). */
  query(sql: string, params?: QueryParams): Promise<QueryResult>;
  /** Runs a statement that returns nothing (DDL, INSERT … SELECT). */
  command(sql: string, params?: QueryParams): Promise<void>;
  /** Runs one `INSERT INTO table (columns) FORMAT JSONCompactEachRow` with `body` as the data. */
  insertRows(insert: RowsInsert): Promise<void>;
  /**
   * Runs one statement with `readonly = 1` and the limits set by the engine for this statement
   * only, so that neither the statement nor a `SETTINGS` clause in it can write or lift them.
   */
  queryReadOnly(sql: string, params: QueryParams, limits: ReadOnlyLimits): Promise<QueryResult>;
  /** Resolves when the engine answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Settings for a read-only statement, shared by both drivers so both engines enforce the same
 * limits. Order matters on chDB, where they become the connection's arguments: `readonly` goes
 * last, because once it is 1 nothing else may be changed.
 */
export function readOnlySettings(limits: ReadOnlyLimits): [string, string | number][] {
  return [
    ['limit', limits.maxRows + 1],
    // Whole seconds: older servers parse max_execution_time as an integer.
    ['max_execution_time', Math.max(1, Math.ceil(limits.timeoutMs / 1000))],
    // A wide result is cut off by bytes too: 64 MiB of JSON is already too much for a terminal.
    ['max_result_bytes', 64 * 1024 * 1024],
    ['result_overflow_mode', 'throw'],
    ['output_format_json_quote_64bit_integers', 1],
    ['readonly', 1],
  ];
}
