import { z } from 'zod';
import { EventStoreError, EventStoreErrorCode } from './event-store.errors.js';

/**
 * RFC 3339 as envelopes carry it (`2026-11-26T16:20:05.123456Z`), leniently: 0–9 fractional
 * digits, `Z` or a numeric offset, `T` or a space between date and time.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:?\d{2})$/;

/** What ClickHouse prints for a DateTime64(6) (`date_time_output_format = 'simple'`, the default). */
const CLICKHOUSE_DATETIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z?$/;

// DateTime64's range (ClickHouse docs): anything outside is stored clamped, i.e. silently wrong.
const MIN_YEAR = 1900;
const MAX_YEAR = 2299;

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/**
 * Converts an RFC 3339 timestamp to the text ClickHouse parses for a `DateTime64(6, 'UTC')` column
 * under every `date_time_input_format` (`2026-11-26 16:20:05.123456`): the value is shifted to UTC
 * and the fraction is kept to the microsecond, which `Date` cannot do (it stops at milliseconds).
 * Digits beyond the sixth are truncated: the column holds microseconds.
 *
 * @throws EventStoreError `invalid_input` when the text is not a valid timestamp in DateTime64's range.
 */
export function toClickHouseDateTime64(timestamp: string): string {
  const match = RFC3339.exec(timestamp);
  if (match === null) throw invalidTimestamp(timestamp);
  const [, y = '', mo = '', d = '', h = '', mi = '', s = '', fraction = '', zone = 'Z'] = match;
  const [year, month, day] = [Number(y), Number(mo), Number(d)];
  const valid =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    Number(h) <= 23 &&
    Number(mi) <= 59 &&
    Number(s) <= 59;
  if (!valid) throw invalidTimestamp(timestamp);
  const micros = fraction.padEnd(6, '0').slice(0, 6);
  if (zone === 'Z' || zone === 'z') {
    // The common case (every envelope): already UTC, so the digits are copied as they are.
    if (year < MIN_YEAR || year > MAX_YEAR) throw invalidTimestamp(timestamp);
    return `${y}-${mo}-${d} ${h}:${mi}:${s}.${micros}`;
  }
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  const utc = new Date(
    Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s)) -
      sign * offsetMinutes * 60_000,
  );
  // Date.UTC maps years 0-99 to 1900-1999; the range check below refuses those anyway.
  const utcYear = utc.getUTCFullYear();
  if (year < MIN_YEAR || utcYear < MIN_YEAR || utcYear > MAX_YEAR)
    throw invalidTimestamp(timestamp);
  return (
    `${pad(utcYear, 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())} ` +
    `${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}.${micros}`
  );
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Converts a DateTime64 value as ClickHouse returns it (`2026-11-26 16:20:05.123456`, always UTC
 * for our columns because they carry `'UTC'`) back to the envelope's RFC 3339 form with six
 * fractional digits (`2026-11-26T16:20:05.123456Z`). Also accepts the `iso` output format.
 *
 * @throws EventStoreError `invalid_result` for anything else.
 */
export function fromClickHouseDateTime64(value: unknown): string {
  const match = typeof value === 'string' ? CLICKHOUSE_DATETIME.exec(value) : null;
  if (match === null) {
    throw new EventStoreError(
      EventStoreErrorCode.InvalidResult,
      `Expected a DateTime64 from ClickHouse, got ${JSON.stringify(value)}`,
    );
  }
  const [, date, time, fraction = ''] = match;
  return `${date}T${time}.${fraction.padEnd(6, '0').slice(0, 6)}Z`;
}

/**
 * Normalises a 64-bit integer read from ClickHouse. JSON output carries Int64/UInt64 as numbers or
 * as strings depending on `output_format_json_quote_64bit_integers` (a server defaults to strings,
 * chDB to numbers), and a number past 2^53 has already lost digits in `JSON.parse`. The store's
 * queries ask for strings, and this accepts either but refuses anything a JS number cannot hold
 * exactly.
 *
 * @throws EventStoreError `invalid_result` when the value is not an integer in the safe range.
 */
export function toSafeInteger(value: unknown, column: string): number {
  let result: number | undefined;
  if (typeof value === 'number') result = value;
  else if (typeof value === 'bigint') result = Number(value);
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) result = Number(value);
  if (result === undefined || !Number.isSafeInteger(result)) {
    throw new EventStoreError(
      EventStoreErrorCode.InvalidResult,
      `Column ${column}: expected an integer within ±2^53 from ClickHouse, got ${JSON.stringify(
        typeof value === 'bigint' ? value.toString() : value,
      )}`,
    );
  }
  return result;
}

function invalidTimestamp(timestamp: string): EventStoreError {
  return new EventStoreError(
    EventStoreErrorCode.InvalidInput,
    `${JSON.stringify(timestamp)} is not an RFC 3339 timestamp between ${MIN_YEAR} and ${MAX_YEAR} ` +
      '(expected e.g. 2026-11-26T16:20:05.123456Z)',
  );
}

/**
 * Length limits of the text columns, [min, max] in UTF-16 code units. One table for both the zod
 * schema and the fast check in {@link checkEventRow}, so the two cannot disagree.
 */
export const TEXT_LIMITS = {
  event_id: [1, 128],
  type: [1, 128],
  env: [1, 64],
  producer_service: [1, 64],
  producer_instance: [0, 128],
  producer_version: [0, 64],
  run_id: [0, 128],
  intent_id: [0, 128],
  agent_id: [0, 128],
  workflow: [0, 128],
  causation_id: [0, 128],
  correlation_id: [0, 128],
  tool: [0, 256],
  effect: [0, 64],
  status: [0, 64],
  stage: [0, 64],
  reason: [0, 128],
  data: [0, Number.POSITIVE_INFINITY],
  sealed: [0, Number.POSITIVE_INFINITY],
} as const;

/** Smallest value of the integer columns (all must also be safe integers). */
export const INT_MINIMUMS = {
  stream_seq: 0,
  cost_micro_usd: Number.MIN_SAFE_INTEGER,
  latency_us: 0,
} as const;

/** Redaction kinds are short names (`email`, `card_number`). */
const REDACTION_KIND_LIMITS = [1, 64] as const;

function text(column: keyof typeof TEXT_LIMITS) {
  const [min, max] = TEXT_LIMITS[column];
  const schema = z.string().min(min);
  return max === Number.POSITIVE_INFINITY ? schema : schema.max(max);
}
const optionalText = (column: keyof typeof TEXT_LIMITS) => text(column).default('');
const int = (column: keyof typeof INT_MINIMUMS) => z.int().min(INT_MINIMUMS[column]).default(0);

/**
 * One row of the `events` table, as the trace collector writes it: the envelope flattened into
 * typed columns (snake_case, exactly the ClickHouse column names). Fields that do not apply to an
 * event are empty strings or zero, never null: ClickHouse columns here are not Nullable, which
 * keeps them cheap, and `''` reads the same in every view.
 *
 * Parse with this schema to fill the defaults; `insertEvents` checks every row again.
 */
export const EventRow = z.strictObject({
  /** The envelope's `event_id` (ULID): unique per event, and what deduplication keys on. */
  event_id: text('event_id'),
  /** Dotted event type, e.g. `policy.decided`. */
  type: text('type'),
  env: text('env'),
  /** RFC 3339 with microseconds, e.g. `2026-11-26T16:20:05.123456Z`. */
  // The shape only: the calendar (no 30 February) and the range are checked when the row is
  // serialised, which converts the timestamp anyway — checking here too would double the cost.
  occurred_at: z.string().regex(RFC3339, {
    error: 'must be an RFC 3339 timestamp, e.g. 2026-11-26T16:20:05.123456Z',
  }),
  /** JetStream stream sequence of the message, 0 when unknown. Breaks ties within a microsecond. */
  stream_seq: int('stream_seq'),
  /** The service that published the event (`policy-decision`, `sdk`, …). */
  producer_service: text('producer_service'),
  producer_instance: optionalText('producer_instance'),
  producer_version: optionalText('producer_version'),
  run_id: optionalText('run_id'),
  intent_id: optionalText('intent_id'),
  agent_id: optionalText('agent_id'),
  workflow: optionalText('workflow'),
  causation_id: optionalText('causation_id'),
  correlation_id: optionalText('correlation_id'),
  /** The tool (`zendesk.update_ticket`) of tool-call events. */
  tool: optionalText('tool'),
  /** `policy.decided`'s effect: `allow`, `deny`, `approval_required`. */
  effect: optionalText('effect'),
  /** `intent.resolved`'s status: `executed`, `failed`, `denied`, `rejected`, `in_doubt`. */
  status: optionalText('status'),
  /** The stage that resolved an intent: `identity`, `policy`, `budget`, `executor`, … */
  stage: optionalText('stage'),
  /** A snake_case reason code (`step_cap`, `token_expired`, …). */
  reason: optionalText('reason'),
  /** Cost in micro-USD: the reservation on `budget.reserved`, the booked cost on `budget.settled`. */
  cost_micro_usd: int('cost_micro_usd'),
  /** Latency in microseconds where the producer measured one (tool execution on `intent.resolved`). */
  latency_us: int('latency_us'),
  /** The event's `data`, redacted, as JSON text. */
  data: text('data'),
  /**
   * A sealed raw output (`intent.resolved.sealed_output` as JSON: AES-256-GCM under its run's key,
   * base64 fields), or empty.
   */
  sealed: optionalText('sealed'),
  /** The kinds of redaction applied to `data` (`email`, `card_number`, …). */
  redactions: z
    .array(z.string().min(REDACTION_KIND_LIMITS[0]).max(REDACTION_KIND_LIMITS[1]))
    .default([]),
});

/** A complete {@link EventRow} (every default filled). */
export type EventRow = z.output<typeof EventRow>;

/** What {@link EventRow} accepts: optional columns may be left out. */
export type EventRowInput = z.input<typeof EventRow>;

/** An event as the store returns it: the row as written plus when the store received it. */
export type StoredEvent = EventRow & {
  /** When the row was inserted (server clock), RFC 3339 with microseconds. */
  ingested_at: string;
};

/** The columns the store writes, in insert order. `ingested_at` is filled by the engine. */
export const EVENT_COLUMNS = [
  'event_id',
  'type',
  'env',
  'occurred_at',
  'stream_seq',
  'producer_service',
  'producer_instance',
  'producer_version',
  'run_id',
  'intent_id',
  'agent_id',
  'workflow',
  'causation_id',
  'correlation_id',
  'tool',
  'effect',
  'status',
  'stage',
  'reason',
  'cost_micro_usd',
  'latency_us',
  'data',
  'sealed',
  'redactions',
] as const satisfies readonly (keyof EventRow)[];

/** The columns a read returns. */
export const STORED_EVENT_COLUMNS = [...EVENT_COLUMNS, 'ingested_at'] as const;

const TEXT_LIMIT_ENTRIES = Object.entries(TEXT_LIMITS) as [
  keyof typeof TEXT_LIMITS,
  readonly [number, number],
][];
const INT_MINIMUM_ENTRIES = Object.entries(INT_MINIMUMS) as [keyof typeof INT_MINIMUMS, number][];

/** The rules of {@link EventRow} for a complete row, without zod: see {@link checkEventRow}. */
function isCompleteEventRow(value: unknown): value is EventRow {
  if (typeof value !== 'object' || value === null) return false;
  const row = value as Record<string, unknown>;
  // Every column is checked below, so an equal key count also means no unknown key (strict).
  if (Object.keys(row).length !== EVENT_COLUMNS.length) return false;
  for (const [column, [min, max]] of TEXT_LIMIT_ENTRIES) {
    const cell = row[column];
    if (typeof cell !== 'string' || cell.length < min || cell.length > max) return false;
  }
  for (const [column, min] of INT_MINIMUM_ENTRIES) {
    const cell = row[column];
    if (typeof cell !== 'number' || !Number.isSafeInteger(cell) || cell < min) return false;
  }
  const { occurred_at: occurredAt, redactions } = row;
  if (typeof occurredAt !== 'string' || !RFC3339.test(occurredAt)) return false;
  const [kindMin, kindMax] = REDACTION_KIND_LIMITS;
  return (
    Array.isArray(redactions) &&
    redactions.every(
      (kind) => typeof kind === 'string' && kind.length >= kindMin && kind.length <= kindMax,
    )
  );
}

/**
 * Checks a row before it is written. Rows normally arrive complete from the collector, so a
 * hand-written check of {@link EventRow}'s rules runs first: zod costs about 4 µs a row, a third of
 * the whole insert path at 10,000-row batches. A row it does not accept goes through the schema,
 * which fills defaults or says what is wrong.
 *
 * @throws EventStoreError `invalid_input` with zod's description of the problem.
 */
export function checkEventRow(value: unknown): EventRow {
  if (isCompleteEventRow(value)) return value;
  const parsed = EventRow.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new EventStoreError(EventStoreErrorCode.InvalidInput, z.prettifyError(parsed.error), {
    cause: parsed.error,
  });
}

/**
 * The format rows are inserted in. JSONCompactEachRow lists values in column order instead of
 * naming every key on every row: measured on this table, the engine parses a row in 7 µs instead
 * of 11 µs and JS writes it in 2.5 µs instead of 3.
 */
export const INSERT_FORMAT = 'JSONCompactEachRow';

/**
 * Serialises a validated row as one {@link INSERT_FORMAT} line: its values in {@link EVENT_COLUMNS}
 * order. The only conversion is `occurred_at`: ClickHouse's default
 * `date_time_input_format = 'basic'` does not accept an offset, so the timestamp goes in as UTC
 * `YYYY-MM-DD hh:mm:ss.ffffff`.
 *
 * @throws EventStoreError `invalid_input` when `occurred_at` is not a real date in range.
 */
export function toInsertLine(row: EventRow): string {
  const values: unknown[] = [];
  for (const column of EVENT_COLUMNS) {
    values.push(column === 'occurred_at' ? toClickHouseDateTime64(row.occurred_at) : row[column]);
  }
  return JSON.stringify(values);
}

const storedString = z.string();
const storedInt = (column: string) =>
  z.unknown().transform((value) => toSafeInteger(value, column));
const storedTime = z.unknown().transform((value) => fromClickHouseDateTime64(value));

/** Validates and normalises one row read back from `events` (both engines, any JSON settings). */
const StoredEventRow = z.object({
  event_id: storedString,
  type: storedString,
  env: storedString,
  occurred_at: storedTime,
  stream_seq: storedInt('stream_seq'),
  producer_service: storedString,
  producer_instance: storedString,
  producer_version: storedString,
  run_id: storedString,
  intent_id: storedString,
  agent_id: storedString,
  workflow: storedString,
  causation_id: storedString,
  correlation_id: storedString,
  tool: storedString,
  effect: storedString,
  status: storedString,
  stage: storedString,
  reason: storedString,
  cost_micro_usd: storedInt('cost_micro_usd'),
  latency_us: storedInt('latency_us'),
  data: storedString,
  sealed: storedString,
  redactions: z.array(z.string()),
  ingested_at: storedTime,
});

/**
 * Converts a row read from `events` into a {@link StoredEvent}: 64-bit integers become numbers,
 * DateTime64 values become RFC 3339 strings.
 *
 * @throws EventStoreError `invalid_result` when the row does not have the expected shape.
 */
export function toStoredEvent(raw: unknown): StoredEvent {
  try {
    return StoredEventRow.parse(raw);
  } catch (error) {
    // The transforms throw EventStoreError directly: keep it rather than wrap it.
    if (error instanceof EventStoreError) throw error;
    const issue = error instanceof z.ZodError ? z.prettifyError(error) : String(error);
    throw new EventStoreError(
      EventStoreErrorCode.InvalidResult,
      `A row read from events does not match the expected columns: ${issue}`,
      { cause: error },
    );
  }
}
