import { z } from 'zod';
import {
  AtRow,
  CheckpointHeadRow,
  CheckpointRow,
  EventDigestRow,
  EventRefRow,
  toCheckpointLine,
  type Checkpoint,
  type CheckpointHead,
  type DigestEventsOptions,
  type EventDigests,
  type EventRef,
} from './checkpoint.js';
import type { Driver, QueryResult } from './driver.js';
import {
  checkEventRow,
  EVENT_COLUMNS,
  toInsertLine,
  toClickHouseDateTime64,
  toSafeInteger,
  toStoredEvent,
  type EventRow,
  type StoredEvent,
} from './event-row.js';
import type {
  EventStore,
  InsertEventsOptions,
  MigrateResult,
  ReadOnlyQueryOptions,
  ReadOnlyQueryResult,
  TimelineOptions,
} from './event-store.js';
import { EventStoreError, EventStoreErrorCode } from './event-store.errors.js';
import { findMigrationsDir, loadMigrations, planMigrations } from './migrations.js';
import { CHECKPOINT_COLUMNS, SQL } from './queries.js';
import { toReadOnlyStatement } from './sql-text.js';

/** Printable ASCII: the token travels in a URL (server) or a SETTINGS literal (chDB). */
const DeduplicationToken = z.string().regex(/^[\x21-\x7e]{1,256}$/, {
  error: 'must be 1-256 printable ASCII characters without spaces',
});

const Limit = (max: number) => z.int().min(1).max(max);

const AppliedMigrationRow = z.object({
  version: z.unknown().transform((value) => toSafeInteger(value, 'version')),
  name: z.string(),
  checksum: z.string(),
});

/** Ids per findExistingEventIds statement: keeps each request's parameters to ~100 KB. */
const EXISTING_IDS_CHUNK = 4_000;

/** DateTime64's last instant: "no upper bound" for a time parameter. */
const END_OF_TIME = '2299-12-31 23:59:59.999999';
/** Its first: "no lower bound". */
const START_OF_TIME = '1900-01-01 00:00:00.000000';

const READ_ONLY_DEFAULTS = { maxRows: 1_000, timeoutMs: 30_000 } as const;
const READ_ONLY_MAX = { maxRows: 100_000, timeoutMs: 600_000 } as const;
const TIMELINE_DEFAULT_LIMIT = 10_000;
const TIMELINE_MAX_LIMIT = 1_000_000;

/**
 * The {@link EventStore} on top of a {@link Driver}: all the SQL, validation and conversions live
 * here once, whichever engine runs them.
 */
export class ClickHouseEventStore implements EventStore {
  readonly #driver: Driver;
  readonly #migrationsDir: string | undefined;
  #closed = false;

  constructor(driver: Driver, options: { migrationsDir?: string | undefined } = {}) {
    this.#driver = driver;
    this.#migrationsDir = options.migrationsDir;
  }

  get kind(): 'embedded' | 'server' {
    return this.#driver.kind;
  }

  async migrate(): Promise<MigrateResult> {
    const driver = this.#open();
    const migrations = loadMigrations(this.#migrationsDir ?? findMigrationsDir());
    await asMigrationStep('schema_migrations', () => driver.command(SQL.createMigrationsTable));
    const recorded = await driver.query(SQL.selectAppliedMigrations);
    const plan = planMigrations(migrations, parseRows(recorded, AppliedMigrationRow));
    for (const migration of plan.pending) {
      for (const [index, statement] of migration.statements.entries()) {
        await asMigrationStep(`${migration.id}, statement ${index + 1}`, () =>
          driver.command(statement),
        );
      }
      await asMigrationStep(`${migration.id} (recording it)`, () =>
        driver.command(SQL.recordMigration, {
          version: migration.version,
          name: migration.id,
          checksum: migration.checksum,
        }),
      );
    }
    return {
      applied: plan.pending.map((migration) => migration.id),
      alreadyApplied: plan.alreadyApplied.map((migration) => migration.id),
    };
  }

  async insertEvents(rows: readonly EventRow[], options: InsertEventsOptions): Promise<void> {
    const driver = this.#open();
    const token = DeduplicationToken.safeParse(options.deduplicationToken);
    if (!token.success) {
      throw invalidInput(`deduplicationToken ${z.prettifyError(token.error)}`, token.error);
    }
    if (rows.length === 0) return;
    const lines = rows.map((row, index) => {
      try {
        return toInsertLine(checkEventRow(row));
      } catch (error) {
        // Built here, not before: a string per row would be garbage on the hot path.
        const where = `row ${index}${typeof row.event_id === 'string' ? ` (event_id ${row.event_id})` : ''}`;
        throw invalidInput(
          `${where}: ${error instanceof Error ? error.message : String(error)}`,
          error,
        );
      }
    });
    await driver.insertRows({
      table: 'events',
      columns: EVENT_COLUMNS,
      body: lines.join('\n'),
      settings: {
        // Explicit, because a server's user profile may turn either off: deduplication by token
        // is the synchronous insert's (an async insert would acknowledge before it is written).
        insert_deduplicate: 1,
        async_insert: 0,
        insert_deduplication_token: token.data,
      },
    });
  }

  async findExistingEventIds(env: string, eventIds: readonly string[]): Promise<Set<string>> {
    const driver = this.#open();
    const unique = [...new Set(eventIds)];
    const found = new Set<string>();
    for (let start = 0; start < unique.length; start += EXISTING_IDS_CHUNK) {
      const chunk = unique.slice(start, start + EXISTING_IDS_CHUNK);
      const result = await driver.query(SQL.existingEventIds, { env, event_ids: chunk });
      for (const row of result.rows) {
        if (typeof row.event_id === 'string') found.add(row.event_id);
      }
    }
    return found;
  }

  async timeline(
    env: string,
    runId: string,
    options: TimelineOptions = {},
  ): Promise<StoredEvent[]> {
    const driver = this.#open();
    const limit = parseOption(
      'limit',
      options.limit ?? TIMELINE_DEFAULT_LIMIT,
      Limit(TIMELINE_MAX_LIMIT),
    );
    const result = await driver.query(SQL.timeline, { env, run_id: runId, limit });
    return result.rows.map(toStoredEvent);
  }

  async readOnlyQuery(
    sql: string,
    params: Record<string, unknown> = {},
    options: ReadOnlyQueryOptions = {},
  ): Promise<ReadOnlyQueryResult> {
    const driver = this.#open();
    const statement = toReadOnlyStatement(sql);
    const maxRows = parseOption(
      'maxRows',
      options.maxRows ?? READ_ONLY_DEFAULTS.maxRows,
      Limit(READ_ONLY_MAX.maxRows),
    );
    const timeoutMs = parseOption(
      'timeoutMs',
      options.timeoutMs ?? READ_ONLY_DEFAULTS.timeoutMs,
      Limit(READ_ONLY_MAX.timeoutMs),
    );
    const result = await driver.queryReadOnly(statement, params, { maxRows, timeoutMs });
    return {
      columns: result.columns,
      rows: result.rows.slice(0, maxRows),
      // The engine was asked for maxRows + 1 rows: getting them means there were more.
      truncated: result.rows.length > maxRows,
    };
  }

  async digestEvents(
    eventIds: readonly string[],
    options: DigestEventsOptions = {},
  ): Promise<EventDigests> {
    const driver = this.#open();
    const until = options.until === undefined ? END_OF_TIME : toClickHouseDateTime64(options.until);
    const unique = [...new Set(eventIds)];
    let at: string | undefined;
    const rows = [];
    // Chunked like findExistingEventIds. `at` is the first chunk's: every row the caller means was
    // stored before that statement started.
    for (let start = 0; start < unique.length; start += EXISTING_IDS_CHUNK) {
      const result = await driver.query(SQL.eventDigests, {
        env: options.env ?? '',
        event_ids: unique.slice(start, start + EXISTING_IDS_CHUNK),
        until,
      });
      const chunk = parseRows(result, EventDigestRow.extend({ at: AtRow.shape.at }));
      for (const { at: chunkAt, ...row } of chunk) {
        at ??= chunkAt;
        rows.push(row);
      }
    }
    return { at: at ?? (await this.now()), rows };
  }

  async insertCheckpoint(checkpoint: Checkpoint): Promise<void> {
    const driver = this.#open();
    await driver.insertRows({
      table: 'checkpoints',
      columns: CHECKPOINT_COLUMNS,
      body: toCheckpointLine(checkpoint),
      settings: { async_insert: 0 },
    });
  }

  async lastCheckpoint(env: string): Promise<CheckpointHead | undefined> {
    const result = await this.#open().query(SQL.lastCheckpoint, { env });
    return parseRows(result, CheckpointHeadRow)[0];
  }

  async readCheckpoints(
    env: string,
    page: { since?: string; offset: number; limit: number },
  ): Promise<Checkpoint[]> {
    const driver = this.#open();
    const result = await driver.query(SQL.checkpoints, {
      env,
      since: page.since === undefined ? START_OF_TIME : toClickHouseDateTime64(page.since),
      offset: parseOption('offset', page.offset, z.int().min(0)),
      limit: parseOption('limit', page.limit, Limit(10_000)),
    });
    return parseRows(result, CheckpointRow);
  }

  async findUncoveredEvents(
    env: string,
    window: { since?: string; until: string; limit: number },
  ): Promise<EventRef[]> {
    const driver = this.#open();
    const result = await driver.query(SQL.uncoveredEvents, {
      env,
      since: window.since === undefined ? START_OF_TIME : toClickHouseDateTime64(window.since),
      until: toClickHouseDateTime64(window.until),
      limit: parseOption('limit', window.limit, Limit(100_000)),
    });
    return parseRows(result, EventRefRow);
  }

  async now(): Promise<string> {
    const result = await this.#open().query(SQL.now);
    const [row] = parseRows(result, AtRow);
    if (row === undefined) {
      throw new EventStoreError(EventStoreErrorCode.InvalidResult, 'now64() returned no row');
    }
    return row.at;
  }

  async count(env?: string): Promise<number> {
    const driver = this.#open();
    const result =
      env === undefined
        ? await driver.query(SQL.countEvents)
        : await driver.query(SQL.countEventsInEnv, { env });
    return toSafeInteger(result.rows[0]?.n, 'count()');
  }

  async ping(): Promise<void> {
    await this.#open().ping();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#driver.close();
  }

  #open(): Driver {
    if (this.#closed) throw EventStoreError.closed();
    return this.#driver;
  }
}

/** Runs one step of a migration, naming the step in the error when it fails. */
async function asMigrationStep(step: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (error instanceof EventStoreError && error.code === EventStoreErrorCode.QueryFailed) {
      throw new EventStoreError(
        EventStoreErrorCode.MigrationFailed,
        `Migration ${step} failed: ${error.message}`,
        {
          cause: error,
          retryable: error.retryable,
          clickhouseCode: error.clickhouseCode,
        },
      );
    }
    throw error;
  }
}

function parseRows<T extends z.ZodType>(result: QueryResult, schema: T): z.output<T>[] {
  return result.rows.map((row) => {
    const parsed = schema.safeParse(row);
    if (!parsed.success) {
      throw new EventStoreError(
        EventStoreErrorCode.InvalidResult,
        `Unexpected row from ClickHouse: ${z.prettifyError(parsed.error)}`,
        { cause: parsed.error },
      );
    }
    return parsed.data;
  });
}

function parseOption(name: string, value: unknown, schema: z.ZodType<number>): number {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput(`${name} ${z.prettifyError(parsed.error)}`, parsed.error);
  return parsed.data;
}

function invalidInput(message: string, cause: unknown): EventStoreError {
  return new EventStoreError(EventStoreErrorCode.InvalidInput, message, { cause });
}
