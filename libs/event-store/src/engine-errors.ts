import { EventStoreError, EventStoreErrorCode } from './event-store.errors.js';

/**
 * ClickHouse exception codes the store treats specially. Both engines report the same numbers:
 * chDB as `clickhouseCode` (and in the message), the HTTP client as the string `code`.
 */
const ClickHouseCode = {
  TimeoutExceeded: 159,
  Readonly: 164,
  TooManySimultaneousQueries: 202,
  SocketTimeout: 209,
  NetworkError: 210,
  NoZooKeeper: 225,
  Aborted: 236,
  MemoryLimitExceeded: 241,
  TableIsReadOnly: 242,
  TooManyParts: 252,
  QueryWasCancelled: 394,
  UnknownUser: 192,
  RequiredPassword: 194,
  AuthenticationFailed: 516,
  KeeperException: 999,
} as const;

/** Failures that come and go with load or a replica's health: the same statement may succeed later. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  ClickHouseCode.TooManySimultaneousQueries,
  ClickHouseCode.SocketTimeout,
  ClickHouseCode.NetworkError,
  ClickHouseCode.NoZooKeeper,
  ClickHouseCode.Aborted,
  ClickHouseCode.MemoryLimitExceeded,
  ClickHouseCode.TableIsReadOnly,
  ClickHouseCode.TooManyParts,
  ClickHouseCode.QueryWasCancelled,
  ClickHouseCode.KeeperException,
]);

const CREDENTIAL_CODES: ReadonlySet<number> = new Set([
  ClickHouseCode.UnknownUser,
  ClickHouseCode.RequiredPassword,
  ClickHouseCode.AuthenticationFailed,
]);

/** What a driver knows about an engine failure, whichever engine it came from. */
export interface EngineFailure {
  /** The engine's message, possibly still wrapped in `Code: N. DB::Exception: … (TYPE)`. */
  message: string;
  /** ClickHouse's exception code, if the failure came from the engine (not from the network). */
  clickhouseCode: number | undefined;
  /** The original error, kept as `cause`. */
  cause: unknown;
}

/** What the statement was for: the same ClickHouse code means different things per purpose. */
export type StatementPurpose = 'read' | 'read_only_query' | 'write' | 'migration';

/**
 * Turns an engine failure into an {@link EventStoreError}. ClickHouse's numeric code decides the
 * store's code and whether a retry may help; the engine's text stays in the message because it is
 * what a person needs to fix a query (it names the column, the position, the limit).
 */
export function toEventStoreError(
  failure: EngineFailure,
  purpose: StatementPurpose,
): EventStoreError {
  const code = failure.clickhouseCode;
  const text = cleanClickHouseMessage(failure.message);
  const details = { cause: failure.cause, clickhouseCode: code };
  if (code === undefined) {
    return new EventStoreError(
      EventStoreErrorCode.Unavailable,
      `ClickHouse is unavailable: ${text}`,
      {
        ...details,
        retryable: true,
      },
    );
  }
  if (code === ClickHouseCode.Readonly && purpose === 'read_only_query') {
    // The engine's own read-only guard (readonly=1) caught what the text check let through.
    return EventStoreError.notReadOnly(`ClickHouse refused it: ${text}`, failure.cause, code);
  }
  if (code === ClickHouseCode.TimeoutExceeded) {
    return new EventStoreError(
      EventStoreErrorCode.Timeout,
      `ClickHouse stopped the statement: ${text}`,
      {
        ...details,
        retryable: purpose !== 'read_only_query',
      },
    );
  }
  if (CREDENTIAL_CODES.has(code)) {
    return new EventStoreError(
      EventStoreErrorCode.Unavailable,
      `ClickHouse refused the credentials: ${text}`,
      details,
    );
  }
  const prefix = purpose === 'migration' ? 'A migration statement failed' : 'ClickHouse error';
  return new EventStoreError(
    purpose === 'migration' ? EventStoreErrorCode.MigrationFailed : EventStoreErrorCode.QueryFailed,
    `${prefix} ${code}: ${text}`,
    { ...details, retryable: TRANSIENT_CODES.has(code) },
  );
}

/**
 * Strips the envelope ClickHouse puts around its messages (`Code: 62. DB::Exception: … (version
 * 26.7.2.1)`), sometimes twice when an error is re-thrown inside the engine, so the reader sees the
 * sentence that matters.
 */
export function cleanClickHouseMessage(message: string): string {
  let text = message.trim();
  for (;;) {
    const next = text
      .replace(/^Code:\s*\d+\.\s*/, '')
      .replace(/^DB::Exception:\s*/, '')
      .replace(/\s*\(version [^)]*\)/g, '')
      .trim();
    if (next === text) return text;
    text = next;
  }
}

/** The numeric code in a `Code: 62. DB::Exception: …` message, if any. */
export function parseClickHouseCode(message: string): number | undefined {
  const match = /^\s*Code:\s*(\d+)\./.exec(message);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
