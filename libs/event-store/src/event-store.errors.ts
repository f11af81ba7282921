/**
 * Why an event-store operation failed. Stable strings: callers switch on them, logs and CLI
 * messages carry them.
 */
export const EventStoreErrorCode = {
  /** Another process (normally the trace collector) has the embedded data directory open. */
  DataDirLocked: 'data_dir_locked',
  /** This process already has a different embedded data directory open (chDB allows one). */
  DataDirConflict: 'data_dir_conflict',
  /** The engine could not be reached or opened (server down, bad URL, unusable directory). */
  Unavailable: 'unavailable',
  /** `readOnlyQuery` was given something other than one read statement. */
  NotReadOnly: 'not_read_only',
  /** ClickHouse rejected or failed a statement (bad SQL, unknown column, limits, …). */
  QueryFailed: 'query_failed',
  /** A statement ran past its time limit. */
  Timeout: 'timeout',
  /** Rows or options handed to the store are invalid; nothing was sent to the engine. */
  InvalidInput: 'invalid_input',
  /** The engine returned something the store cannot interpret (a schema or version mismatch). */
  InvalidResult: 'invalid_result',
  /** The migration files cannot be found or read, or a migration statement failed. */
  MigrationFailed: 'migration_failed',
  /** An applied migration file was edited: its checksum differs from the recorded one. */
  MigrationChecksumMismatch: 'migration_checksum_mismatch',
  /** The store was used after `close()`. */
  Closed: 'closed',
} as const;

/** The union of {@link EventStoreErrorCode} values. */
export type EventStoreErrorCode = (typeof EventStoreErrorCode)[keyof typeof EventStoreErrorCode];

/** Details that only some failures have. */
export interface EventStoreErrorDetails {
  /** Whether the same call may succeed if retried later (defaults to false). */
  retryable?: boolean;
  /** The error that caused this one (engine or driver error). */
  cause?: unknown;
  /** ClickHouse's numeric exception code (`62` for a syntax error), when the engine reported one. */
  clickhouseCode?: number;
}

/** The one error type the event store throws. */
export class EventStoreError extends Error {
  override readonly name = 'EventStoreError';
  /** Machine-readable reason. */
  readonly code: EventStoreErrorCode;
  /** Whether retrying the same call later may succeed. */
  readonly retryable: boolean;
  /** ClickHouse's numeric exception code, when the engine reported one. */
  readonly clickhouseCode: number | undefined;

  constructor(code: EventStoreErrorCode, message: string, details: EventStoreErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = details.retryable ?? false;
    this.clickhouseCode = details.clickhouseCode;
  }

  /** The embedded data directory is held by another process. */
  static dataDirLocked(dataDir: string, holderPid: number | undefined, cause?: unknown) {
    const holder =
      holderPid === undefined ? 'another process' : `another process (pid ${holderPid})`;
    return new EventStoreError(
      EventStoreErrorCode.DataDirLocked,
      `The event store directory ${dataDir} is in use by ${holder}. The embedded ClickHouse engine ` +
        'allows one process per directory, and that process is normally the Warden trace collector ' +
        '(`warden up`). Stop it, or go through it, or point this command at another data directory.',
      { retryable: true, cause },
    );
  }

  /** `readOnlyQuery` refused a statement before (or after) it reached the engine. */
  static notReadOnly(reason: string, cause?: unknown, clickhouseCode?: number) {
    return new EventStoreError(
      EventStoreErrorCode.NotReadOnly,
      `Only reads are allowed here: exactly one SELECT, WITH … SELECT, SHOW, DESCRIBE or EXPLAIN statement. ${reason}`,
      { cause, clickhouseCode },
    );
  }

  /** The store was used after `close()`. */
  static closed() {
    return new EventStoreError(EventStoreErrorCode.Closed, 'The event store is closed.');
  }
}

/** Whether `value` is an {@link EventStoreError}, optionally with the given code. */
export function isEventStoreError(
  value: unknown,
  code?: EventStoreErrorCode,
): value is EventStoreError {
  return value instanceof EventStoreError && (code === undefined || value.code === code);
}
