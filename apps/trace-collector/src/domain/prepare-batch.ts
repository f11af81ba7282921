import { createHash } from 'node:crypto';
import { parseEvent, type RejectionReason } from '@warden/contracts';
import type { EventRow } from '@warden/event-store';
import { toEventRow, toRejectedRow } from './to-event-row.js';

/** A message as the collector receives it from its durable consumer. */
export interface IncomingMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The message's sequence in the env's stream. */
  readonly seq: number;
  /** Delivered before and not acked: its row may already be stored (the collector died after inserting). */
  readonly redelivered: boolean;
}

/** The rows of one batch, ready to insert, and what became of each message. */
export interface PreparedBatch {
  readonly rows: EventRow[];
  /** Ids of rows that came from redelivered messages: check them against the table before inserting. */
  readonly redeliveredIds: string[];
  readonly stored: number;
  readonly rejected: Partial<Record<RejectionReason, number>>;
  /** Messages whose event id already appeared earlier in the same batch. */
  readonly duplicates: number;
}

/**
 * Turns a batch of raw messages into `events` rows: valid events redacted, everything else an
 * `event.rejected` row with its reason. Never throws on bad input; one bad message costs one row.
 */
export function prepareBatch(
  env: string,
  stream: string,
  messages: readonly IncomingMessage[],
  receivedAtMicros: number,
): PreparedBatch {
  const rows: EventRow[] = [];
  const redeliveredIds: string[] = [];
  const seen = new Set<string>();
  const rejected: Partial<Record<RejectionReason, number>> = {};
  let duplicates = 0;
  let stored = 0;
  for (const message of messages) {
    const parsed = parseEvent(message.data, { env, subject: message.subject });
    const row = parsed.ok
      ? toEventRow(parsed.event, message.seq)
      : toRejectedRow(
          env,
          { stream, seq: message.seq, subject: message.subject },
          message.data,
          parsed,
          receivedAtMicros,
        );
    if (seen.has(row.event_id)) {
      duplicates++;
      continue;
    }
    seen.add(row.event_id);
    rows.push(row);
    if (parsed.ok) stored++;
    else rejected[parsed.reason] = (rejected[parsed.reason] ?? 0) + 1;
    if (message.redelivered) redeliveredIds.push(row.event_id);
  }
  return { rows, redeliveredIds, stored, rejected, duplicates };
}

/**
 * The insert deduplication token of a set of rows: the same rows give the same token, so an insert
 * retried after an error or a timeout is stored once (ClickHouse keeps recent tokens per table).
 */
export function deduplicationToken(rows: readonly EventRow[]): string {
  const hash = createHash('sha256');
  for (const row of rows) hash.update(row.event_id).update('\n');
  return hash.digest('hex');
}
