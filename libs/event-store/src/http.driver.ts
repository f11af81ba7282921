import { Readable } from 'node:stream';
import {
  ClickHouseError,
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ClickHouseSettings,
} from '@clickhouse/client';
import { toEventStoreError, type StatementPurpose } from './engine-errors.js';
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

/** How to reach a ClickHouse server. */
export interface HttpDriverOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  database?: string | undefined;
  /** Timeout of the store's own requests (ms, default 60 s); read-only queries have their own. */
  requestTimeoutMs?: number | undefined;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Above the longest read-only timeout the store accepts (10 min), so the signal always decides. */
const READ_ONLY_TIMEOUT_CEILING_MS = 11 * 60_000;

interface JsonFormatResult {
  meta?: { name: string; type: string }[];
  data: Record<string, unknown>[];
}

/**
 * The server engine: a ClickHouse server over HTTP through `@clickhouse/client`. Per-request
 * settings travel as URL parameters, so unlike a session they end with the request.
 */
export class HttpDriver implements Driver {
  readonly kind = 'server';
  readonly #client: ClickHouseClient;
  readonly #requestTimeoutMs: number;

  private constructor(client: ClickHouseClient, requestTimeoutMs: number) {
    this.#client = client;
    this.#requestTimeoutMs = requestTimeoutMs;
  }

  /**
   * Connects and checks the credentials with a `SELECT 1` (the HTTP `/ping` endpoint answers
   * without checking them).
   *
   * @throws EventStoreError `unavailable`
   */
  static async open(options: HttpDriverOptions): Promise<HttpDriver> {
    const client = createClient({
      url: options.url,
      username: options.username,
      password: options.password,
      database: options.database,
      application: 'warden-event-store',
      // The client's timeout is one value for every request; each request gets its own through an
      // abort signal instead (the store's requests: requestTimeoutMs; a read-only query: its own).
      request_timeout: READ_ONLY_TIMEOUT_CEILING_MS,
      // findExistingEventIds binds thousands of ids: past ~4 KB the client moves bound parameters
      // into a multipart body instead of an over-long URL.
      use_multipart_params_auto: true,
      // The client logs every server error at ERROR level; the store reports them as
      // EventStoreError instead, once, where the caller decides what to do.
      log: { level: ClickHouseLogLevel.OFF },
    });
    const driver = new HttpDriver(client, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    try {
      await driver.ping();
    } catch (error) {
      await client.close();
      throw error;
    }
    return driver;
  }

  /**
   * Wraps a client built elsewhere. Internal: the tests use it to run this driver's code over
   * `chdb/connection` when no server is at hand.
   */
  static fromClient(client: ClickHouseClient): HttpDriver {
    return new HttpDriver(client, DEFAULT_REQUEST_TIMEOUT_MS);
  }

  async query(sql: string, params?: QueryParams): Promise<QueryResult> {
    try {
      const resultSet = await this.#client.query({
        query: sql,
        format: 'JSON',
        query_params: params,
      });
      return toQueryResult(await resultSet.json<Record<string, unknown>>());
    } catch (error) {
      throw mapHttpError(error, 'read');
    }
  }

  async command(sql: string, params?: QueryParams): Promise<void> {
    try {
      await this.#client.command({
        query: sql,
        query_params: params,
        abort_signal: this.#deadline(),
      });
    } catch (error) {
      throw mapHttpError(error, 'write');
    }
  }

  async insertRows(insert: RowsInsert): Promise<void> {
    try {
      // `exec` rather than `insert`: the body is already serialised, and `insert` would want
      // objects to stringify again. Settings (the deduplication token) are URL parameters.
      const result = await this.#client.exec({
        query: `INSERT INTO ${insert.table} (${insert.columns.join(', ')}) FORMAT ${INSERT_FORMAT}`,
        values: Readable.from([Buffer.from(insert.body, 'utf8')], { objectMode: false }),
        clickhouse_settings: insert.settings,
      });
      // The response must be consumed to release the socket.
      for await (const _chunk of result.stream) {
        // An INSERT answers with an empty body.
      }
    } catch (error) {
      throw mapHttpError(error, 'write');
    }
  }

  async queryReadOnly(
    sql: string,
    params: QueryParams,
    limits: ReadOnlyLimits,
  ): Promise<QueryResult> {
    // The settings go in the request's URL. The server checks a request's settings against the
    // user's *current* readonly value before applying them, so limit & co. are accepted alongside
    // readonly=1, while a SETTINGS clause inside the statement is then refused (READONLY).
    const settings = Object.fromEntries(readOnlySettings(limits)) as ClickHouseSettings;
    try {
      const resultSet = await this.#client.query({
        query: sql,
        format: 'JSON',
        query_params: params,
        clickhouse_settings: settings,
        abort_signal: AbortSignal.timeout(limits.timeoutMs + 2_000),
      });
      return toQueryResult(await resultSet.json<Record<string, unknown>>());
    } catch (error) {
      throw mapHttpError(error, 'read_only_query');
    }
  }

  async ping(): Promise<void> {
    const result = await this.#client.ping({ select: true });
    if (!result.success) throw mapHttpError(result.error, 'read');
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  #deadline(): AbortSignal {
    return AbortSignal.timeout(this.#requestTimeoutMs);
  }
}

function toQueryResult(json: unknown): QueryResult {
  const result = json as JsonFormatResult;
  return {
    columns: (result.meta ?? []).map(({ name, type }) => ({ name, type })),
    rows: result.data,
  };
}

function mapHttpError(error: unknown, purpose: StatementPurpose): EventStoreError {
  if (error instanceof EventStoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // ClickHouseError carries the server's numeric code as a string. Matched by shape, not only by
  // class: @clickhouse/client bundles its own copy of client-common, so an error built by another
  // copy (a custom connection) fails instanceof. Network errors have codes like ECONNREFUSED.
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof ClickHouseError || (typeof code === 'string' && /^\d+$/.test(code))) {
    return toEventStoreError({ message, clickhouseCode: Number(code), cause: error }, purpose);
  }
  if (
    /timeout error|aborted/i.test(message) ||
    (error instanceof Error && error.name === 'TimeoutError')
  ) {
    return new EventStoreError(
      EventStoreErrorCode.Timeout,
      `ClickHouse did not answer in time: ${message}`,
      {
        cause: error,
        retryable: purpose !== 'read_only_query',
      },
    );
  }
  // Connection refused, DNS, TLS, a proxy's HTML error page: the server is not reachable as such.
  return toEventStoreError({ message, clickhouseCode: undefined, cause: error }, purpose);
}
