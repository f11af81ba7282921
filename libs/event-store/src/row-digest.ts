import type { STORED_EVENT_COLUMNS } from './event-row.js';

/** How a column's value is written into the bytes its row digest covers. */
type Encoding = 'string' | 'int' | 'time' | 'strings';

/**
 * Every column of `events`, in the order the row digest covers them. A `Record` over
 * `STORED_EVENT_COLUMNS`, so adding a column without deciding how it is digested does not compile
 * (and `test/checkpoints.int.spec.ts` checks this list against `DESCRIBE events`).
 *
 * Note for whoever adds a column: the digest of rows already checkpointed must not change, so a
 * new column is appended here only if it is empty in old rows, or with a new digest version.
 */
const DIGESTED_COLUMNS = {
  event_id: 'string',
  type: 'string',
  env: 'string',
  occurred_at: 'time',
  stream_seq: 'int',
  producer_service: 'string',
  producer_instance: 'string',
  producer_version: 'string',
  run_id: 'string',
  intent_id: 'string',
  agent_id: 'string',
  workflow: 'string',
  causation_id: 'string',
  correlation_id: 'string',
  tool: 'string',
  effect: 'string',
  status: 'string',
  stage: 'string',
  reason: 'string',
  cost_micro_usd: 'int',
  latency_us: 'int',
  data: 'string',
  sealed: 'string',
  redactions: 'strings',
  ingested_at: 'time',
} as const satisfies Record<(typeof STORED_EVENT_COLUMNS)[number], Encoding>;

/** The columns the row digest covers, in order. */
export const DIGESTED_COLUMN_NAMES = Object.keys(DIGESTED_COLUMNS);

/**
 * One column as bytes that cannot run into the next one: every field is prefix-free (a string is
 * its byte length, `:`, its bytes; a number its decimal digits and `;`), so the concatenation in a
 * fixed order is injective and no edit of one column can be made up for by another.
 *
 * Times go in as integer microseconds and integers as decimal text: neither depends on the
 * session's output-format settings, which differ between chDB and a server.
 */
function encode(column: string, encoding: Encoding): string {
  switch (encoding) {
    case 'string':
      return `toString(length(${column})), ':', ${column}`;
    case 'int':
      return `toString(${column}), ';'`;
    case 'time':
      return `toString(toUnixTimestamp64Micro(${column})), ';'`;
    case 'strings':
      return (
        `toString(length(${column})), ':', ` +
        `arrayStringConcat(arrayMap(x -> concat(toString(length(x)), ':', x), ${column}))`
      );
  }
}

/**
 * The SQL expression of one `events` row's digest: hex SHA-256 over every column. The engine
 * computes it both when the collector checkpoints a batch and when `warden audit verify` checks
 * it, with this same text, so the two agree by construction: no JS re-serialisation of
 * DateTime64, JSON text or 64-bit integers that could differ from what ClickHouse stored.
 * Column names only (fixed here), never values.
 */
export const ROW_DIGEST_SQL = `hex(SHA256(concat(${Object.entries(DIGESTED_COLUMNS)
  .map(([column, encoding]) => encode(column, encoding))
  .join(', ')})))`;
