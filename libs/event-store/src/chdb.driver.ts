import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { drainPending, Session, type ChdbResult } from 'chdb';
import { parseClickHouseCode, toEventStoreError, type StatementPurpose } from './engine-errors.js';
import { EventStoreError, EventStoreErrorCode } from './event-store.errors.js';
import { INSERT_FORMAT } from './event-row.js';
import {
  readOnlySettings,
  type Driver,
  type RowsInsert,
  type QueryParams,
  type QueryResult,
  type ReadOnlyLimits,
} from './driver.js';

/** The shape of ClickHouse's `JSON` output format. */
interface JsonFormatResult {
  meta: { name: string; type: string }[];
  data: Record<string, unknown>[];
}

/** What chDB's typed errors carry (`ChdbError` is not exported as a type from the ESM entry). */
interface ChdbErrorLike {
  message: string;
  code?: unknown;
  clickhouseCode?: unknown;
}

/**
 * The embedded engine: chDB (ClickHouse in-process) on a data directory, through chDB's own
 * `Session` API.
 *
 * Why not `@clickhouse/client` over `chdb/connection` (one client API for both engines)? Measured
 * on chdb 3.4.0: that connection turns each request's `clickhouse_settings` into `SET` statements
 * on a shared session, so they outlive the request. An insert's `insert_deduplication_token` then
 * applies to the next insert too (a later, different batch was silently dropped as a duplicate),
 * and `readonly = 1` for one audit query makes every later write fail. See the README.
 *
 * chDB rules this driver lives with:
 * - one data directory per process (a second path is refused until the first is closed), and one
 *   process per directory (ClickHouse locks `<dir>/status`);
 * - several `Session`s on the same directory share the engine but each has its own settings, which
 *   is how a read-only statement gets `readonly = 1` without affecting the writer.
 */
export class ChdbDriver implements Driver {
  readonly kind = 'embedded';
  readonly #dataDir: string;
  readonly #session: Session;

  private constructor(dataDir: string, session: Session) {
    this.#dataDir = dataDir;
    this.#session = session;
  }

  /**
   * Opens (creating if needed) the data directory.
   *
   * @throws EventStoreError `data_dir_locked`, `data_dir_conflict` or `unavailable`.
   */
  static open(dataDir: string): ChdbDriver {
    return new ChdbDriver(dataDir, openSession(dataDir));
  }

  async query(sql: string, params?: QueryParams): Promise<QueryResult> {
    const result = await this.#run(this.#session, sql, params, 'read', 'JSON');
    return toQueryResult(result);
  }

  async command(sql: string, params?: QueryParams): Promise<void> {
    await this.#run(this.#session, sql, params, 'write', 'JSON');
  }

  async insertRows(insert: RowsInsert): Promise<void> {
    try {
      // The raw-passthrough insert: chDB hands the buffer to the engine's parser without building
      // JS objects, and renders `settings` as an escaped SETTINGS clause of this INSERT only.
      await this.#session.insert({
        table: insert.table,
        columns: insert.columns,
        values: Buffer.from(insert.body, 'utf8'),
        format: INSERT_FORMAT,
        settings: insert.settings,
      });
    } catch (error) {
      throw mapChdbError(error, 'write');
    }
  }

  async queryReadOnly(
    sql: string,
    params: QueryParams,
    limits: ReadOnlyLimits,
  ): Promise<QueryResult> {
    // A second Session on the same directory (≈0.3 ms to open) whose settings are given at connect:
    // they apply to this connection only and, with readonly=1 last, cannot be changed by the
    // statement. A SETTINGS clause in it fails with READONLY.
    const args = readOnlySettings(limits).map(([name, value]) => `--${name}=${value}`);
    let reader: Session;
    try {
      reader = new Session(this.#dataDir, { connectionArgs: args });
    } catch (error) {
      throw mapChdbError(error, 'read_only_query');
    }
    try {
      // FORMAT is appended (as @clickhouse/client does for the server) rather than passed as an
      // option, so a FORMAT clause in the statement is a syntax error on both engines.
      const result = await this.#run(
        reader,
        `${sql}\nFORMAT JSON`,
        params,
        'read_only_query',
        'JSON',
        {
          // chDB cannot interrupt a running statement: this only stops waiting. max_execution_time
          // (above) is what stops the engine.
          timeout: limits.timeoutMs + 2_000,
        },
      );
      return toQueryResult(result);
    } finally {
      reader.close();
    }
  }

  async ping(): Promise<void> {
    await this.#run(this.#session, 'SELECT 1', undefined, 'read', 'JSON');
  }

  async close(): Promise<void> {
    this.#session.close();
    // close() returns before the engine has finished work still in flight (background merges keep
    // writing parts); wait for it so the directory can be removed or opened by someone else.
    await drainPending();
  }

  async #run(
    session: Session,
    sql: string,
    params: QueryParams | undefined,
    purpose: StatementPurpose,
    format: string,
    extra: { timeout?: number } = {},
  ): Promise<ChdbResult> {
    try {
      return params === undefined || Object.keys(params).length === 0
        ? await session.queryAsync(sql, { format, ...extra })
        : await session.queryBindAsync(sql, params, { format, ...extra });
    } catch (error) {
      throw mapChdbError(error, purpose);
    }
  }
}

function toQueryResult(result: ChdbResult): QueryResult {
  const text = result.text();
  if (text.trim() === '') return { columns: [], rows: [] };
  const json = JSON.parse(text) as JsonFormatResult;
  return { columns: json.meta.map(({ name, type }) => ({ name, type })), rows: json.data };
}

function openSession(dataDir: string): Session {
  try {
    return new Session(dataDir);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/only one active data directory/i.test(message)) {
      throw new EventStoreError(
        EventStoreErrorCode.DataDirConflict,
        `Cannot open ${dataDir}: this process already has another event store directory open, and ` +
          'the embedded engine allows one per process. Close that store first.',
        { cause: error },
      );
    }
    // chDB only says "Failed to create connection"; the lock failure itself goes to stderr.
    // ClickHouse writes its pid into <dir>/status and holds a lock on that file while it runs.
    const holder = livePidHoldingStatusFile(dataDir);
    if (holder !== undefined) throw EventStoreError.dataDirLocked(dataDir, holder, error);
    throw new EventStoreError(
      EventStoreErrorCode.Unavailable,
      `Cannot open the event store directory ${dataDir}: ${message}`,
      { cause: error },
    );
  }
}

/** The pid in `<dir>/status` if it is a live process other than this one. */
function livePidHoldingStatusFile(dataDir: string): number | undefined {
  let status: string;
  try {
    status = readFileSync(join(dataDir, 'status'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(status)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: the process exists but belongs to another user — still the holder.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

function mapChdbError(error: unknown, purpose: StatementPurpose): EventStoreError {
  if (error instanceof EventStoreError) return error;
  const e = (
    typeof error === 'object' && error !== null ? error : { message: String(error) }
  ) as ChdbErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (e.code === 'CHDB_TIMEOUT' || e.code === 'CHDB_ABORT') {
    return new EventStoreError(
      EventStoreErrorCode.Timeout,
      `The statement did not finish in time: ${message}`,
      {
        cause: error,
        retryable: purpose !== 'read_only_query',
      },
    );
  }
  if (e.code === 'CHDB_CLOSED') return EventStoreError.closed();
  const clickhouseCode =
    typeof e.clickhouseCode === 'number' ? e.clickhouseCode : parseClickHouseCode(message);
  if (clickhouseCode === undefined && e.code === 'CHDB_BIND') {
    return new EventStoreError(
      EventStoreErrorCode.InvalidInput,
      `A query parameter is invalid: ${message}`,
      {
        cause: error,
      },
    );
  }
  if (clickhouseCode === undefined) {
    // Not an engine answer (a native failure): report it as such rather than guess.
    return new EventStoreError(
      EventStoreErrorCode.Unavailable,
      `The embedded engine failed: ${message}`,
      {
        cause: error,
      },
    );
  }
  return toEventStoreError({ message, clickhouseCode, cause: error }, purpose);
}
