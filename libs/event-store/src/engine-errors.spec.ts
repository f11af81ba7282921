import { describe, expect, it } from 'vitest';
import { cleanClickHouseMessage, parseClickHouseCode, toEventStoreError } from './engine-errors.js';

describe('cleanClickHouseMessage', () => {
  it('strips the code, exception prefix and version, however often they are nested', () => {
    expect(
      cleanClickHouseMessage(
        "Code: 164. DB::Exception: Code: 164. DB::Exception: Cannot modify 'limit' setting in readonly mode. (READONLY) (version 26.7.2.1). (READONLY)",
      ),
    ).toBe("Cannot modify 'limit' setting in readonly mode. (READONLY). (READONLY)");
    expect(
      cleanClickHouseMessage(
        'Unknown table expression identifier (UNKNOWN_TABLE) (version 24.8.1.1)',
      ),
    ).toBe('Unknown table expression identifier (UNKNOWN_TABLE)');
  });

  it('parses the numeric code', () => {
    expect(parseClickHouseCode('Code: 62. DB::Exception: Syntax error')).toBe(62);
    expect(parseClickHouseCode('connect ECONNREFUSED 127.0.0.1:8123')).toBeUndefined();
  });
});

describe('toEventStoreError', () => {
  const failure = (
    clickhouseCode: number | undefined,
    message = 'Code: 1. DB::Exception: boom',
  ) => ({
    message,
    clickhouseCode,
    cause: new Error(message),
  });

  it('maps a refused write in a read-only query to not_read_only', () => {
    expect(toEventStoreError(failure(164), 'read_only_query')).toMatchObject({
      code: 'not_read_only',
      clickhouseCode: 164,
    });
    expect(toEventStoreError(failure(164), 'write')).toMatchObject({ code: 'query_failed' });
  });

  it('maps timeouts, transient failures and credentials', () => {
    expect(toEventStoreError(failure(159), 'read_only_query')).toMatchObject({
      code: 'timeout',
      retryable: false,
    });
    expect(toEventStoreError(failure(159), 'write')).toMatchObject({
      code: 'timeout',
      retryable: true,
    });
    expect(toEventStoreError(failure(252), 'write')).toMatchObject({
      code: 'query_failed',
      retryable: true,
    });
    expect(toEventStoreError(failure(516), 'read')).toMatchObject({
      code: 'unavailable',
      retryable: false,
    });
    expect(toEventStoreError(failure(undefined, 'connect ECONNREFUSED'), 'write')).toMatchObject({
      code: 'unavailable',
      retryable: true,
    });
  });

  it('keeps the engine message and the cause', () => {
    const error = toEventStoreError(
      failure(62, 'Code: 62. DB::Exception: Syntax error at 7'),
      'read',
    );
    expect(error).toMatchObject({ code: 'query_failed', retryable: false, clickhouseCode: 62 });
    expect(error.message).toBe('ClickHouse error 62: Syntax error at 7');
    expect(error.cause).toBeInstanceOf(Error);
    expect(toEventStoreError(failure(62), 'migration')).toMatchObject({ code: 'migration_failed' });
  });
});
