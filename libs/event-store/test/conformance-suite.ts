/**
 * The event store's contract, written once as {@link describeConformance} and run against each
 * engine by the `*.int.spec.ts` files beside it. Not a spec file itself.
 */
import { cpSync, appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventRow,
  EventStoreErrorCode,
  isEventStoreError,
  toClickHouseDateTime64,
  type EventRowInput,
  type EventStore,
  type EventStoreErrorCode as Code,
} from '../src/index.js';
import { findMigrationsDir } from '../src/migrations.js';

/** An engine the suite runs against. */
export interface Target {
  /** Opens a store on the target's database; `migrationsDir` overrides the migration files. */
  open(options?: { migrationsDir?: string }): Promise<EventStore>;
  cleanup(): Promise<void>;
}

const MIGRATION_IDS = [
  '0001_events',
  '0002_views',
  '0003_cost_views',
  '0004_run_views',
  '0005_checkpoints',
  '0006_shadow_views',
];

let sequence = 0;
/** A unique env per test, so tests never see each other's rows (and can run against a shared server). */
const newEnv = () => `conf-${process.pid}-${++sequence}-${randomUUID().slice(0, 8)}`;

function row(overrides: Partial<EventRowInput> & Pick<EventRowInput, 'env'>): EventRow {
  return EventRow.parse({
    event_id: randomUUID(),
    type: 'intent.proposed',
    occurred_at: '2026-11-26T16:20:05.123456Z',
    producer_service: 'sdk',
    producer_instance: 'test-1',
    producer_version: '0.1.0',
    run_id: 'run-1',
    data: '{}',
    ...overrides,
  });
}

/** Awaits `promise` and checks it failed with an EventStoreError of `code`. */
export async function expectStoreError(promise: Promise<unknown>, code: Code): Promise<Error> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isEventStoreError(error))
    throw new Error(`expected EventStoreError ${code}, got ${String(error)}`);
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  return error;
}

/** Declares the whole contract as one `describe` block for the target `makeTarget` builds. */
export function describeConformance(name: string, makeTarget: () => Promise<Target>): void {
  describe(name, () => {
    let target: Target;
    let store: EventStore;

    beforeAll(async () => {
      target = await makeTarget();
      store = await target.open();
    });

    afterAll(async () => {
      await store.close();
      await target.cleanup();
    });

    describe('migrations', () => {
      it('applies every migration to an empty database', async () => {
        expect(await store.migrate()).toEqual({ applied: MIGRATION_IDS, alreadyApplied: [] });
        const tables = await store.readOnlyQuery('SHOW TABLES');
        expect(tables.rows.map((r) => r.name)).toEqual(
          expect.arrayContaining([
            'events',
            'schema_migrations',
            'tool_calls',
            'runs',
            'approvals',
            'policy_changes',
            'cost_daily',
            'run_costs',
            'workflow_daily_costs',
            'agent_daily_spend',
            'halted_runs_by_reason',
            'run_overview',
            'run_denials',
            'checkpoints',
            'policy_shadow_periods',
            'shadow_divergences',
          ]),
        );
      });

      it('changes nothing when applied a second time', async () => {
        expect(await store.migrate()).toEqual({ applied: [], alreadyApplied: MIGRATION_IDS });
        const ledger = await store.readOnlyQuery(
          'SELECT version, name, length(checksum) AS checksum_length FROM schema_migrations ORDER BY version',
        );
        expect(ledger.rows).toEqual([
          { version: 1, name: '0001_events', checksum_length: '64' },
          { version: 2, name: '0002_views', checksum_length: '64' },
          { version: 3, name: '0003_cost_views', checksum_length: '64' },
          { version: 4, name: '0004_run_views', checksum_length: '64' },
          { version: 5, name: '0005_checkpoints', checksum_length: '64' },
          { version: 6, name: '0006_shadow_views', checksum_length: '64' },
        ]);
      });

      it('refuses to migrate when an applied migration file was edited', async () => {
        const edited = mkdtempSync(join(tmpdir(), 'warden-migrations-'));
        try {
          cpSync(findMigrationsDir(), edited, { recursive: true });
          appendFileSync(join(edited, '0002_views.sql'), '\n-- an innocent-looking edit\n');
          // A second store on the same database (chDB allows it on the same directory).
          const other = await target.open({ migrationsDir: edited });
          try {
            const error = await expectStoreError(
              other.migrate(),
              EventStoreErrorCode.MigrationChecksumMismatch,
            );
            expect(error.message).toContain('0002_views');
          } finally {
            await other.close();
          }
        } finally {
          rmSync(edited, { recursive: true, force: true });
        }
      });
    });

    describe('writing and reading events', () => {
      it('round-trips rows with microsecond timestamps, in timeline order', async () => {
        const env = newEnv();
        const rows = [
          row({ env, event_id: 'e3', occurred_at: '2026-11-26T16:20:05.000002Z', stream_seq: 3 }),
          row({ env, event_id: 'e1', occurred_at: '2026-11-26T16:20:05.000001Z', stream_seq: 9 }),
          // Same microsecond as e3: stream_seq breaks the tie.
          row({ env, event_id: 'e2', occurred_at: '2026-11-26T16:20:05.000002Z', stream_seq: 2 }),
          // An offset is converted to UTC: 18:20:05.999999+02:00 is 16:20:05.999999Z.
          row({
            env,
            event_id: 'e4',
            occurred_at: '2026-11-26T18:20:05.999999+02:00',
            stream_seq: 4,
          }),
          row({ env, event_id: 'other-run', run_id: 'run-2' }),
        ];
        const full = row({
          env,
          event_id: 'e5',
          occurred_at: '2026-11-26T16:20:06.123456Z',
          stream_seq: 5,
          type: 'intent.resolved',
          intent_id: 'intent-1',
          agent_id: 'agent-1',
          workflow: 'support-triage',
          causation_id: 'e4',
          correlation_id: 'run-1',
          tool: 'zendesk.update_ticket',
          effect: 'allow',
          status: 'executed',
          stage: 'executor',
          reason: 'ok',
          cost_micro_usd: 1_234,
          latency_us: 5_678,
          data: '{"ticket":"[email]"}',
          sealed: 'c2VhbGVk',
          redactions: ['email', 'phone'],
        });
        await store.insertEvents([...rows, full], { deduplicationToken: `${env}:1` });

        const timeline = await store.timeline(env, 'run-1');
        expect(timeline.map((e) => e.event_id)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
        expect(timeline.map((e) => e.occurred_at)).toEqual([
          '2026-11-26T16:20:05.000001Z',
          '2026-11-26T16:20:05.000002Z',
          '2026-11-26T16:20:05.000002Z',
          '2026-11-26T16:20:05.999999Z',
          '2026-11-26T16:20:06.123456Z',
        ]);
        const stored = timeline[4]!;
        const { ingested_at, ...written } = stored;
        expect(written).toEqual(full);
        expect(ingested_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
        expect(await store.timeline(env, 'run-1', { limit: 2 })).toHaveLength(2);
      });

      it('returns 64-bit integers as exact numbers', async () => {
        const env = newEnv();
        const big = Number.MAX_SAFE_INTEGER;
        await store.insertEvents(
          [row({ env, event_id: 'big', stream_seq: big, cost_micro_usd: -big, latency_us: big })],
          { deduplicationToken: `${env}:1` },
        );
        const [event] = await store.timeline(env, 'run-1');
        expect(event).toMatchObject({ stream_seq: big, cost_micro_usd: -big, latency_us: big });
        expect(await store.count(env)).toBe(1);
      });

      it('stores a batch retried with the same deduplication token once', async () => {
        const env = newEnv();
        const batch = [row({ env, event_id: 'a' }), row({ env, event_id: 'b' })];
        await store.insertEvents(batch, { deduplicationToken: `${env}:1-2` });
        await store.insertEvents(batch, { deduplicationToken: `${env}:1-2` });
        expect(await store.count(env)).toBe(2);

        await store.insertEvents([row({ env, event_id: 'c' })], { deduplicationToken: `${env}:3` });
        expect(await store.count(env)).toBe(3);
        // A different token is a different batch, even with the same rows.
        await store.insertEvents(batch, { deduplicationToken: `${env}:1-2:again` });
        expect(await store.count(env)).toBe(5);
        // Any printable token works: it is bound or escaped by the driver, never spliced into SQL.
        const odd = `${env}:it's\\odd"--`;
        await store.insertEvents([row({ env, event_id: 'd' })], { deduplicationToken: odd });
        await store.insertEvents([row({ env, event_id: 'd' })], { deduplicationToken: odd });
        expect(await store.count(env)).toBe(6);
        // The timeline still shows each event once.
        expect((await store.timeline(env, 'run-1')).map((e) => e.event_id).sort()).toEqual([
          'a',
          'b',
          'c',
          'd',
        ]);
      });

      it('rejects an invalid row before sending anything', async () => {
        const env = newEnv();
        const bad = { ...row({ env }), occurred_at: '26/11/2026 16:20' };
        const error = await expectStoreError(
          store.insertEvents([row({ env }), bad], { deduplicationToken: `${env}:1` }),
          EventStoreErrorCode.InvalidInput,
        );
        expect(error.message).toContain('row 1');
        const impossible = { ...row({ env }), occurred_at: '2026-02-30T00:00:00.000000Z' };
        const dateError = await expectStoreError(
          store.insertEvents([impossible], { deduplicationToken: `${env}:2` }),
          EventStoreErrorCode.InvalidInput,
        );
        expect(dateError.message).toContain('2026-02-30');
        await expectStoreError(
          store.insertEvents([row({ env })], { deduplicationToken: 'has spaces' }),
          EventStoreErrorCode.InvalidInput,
        );
        expect(await store.count(env)).toBe(0);
      });

      it('finds which event ids are already stored', async () => {
        const env = newEnv();
        await store.insertEvents([row({ env, event_id: 'x1' }), row({ env, event_id: 'x2' })], {
          deduplicationToken: `${env}:1`,
        });
        expect(await store.findExistingEventIds(env, ['x1', 'x2', 'x3', 'x1'])).toEqual(
          new Set(['x1', 'x2']),
        );
        expect(await store.findExistingEventIds(env, [])).toEqual(new Set());
        expect(await store.findExistingEventIds(newEnv(), ['x1'])).toEqual(new Set());
        const many = Array.from({ length: 9_000 }, (_, i) => `missing-${i}`);
        expect(await store.findExistingEventIds(env, [...many, 'x2'])).toEqual(new Set(['x2']));
      });

      it('binds DateTime64 and Array(String) parameters', async () => {
        const env = newEnv();
        await store.insertEvents(
          [
            row({ env, event_id: 't1', occurred_at: '2026-11-26T16:20:05.000001Z' }),
            row({ env, event_id: 't2', occurred_at: '2026-11-26T16:20:05.000002Z' }),
            row({ env, event_id: 't3', occurred_at: '2026-11-26T16:20:05.000003Z' }),
          ],
          { deduplicationToken: `${env}:1` },
        );
        const result = await store.readOnlyQuery(
          `SELECT event_id FROM events
           WHERE env = {env:String} AND occurred_at >= {from:DateTime64(6, 'UTC')} AND event_id IN {ids:Array(String)}
           ORDER BY occurred_at`,
          {
            env,
            from: toClickHouseDateTime64('2026-11-26T16:20:05.000002Z'),
            ids: ['t1', 't2', 't3', 'nope'],
          },
        );
        expect(result.rows).toEqual([{ event_id: 't2' }, { event_id: 't3' }]);
      });

      it('binds parameters, so an injection string matches nothing', async () => {
        const env = newEnv();
        await store.insertEvents([row({ env, event_id: 'i1' })], {
          deduplicationToken: `${env}:1`,
        });
        const injection = "' OR 1=1 --";
        expect(await store.timeline(env, injection)).toEqual([]);
        expect(await store.timeline(injection, 'run-1')).toEqual([]);
        expect(await store.findExistingEventIds(env, [injection])).toEqual(new Set());
        const result = await store.readOnlyQuery(
          'SELECT event_id FROM events WHERE env = {env:String} AND run_id = {run:String}',
          { env, run: injection },
        );
        expect(result.rows).toEqual([]);
      });
    });

    describe('checkpoints', () => {
      it('digests stored rows the same way every time, and round-trips a checkpoint', async () => {
        const env = newEnv();
        await store.insertEvents([row({ env, event_id: 'c1' }), row({ env, event_id: 'c2' })], {
          deduplicationToken: `${env}-c`,
        });
        const first = await store.digestEvents(['c1', 'c2', 'absent'], { env });
        expect(first.rows.map((r) => r.event_id).sort()).toEqual(['c1', 'c2']);
        expect(first.rows[0]).toMatchObject({ env, copies: 1 });
        expect(first.rows[0]?.digest).toMatch(/^[0-9A-F]{64}$/);
        const again = await store.digestEvents(['c1', 'c2'], { env, until: first.at });
        expect(new Set(again.rows.map((r) => r.digest))).toEqual(
          new Set(first.rows.map((r) => r.digest)),
        );
        // Rows stored after `until` are not counted.
        expect(
          (await store.digestEvents(['c1'], { env, until: '2000-01-01T00:00:00Z' })).rows,
        ).toEqual([]);

        expect(await store.lastCheckpoint(env)).toBeUndefined();
        const checkpoint = {
          env,
          seq: 1,
          prev_digest: '',
          digest: 'd1',
          event_ids: ['c1', 'c2'],
          types: ['intent.proposed', 'intent.proposed'],
          run_ids: ['run-1', 'run-1'],
          occurred_ats: ['2026-11-26T16:20:05.123456Z', '2026-11-26T16:20:05.123456Z'],
          row_digests: first.rows.map((r) => r.digest),
          key_id: '0123456789abcdef',
          signature: 'c2ln',
          created_at: first.at,
        };
        await store.insertCheckpoint(checkpoint);
        expect(await store.lastCheckpoint(env)).toEqual({ seq: 1, digest: 'd1' });
        expect(await store.readCheckpoints(env, { offset: 0, limit: 10 })).toEqual([checkpoint]);
        const until = await store.now();
        expect(await store.findUncoveredEvents(env, { until, limit: 10 })).toEqual([]);
      });
    });

    describe('readOnlyQuery', () => {
      it.each([
        ['DROP TABLE events'],
        ["INSERT INTO events (event_id) VALUES ('x')"],
        ['ALTER TABLE events DELETE WHERE 1'],
        ['SELECT 1; DROP TABLE events'],
        ['SET readonly = 0'],
        ['TRUNCATE TABLE events'],
        ["SELECT 1 INTO OUTFILE '/tmp/warden-outfile.txt'"],
        [''],
      ])('refuses %j', async (sql) => {
        const error = await expectStoreError(
          store.readOnlyQuery(sql),
          EventStoreErrorCode.NotReadOnly,
        );
        expect(error.message).toMatch(/only reads are allowed/i);
        expect((await store.readOnlyQuery("SHOW TABLES LIKE 'events'")).rows).toEqual([
          { name: 'events' },
        ]);
      });

      it('is enforced by the engine too: a SETTINGS clause cannot lift read-only', async () => {
        const error = await expectStoreError(
          store.readOnlyQuery('SELECT 1 SETTINGS readonly = 0'),
          EventStoreErrorCode.NotReadOnly,
        );
        expect(error).toMatchObject({ clickhouseCode: 164 });
        await expectStoreError(
          store.readOnlyQuery(
            'SELECT count() FROM system.numbers SETTINGS max_execution_time = 1000',
          ),
          EventStoreErrorCode.NotReadOnly,
        );
      });

      it('allows SELECT, WITH, SHOW, DESCRIBE and EXPLAIN', async () => {
        const select = await store.readOnlyQuery(
          'SELECT {n:UInt8} + 1 AS two, toUInt64(18446744073709551615) AS big',
          {
            n: 1,
          },
        );
        expect(select.columns).toEqual([
          { name: 'two', type: 'UInt16' },
          { name: 'big', type: 'UInt64' },
        ]);
        // 64-bit integers stay exact: as strings, the way ClickHouse's JSON output quotes them.
        expect(select.rows).toEqual([{ two: 2, big: '18446744073709551615' }]);
        expect(select.truncated).toBe(false);

        const cte = await store.readOnlyQuery('WITH 2 AS x SELECT x * 21 AS answer;');
        expect(cte.rows).toEqual([{ answer: 42 }]);
        const described = await store.readOnlyQuery('DESCRIBE TABLE events');
        expect(described.rows.map((r) => r.name)).toContain('occurred_at');
        const explained = await store.readOnlyQuery('EXPLAIN SELECT * FROM events');
        expect(explained.rows.length).toBeGreaterThan(0);
        const shown = await store.readOnlyQuery(
          '/* comment */ SHOW CREATE TABLE events -- trailing',
        );
        expect(String(shown.rows[0]?.statement)).toContain('non_replicated_deduplication_window');
      });

      it('caps the rows and says the result was truncated', async () => {
        const result = await store.readOnlyQuery(
          'SELECT number FROM system.numbers LIMIT 50',
          {},
          { maxRows: 10 },
        );
        expect(result.rows).toHaveLength(10);
        expect(result.truncated).toBe(true);
        const exact = await store.readOnlyQuery(
          'SELECT number FROM numbers(10)',
          {},
          { maxRows: 10 },
        );
        expect(exact).toMatchObject({ truncated: false });
        expect(exact.rows).toHaveLength(10);
        // The cap is on the result, not on subqueries.
        const counted = await store.readOnlyQuery(
          'SELECT count() AS n FROM (SELECT number FROM numbers(100))',
          {},
          {
            maxRows: 1,
          },
        );
        expect(counted.rows).toEqual([{ n: '100' }]);
      });

      it('stops a statement at its timeout', async () => {
        await expectStoreError(
          store.readOnlyQuery('SELECT count() FROM system.numbers', {}, { timeoutMs: 1_000 }),
          EventStoreErrorCode.Timeout,
        );
      });

      it('surfaces a ClickHouse error with its code and message', async () => {
        const unknown = await expectStoreError(
          store.readOnlyQuery('SELECT no_such_column FROM events'),
          EventStoreErrorCode.QueryFailed,
        );
        expect(unknown).toMatchObject({ clickhouseCode: 47, retryable: false });
        expect(unknown.message).toContain('no_such_column');
        const syntax = await expectStoreError(
          store.readOnlyQuery('SELECT (1'),
          EventStoreErrorCode.QueryFailed,
        );
        expect(syntax).toMatchObject({ clickhouseCode: 62 });
        // The store is still usable.
        await store.ping();
      });
    });

    describe('views', () => {
      it('summarise a governed tool call, its run, approval, policy and cost', async () => {
        const env = newEnv();
        const intent = {
          env,
          run_id: 'run-v',
          intent_id: 'intent-v',
          agent_id: 'agent-v',
          workflow: 'triage',
        };
        let seq = 0;
        const at = (ms: number) => ({
          occurred_at: `2026-11-26T16:20:05.${String(ms * 1000).padStart(6, '0')}Z`,
          stream_seq: ++seq,
        });
        const tool = 'zendesk.update_ticket';
        await store.insertEvents(
          [
            row({
              env,
              run_id: 'run-v',
              agent_id: 'agent-v',
              workflow: 'triage',
              type: 'run.started',
              ...at(0),
            }),
            row({ ...intent, type: 'intent.proposed', tool, ...at(1) }),
            row({ ...intent, type: 'intent.authenticated', tool, ...at(2) }),
            row({ ...intent, type: 'policy.decided', tool, effect: 'approval_required', ...at(3) }),
            row({
              ...intent,
              type: 'approval.requested',
              tool,
              data: '{"args_hash":"h1"}',
              ...at(4),
            }),
            row({
              ...intent,
              type: 'approval.granted',
              data: '{"args_hash":"h1","approver":"alice"}',
              ...at(5),
            }),
            row({ ...intent, type: 'budget.reserved', cost_micro_usd: 900, ...at(6) }),
            row({ ...intent, type: 'tool.started', tool, ...at(7) }),
            row({
              ...intent,
              type: 'intent.resolved',
              tool,
              status: 'executed',
              stage: 'executor',
              latency_us: 4_000,
              ...at(9),
            }),
            row({ ...intent, type: 'budget.settled', cost_micro_usd: 700, ...at(10) }),
            row({
              env,
              run_id: 'run-v',
              agent_id: 'agent-v',
              type: 'run.ended',
              status: 'succeeded',
              ...at(11),
            }),
            row({
              env,
              run_id: '',
              type: 'policy.published',
              producer_service: 'api',
              data: '{"version":3,"content_hash":"abc","author":"bob"}',
              ...at(12),
            }),
          ],
          { deduplicationToken: `${env}:views` },
        );
        const params = { env };
        const toolCalls = await store.readOnlyQuery(
          'SELECT * FROM tool_calls WHERE env = {env:String}',
          params,
        );
        expect(toolCalls.rows).toEqual([
          expect.objectContaining({
            run_id: 'run-v',
            intent_id: 'intent-v',
            agent_id: 'agent-v',
            workflow: 'triage',
            tool,
            proposed_at: '2026-11-26 16:20:05.001000',
            resolved_at: '2026-11-26 16:20:05.009000',
            effect: 'approval_required',
            approval: 'granted',
            approver: 'alice',
            status: 'executed',
            stage: 'executor',
            attempts: '1',
            reserved_micro_usd: '900',
            cost_micro_usd: '700',
            latency_us: '4000',
            end_to_end_us: '8000',
            events: '9',
          }),
        ]);
        const runs = await store.readOnlyQuery(
          'SELECT * FROM runs WHERE env = {env:String}',
          params,
        );
        expect(runs.rows).toEqual([
          expect.objectContaining({
            run_id: 'run-v',
            agent_id: 'agent-v',
            status: 'succeeded',
            intents: '1',
            executed: '1',
            approvals_requested: '1',
            cost_micro_usd: '700',
          }),
        ]);
        const approvals = await store.readOnlyQuery(
          'SELECT * FROM approvals WHERE env = {env:String}',
          params,
        );
        expect(approvals.rows).toEqual([
          expect.objectContaining({
            intent_id: 'intent-v',
            tool,
            args_hash: 'h1',
            outcome: 'granted',
            approver: 'alice',
          }),
        ]);
        const policies = await store.readOnlyQuery(
          'SELECT * FROM policy_changes WHERE env = {env:String}',
          params,
        );
        expect(policies.rows).toEqual([
          expect.objectContaining({ version: '3', content_hash: 'abc', author: 'bob' }),
        ]);
        const costs = await store.readOnlyQuery(
          'SELECT * FROM cost_daily WHERE env = {env:String}',
          params,
        );
        expect(costs.rows).toEqual([
          expect.objectContaining({
            day: '2026-11-26',
            agent_id: 'agent-v',
            cost_micro_usd: '700',
            settlements: '1',
          }),
        ]);
      });
    });
  });
}
