import { describe, expect, it } from 'vitest';
import {
  checkEventRow,
  EVENT_COLUMNS,
  EventRow,
  INT_MINIMUMS,
  TEXT_LIMITS,
  fromClickHouseDateTime64,
  toClickHouseDateTime64,
  toInsertLine,
  toSafeInteger,
  toStoredEvent,
} from './event-row.js';
import { EventStoreErrorCode, isEventStoreError } from './event-store.errors.js';

const minimal = {
  event_id: '01JDX0000000000000000000AB',
  type: 'intent.proposed',
  env: 'dev',
  occurred_at: '2026-11-26T16:20:05.123456Z',
  producer_service: 'sdk',
  data: '{"tool":"zendesk.update_ticket"}',
};

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isEventStoreError(error) ? error.code : `not an EventStoreError: ${String(error)}`;
  }
}

describe('toClickHouseDateTime64', () => {
  it.each([
    ['2026-11-26T16:20:05.123456Z', '2026-11-26 16:20:05.123456'],
    ['2026-11-26T16:20:05Z', '2026-11-26 16:20:05.000000'],
    ['2026-11-26T16:20:05.1Z', '2026-11-26 16:20:05.100000'],
    // Nanoseconds are truncated: the column holds microseconds.
    ['2026-11-26T16:20:05.123456789Z', '2026-11-26 16:20:05.123456'],
    ['2026-11-26t16:20:05.000001z', '2026-11-26 16:20:05.000001'],
    ['2026-11-26 16:20:05.000001Z', '2026-11-26 16:20:05.000001'],
    // Offsets are shifted to UTC, across a day and a year boundary, keeping the microseconds.
    ['2026-11-26T18:20:05.999999+02:00', '2026-11-26 16:20:05.999999'],
    ['2026-12-31T23:30:00.000001-01:00', '2027-01-01 00:30:00.000001'],
    ['2026-01-01T00:15:00.5+0530', '2025-12-31 18:45:00.500000'],
    ['2028-02-29T12:00:00Z', '2028-02-29 12:00:00.000000'],
    ['2000-02-29T12:00:00Z', '2000-02-29 12:00:00.000000'],
    ['2026-11-30T00:00:00Z', '2026-11-30 00:00:00.000000'],
  ])('converts %s to %s', (input, expected) => {
    expect(toClickHouseDateTime64(input)).toBe(expected);
  });

  it.each([
    ['2026-02-30T00:00:00Z'],
    ['2026-02-29T00:00:00Z'],
    ['2100-02-29T00:00:00Z'],
    ['2026-11-31T00:00:00Z'],
    ['2026-11-00T00:00:00Z'],
    ['1900-01-01T00:30:00+01:00'],
    ['2026-13-01T00:00:00Z'],
    ['2026-11-26T24:00:00Z'],
    ['2026-11-26T16:60:00Z'],
    ['2026-11-26T16:20:60Z'],
    ['2026-11-26T16:20:05'],
    ['2026-11-26'],
    ['1899-12-31T23:59:59Z'],
    ['2300-01-01T00:00:00Z'],
    ['26/11/2026 16:20'],
    [''],
  ])('refuses %j', (input) => {
    expect(codeOf(() => toClickHouseDateTime64(input))).toBe(EventStoreErrorCode.InvalidInput);
  });
});

describe('fromClickHouseDateTime64', () => {
  it('turns ClickHouse output into RFC 3339 UTC with six fractional digits', () => {
    expect(fromClickHouseDateTime64('2026-11-26 16:20:05.123456')).toBe(
      '2026-11-26T16:20:05.123456Z',
    );
    expect(fromClickHouseDateTime64('2026-11-26 16:20:05')).toBe('2026-11-26T16:20:05.000000Z');
    expect(fromClickHouseDateTime64('2026-11-26T16:20:05.123456Z')).toBe(
      '2026-11-26T16:20:05.123456Z',
    );
  });

  it('round-trips with toClickHouseDateTime64', () => {
    const timestamp = '2026-11-26T16:20:05.000042Z';
    expect(fromClickHouseDateTime64(toClickHouseDateTime64(timestamp))).toBe(timestamp);
  });

  it.each([[1764174005], [null], ['yesterday']])('refuses %j', (value) => {
    expect(codeOf(() => fromClickHouseDateTime64(value))).toBe(EventStoreErrorCode.InvalidResult);
  });
});

describe('toSafeInteger', () => {
  it('accepts 64-bit integers as numbers, quoted strings or bigints', () => {
    expect(toSafeInteger(42, 'n')).toBe(42);
    expect(toSafeInteger('-42', 'n')).toBe(-42);
    expect(toSafeInteger('9007199254740991', 'n')).toBe(Number.MAX_SAFE_INTEGER);
    expect(toSafeInteger(7n, 'n')).toBe(7);
  });

  it.each([
    ['9007199254740993'],
    ['18446744073709551615'],
    [2 ** 53],
    [1.5],
    ['1e3'],
    [''],
    [null],
  ])('refuses %j rather than round it', (value) => {
    expect(codeOf(() => toSafeInteger(value, 'n'))).toBe(EventStoreErrorCode.InvalidResult);
  });
});

describe('EventRow', () => {
  it('fills the columns an event does not have with empty values', () => {
    expect(EventRow.parse(minimal)).toEqual({
      ...minimal,
      stream_seq: 0,
      producer_instance: '',
      producer_version: '',
      run_id: '',
      intent_id: '',
      agent_id: '',
      workflow: '',
      causation_id: '',
      correlation_id: '',
      tool: '',
      effect: '',
      status: '',
      stage: '',
      reason: '',
      cost_micro_usd: 0,
      latency_us: 0,
      sealed: '',
      redactions: [],
    });
  });

  it('refuses unknown fields, bad timestamps and unsafe integers', () => {
    expect(EventRow.safeParse({ ...minimal, extra: 1 }).success).toBe(false);
    expect(EventRow.safeParse({ ...minimal, occurred_at: '2026-11-26' }).success).toBe(false);
    expect(EventRow.safeParse({ ...minimal, stream_seq: 2 ** 53 }).success).toBe(false);
    expect(EventRow.safeParse({ ...minimal, latency_us: -1 }).success).toBe(false);
    expect(EventRow.safeParse({ ...minimal, event_id: '' }).success).toBe(false);
  });
});

describe('checkEventRow', () => {
  const complete = EventRow.parse(minimal);

  it('passes a complete valid row through untouched (the fast path)', () => {
    expect(checkEventRow(complete)).toBe(complete);
  });

  it('fills the defaults of a partial row through the schema', () => {
    expect(checkEventRow(minimal)).toEqual(complete);
  });

  it('explains what is wrong', () => {
    let error: unknown;
    try {
      checkEventRow({ ...complete, env: '' });
    } catch (caught) {
      error = caught;
    }
    expect(isEventStoreError(error, EventStoreErrorCode.InvalidInput)).toBe(true);
    expect((error as Error).message).toContain('env');
  });

  it('agrees with the EventRow schema on every boundary', () => {
    const variants: unknown[] = [null, 'row', [], { ...complete, extra: 'x' }];
    const set = (column: string, value: unknown) => variants.push({ ...complete, [column]: value });
    for (const [column, [min, max]] of Object.entries(TEXT_LIMITS)) {
      for (const length of [min - 1, min, min + 1, max - 1, max, max + 1, 300]) {
        if (length >= 0 && Number.isFinite(length)) set(column, 'x'.repeat(length));
      }
      set(column, 1);
      set(column, undefined);
    }
    for (const [column, min] of Object.entries(INT_MINIMUMS)) {
      for (const value of [
        min - 1,
        min,
        1.5,
        2 ** 53,
        Number.MAX_SAFE_INTEGER,
        '1',
        Number.NaN,
        undefined,
      ]) {
        set(column, value);
      }
    }
    for (const value of ['2026-11-26T16:20:05Z', '2026-11-26', 1, undefined])
      set('occurred_at', value);
    for (const value of [[], [''], ['x'.repeat(64)], ['x'.repeat(65)], [1], 'email', undefined]) {
      set('redactions', value);
    }
    expect(Object.keys(complete).sort()).toEqual(
      [
        ...Object.keys(TEXT_LIMITS),
        ...Object.keys(INT_MINIMUMS),
        'occurred_at',
        'redactions',
      ].sort(),
    );
    for (const variant of variants) {
      const expected = EventRow.safeParse(variant);
      if (expected.success) {
        expect(checkEventRow(variant), JSON.stringify(variant)).toEqual(expected.data);
      } else {
        expect(() => checkEventRow(variant), JSON.stringify(variant)).toThrow();
      }
    }
  });
});

describe('EVENT_COLUMNS', () => {
  it('lists every column of EventRow once', () => {
    expect([...EVENT_COLUMNS].sort()).toEqual(Object.keys(EventRow.shape).sort());
    expect(new Set(EVENT_COLUMNS).size).toBe(EVENT_COLUMNS.length);
  });
});

describe('toInsertLine', () => {
  it('writes every column once, in insert order, with occurred_at in ClickHouse form', () => {
    const line = toInsertLine(
      EventRow.parse({ ...minimal, redactions: ['email'], cost_micro_usd: -5 }),
    );
    const values = JSON.parse(line) as unknown[];
    expect(values).toHaveLength(EVENT_COLUMNS.length);
    const parsed = Object.fromEntries(EVENT_COLUMNS.map((column, i) => [column, values[i]]));
    expect(parsed).toMatchObject({
      occurred_at: '2026-11-26 16:20:05.123456',
      redactions: ['email'],
      cost_micro_usd: -5,
    });
    expect(line).not.toContain('\n');
  });
});

describe('toStoredEvent', () => {
  const stored = {
    ...EventRow.parse(minimal),
    occurred_at: '2026-11-26 16:20:05.123456',
    stream_seq: '12',
    cost_micro_usd: '-3',
    latency_us: 4,
    ingested_at: '2026-11-26 16:20:06.000001',
  };

  it('normalises 64-bit integers and timestamps, whatever the engine returned', () => {
    expect(toStoredEvent(stored)).toMatchObject({
      occurred_at: '2026-11-26T16:20:05.123456Z',
      ingested_at: '2026-11-26T16:20:06.000001Z',
      stream_seq: 12,
      cost_micro_usd: -3,
      latency_us: 4,
    });
  });

  it('reports a row of the wrong shape as invalid_result', () => {
    expect(codeOf(() => toStoredEvent({ ...stored, redactions: 'email' }))).toBe(
      EventStoreErrorCode.InvalidResult,
    );
    expect(codeOf(() => toStoredEvent({ ...stored, stream_seq: '18446744073709551615' }))).toBe(
      EventStoreErrorCode.InvalidResult,
    );
  });
});
