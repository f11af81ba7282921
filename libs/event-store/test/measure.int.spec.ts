/**
 * Measurements, not tests: skipped unless WARDEN_EVENT_STORE_MEASURE=1, never asserting a timing.
 *
 *   WARDEN_EVENT_STORE_MEASURE=1 npx vitest run --project event-store measure
 *
 * Prints insert throughput (10,000-row JSONEachRow batches of ~500-byte rows, through
 * `insertEvents` and, for comparison, through @clickhouse/client over chdb/connection) and read
 * latencies on a 1M-row table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { Session } from 'chdb';
import { createChdbConnection } from 'chdb/connection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore, type EventRow, type EventStore } from '../src/index.js';
import {
  checkEventRow,
  INSERT_FORMAT,
  toClickHouseDateTime64,
  toInsertLine,
} from '../src/event-row.js';

const BATCH = 10_000;
const TOTAL = 1_000_000;
const RUNS = 10_000;
const TYPES = ['intent.proposed', 'policy.decided', 'intent.resolved', 'budget.settled'];

function batchOf(batch: number): EventRow[] {
  return Array.from({ length: BATCH }, (_, i) => {
    const n = batch * BATCH + i;
    const micros = String(n % 1_000_000).padStart(6, '0');
    const second = String(Math.floor(n / 1_000_000) % 60).padStart(2, '0');
    return {
      event_id: `01JDX${String(n).padStart(21, '0')}`,
      type: TYPES[n % TYPES.length] ?? 'intent.proposed',
      env: 'measure',
      occurred_at: `2026-11-26T16:20:${second}.${micros}Z`,
      stream_seq: n,
      producer_service: 'tool-executor',
      producer_instance: 'te-1',
      producer_version: '0.1.0',
      run_id: `run-${n % RUNS}`,
      intent_id: `01JDXI${String(Math.floor(n / 4)).padStart(20, '0')}`,
      agent_id: `agent-${n % 50}`,
      workflow: 'support-triage',
      causation_id: `01JDXC${String(n).padStart(20, '0')}`,
      correlation_id: `run-${n % RUNS}`,
      tool: 'zendesk.update_ticket',
      effect: 'allow',
      status: 'executed',
      stage: 'executor',
      reason: '',
      cost_micro_usd: 1_200,
      latency_us: 5_300,
      data: JSON.stringify({
        tool: 'zendesk.update_ticket',
        args: { ticket_id: n, note: '[redacted:email]' },
      }),
      sealed: '',
      redactions: ['email'],
    };
  });
}

function summary(label: string, millis: number[], rows?: number): void {
  const sorted = [...millis].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const total = millis.reduce((a, b) => a + b, 0);
  const rate =
    rows === undefined ? '' : `, ${Math.round(rows / (total / 1000)).toLocaleString('en')} rows/s`;
  console.log(
    `${label}: n=${millis.length}, p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${at(1).toFixed(2)} ms${rate}`,
  );
}

async function time(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

describe.skipIf(process.env.WARDEN_EVENT_STORE_MEASURE !== '1')(
  'event store measurements (embedded)',
  () => {
    let dataDir: string;
    let store: EventStore;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'warden-event-store-measure-'));
      store = await openEventStore({ kind: 'embedded', dataDir });
      await store.migrate();
    });

    afterAll(async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
    });

    it('insert throughput: insertEvents vs @clickhouse/client over chdb/connection', async () => {
      const sample = toInsertLine(batchOf(0)[0]!);
      console.log(
        `row size as an insert line (${INSERT_FORMAT}): ${Buffer.byteLength(sample)} bytes`,
      );
      const client = createClient({ connection: createChdbConnection({ path: dataDir }) as never });
      await client.command({ query: 'CREATE TABLE events_via_connection AS events' });
      const viaStore: number[] = [];
      const serialiseOnly: number[] = [];
      const viaConnection: number[] = [];
      const batches = TOTAL / BATCH;
      for (let b = 0; b < batches; b++) {
        const rows = batchOf(b);
        // Same rows, alternating paths so background merges hit both alike.
        viaStore.push(
          await time(() => store.insertEvents(rows, { deduplicationToken: `measure:${b}` })),
        );
        serialiseOnly.push(
          await time(() =>
            Promise.resolve(rows.map((row) => toInsertLine(checkEventRow(row))).join('\n')),
          ),
        );
        if (b < 30) {
          // Objects ready to go (not timed): the client's own JSON.stringify is part of its path.
          const objects = rows.map((row) => ({
            ...row,
            occurred_at: toClickHouseDateTime64(row.occurred_at),
          }));
          viaConnection.push(
            await time(() =>
              client.insert({
                table: 'events_via_connection',
                values: objects,
                format: 'JSONEachRow',
                clickhouse_settings: { insert_deduplication_token: `measure:${b}` },
              }),
            ),
          );
        }
      }
      await client.close();
      summary(
        'insertEvents (validate + serialise + chDB raw insert), 10k-row batch',
        viaStore,
        BATCH * viaStore.length,
      );
      summary('  of which validate + serialise in JS', serialiseOnly, BATCH * serialiseOnly.length);
      summary(
        '@clickhouse/client insert over chdb/connection, 10k-row batch',
        viaConnection,
        BATCH * viaConnection.length,
      );
      expect(await store.count('measure')).toBe(TOTAL);
    }, 600_000);

    it('read latency on the 1M-row table', async () => {
      const activeParts = async () => {
        const parts = await store.readOnlyQuery(
          "SELECT count() AS n FROM system.parts WHERE table = 'events' AND active AND database = currentDatabase()",
        );
        return String(parts.rows[0]?.n);
      };
      const timelines = async (label: string) => {
        const timeline: number[] = [];
        for (let i = 0; i < 300; i++) {
          const runId = `run-${(i * 7919) % RUNS}`;
          timeline.push(await time(() => store.timeline('measure', runId)));
        }
        summary(
          `timeline of one run (${TOTAL / RUNS} events) in ${TOTAL.toLocaleString('en')} rows, ${label}, ${await activeParts()} active parts`,
          timeline,
        );
      };
      await timelines('right after the inserts');
      // Merged into one part: the table once background merges have caught up.
      const session = new Session(dataDir);
      await session.queryAsync('OPTIMIZE TABLE events FINAL');
      session.close();
      await timelines('after OPTIMIZE FINAL');
      const events = await store.timeline('measure', 'run-42');
      expect(events).toHaveLength(TOTAL / RUNS);

      const existing: number[] = [];
      for (let i = 0; i < 100; i++) {
        const ids = Array.from(
          { length: 100 },
          (_, k) => `01JDX${String((i * 104_729 + k * 9_973) % (TOTAL * 2)).padStart(21, '0')}`,
        );
        existing.push(await time(() => store.findExistingEventIds('measure', ids)));
      }
      summary('findExistingEventIds, 100 ids (about half stored)', existing);

      const sql: number[] = [];
      for (let i = 0; i < 50; i++) {
        sql.push(
          await time(() =>
            store.readOnlyQuery(
              'SELECT * FROM tool_calls WHERE env = {env:String} AND run_id = {run:String}',
              {
                env: 'measure',
                run: `run-${i}`,
              },
            ),
          ),
        );
      }
      summary('readOnlyQuery: tool_calls of one run (view, engine read-only session)', sql);
    }, 600_000);
  },
);
