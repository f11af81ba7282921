import {
  buildEvent,
  type DataOf,
  type Envelope,
  type EnvelopeBase,
  type EventType,
} from '@warden/contracts';
import { openEventStore, type EventStore } from '@warden/event-store';
import { makeTempDir, removeTempDir, TEST_PRODUCER, uniqueEnv } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toEventRow } from '../src/domain/to-event-row.js';

/**
 * The cost views of deploy/clickhouse/0003_cost_views.sql on a real chDB engine, fed rows the way
 * the collector makes them (`toEventRow`) from envelopes built the way the services build them
 * (settlements inherit run, intent, agent and workflow from their cause).
 */
describe('cost views (0003_cost_views)', () => {
  const env = uniqueEnv('costs');
  let dataDir: string;
  let store: EventStore;

  const DAY_1 = '2026-11-02';
  const DAY_2 = '2026-11-03';
  let clock = 0;
  /** A time on `day`, each one later than the last, so the timeline order is the build order. */
  const at = (day: string, hour: number) => {
    clock += 1;
    return `${day}T${String(hour).padStart(2, '0')}:00:00.${String(clock).padStart(6, '0')}Z`;
  };
  let id = 0;
  const nextId = (prefix: string) => `${prefix}-${String(++id).padStart(4, '0')}`;

  const events: Envelope[] = [];
  function emit<T extends EventType>(
    type: T,
    data: DataOf<T>,
    context: {
      occurredAt: string;
      cause?: EnvelopeBase;
      runId?: string;
      agentId?: string;
      workflow?: string;
      intentId?: string;
    },
  ): Envelope<T> {
    const event = buildEvent({
      type,
      data,
      env,
      producer: TEST_PRODUCER,
      ...(context.cause === undefined ? { eventId: nextId('evt') } : {}),
      ...context,
    });
    // Envelope<T> for a generic T is not assignable to the union Envelope until T is known.
    events.push(event as Envelope);
    return event;
  }

  function startRun(
    runId: string,
    day: string,
    hour: number,
    workflow: { envelope?: string; data?: string },
  ): EnvelopeBase {
    return emit('run.started', workflow.data === undefined ? {} : { workflow: workflow.data }, {
      occurredAt: at(day, hour),
      runId,
      agentId: 'refund-bot',
      ...(workflow.envelope === undefined ? {} : { workflow: workflow.envelope }),
    });
  }

  /** A governed tool call: proposed, reserved, executed, settled at `cost`. */
  function toolCall(run: EnvelopeBase, day: string, hour: number, cost: number): void {
    const intentId = nextId('intent');
    const proposed = emit(
      'intent.proposed',
      { tool: 'refunds.issue', args: { order: intentId }, step: 1 },
      { occurredAt: at(day, hour), cause: run, intentId },
    );
    const reserved = emit(
      'budget.reserved',
      { tool: 'refunds.issue', args: { order: intentId }, reserved_micro_usd: cost + 500, step: 1 },
      { occurredAt: at(day, hour), cause: proposed },
    );
    const resolved = emit(
      'intent.resolved',
      { status: 'executed', stage: 'executor' },
      { occurredAt: at(day, hour), cause: reserved },
    );
    emit(
      'budget.settled',
      { cost_micro_usd: cost, released_micro_usd: 500 },
      { occurredAt: at(day, hour), cause: resolved },
    );
  }

  /** A routed model call: its own intent id, no step, settled at `cost`. */
  function modelCall(run: EnvelopeBase, day: string, hour: number, cost: number): void {
    const requested = emit(
      'model.requested',
      { task_class: 'reasoning', estimated_tokens: 1000 },
      { occurredAt: at(day, hour), cause: run, intentId: nextId('model') },
    );
    const usage = emit(
      'model.usage',
      { model: 'big-model', input_tokens: 1000, output_tokens: 200, latency_ms: 800 },
      { occurredAt: at(day, hour), cause: requested },
    );
    emit(
      'budget.settled',
      { cost_micro_usd: cost, released_micro_usd: 0 },
      { occurredAt: at(day, hour), cause: usage },
    );
  }

  beforeAll(async () => {
    // Day 1, workflow refunds: A succeeds (a tool call and a model call), B is halted for a loop.
    const a = startRun('run-a', DAY_1, 9, { envelope: 'refunds', data: 'refunds' });
    toolCall(a, DAY_1, 9, 4_000);
    modelCall(a, DAY_1, 10, 1_234_567);
    emit('run.ended', { status: 'succeeded' }, { occurredAt: at(DAY_1, 10), cause: a });

    // B names its workflow on run.started only; its later events go without one.
    const b = startRun('run-b', DAY_1, 11, { envelope: 'refunds' });
    const bWithoutWorkflow = { ...b, workflow: undefined };
    toolCall(bWithoutWorkflow, DAY_1, 11, 2_000);
    toolCall(bWithoutWorkflow, DAY_1, 11, 2_000);
    emit(
      'run.halted',
      { reason: 'loop', by: 'cost-governor' },
      { occurredAt: at(DAY_1, 12), cause: bWithoutWorkflow },
    );

    // Day 2: C and D succeed (4,001 µUSD between them), E settles nothing.
    const c = startRun('run-c', DAY_2, 8, { envelope: 'refunds' });
    toolCall(c, DAY_2, 8, 3_000);
    emit('run.ended', { status: 'succeeded' }, { occurredAt: at(DAY_2, 8), cause: c });
    // D's workflow is in run.started's data only (a client that sets no envelope workflow).
    const d = startRun('run-d', DAY_2, 9, { data: 'refunds' });
    modelCall(d, DAY_2, 9, 1_001);
    emit('run.ended', { status: 'succeeded' }, { occurredAt: at(DAY_2, 9), cause: d });
    // E is paused, then (resumed) cancelled by its agent: it ended cancelled, and was halted.
    const e = startRun('run-e', DAY_2, 10, { envelope: 'refunds' });
    emit(
      'run.halted',
      { reason: 'paused', by: 'ops@example.com' },
      { occurredAt: at(DAY_2, 10), cause: e },
    );
    emit('run.ended', { status: 'cancelled' }, { occurredAt: at(DAY_2, 11), cause: e });
    // F, another workflow, started on day 1 and still active, settles after midnight: the
    // run counts on day 1, the agent's spend on day 2.
    const f = startRun('run-f', DAY_1, 23, { envelope: 'digest' });
    toolCall(f, DAY_2, 1, 700);

    dataDir = await makeTempDir('warden-cost-views-');
    store = await openEventStore({ kind: 'embedded', dataDir });
    await store.migrate();
    await store.insertEvents(
      events.map((event, i) => toEventRow(event, i + 1)),
      { deduplicationToken: `${env}:costs` },
    );
  });

  afterAll(async () => {
    await store.close();
    await removeTempDir(dataDir);
  });

  const read = async (sql: string) => (await store.readOnlyQuery(sql, { env })).rows;

  it('sums each run’s settlements, model and tool calls alike, with its status and start day', async () => {
    const rows = await read(
      'SELECT * EXCEPT env FROM run_costs WHERE env = {env:String} ORDER BY run_id',
    );
    expect(rows).toEqual([
      {
        run_id: 'run-a',
        agent_id: 'refund-bot',
        workflow: 'refunds',
        day: DAY_1,
        status: 'succeeded',
        halt_reason: '',
        steps: '1',
        settled_calls: '2',
        cost_micro_usd: '1238567',
      },
      {
        run_id: 'run-b',
        agent_id: 'refund-bot',
        workflow: 'refunds',
        day: DAY_1,
        status: 'halted',
        halt_reason: 'loop',
        steps: '2',
        settled_calls: '2',
        cost_micro_usd: '4000',
      },
      {
        run_id: 'run-c',
        agent_id: 'refund-bot',
        workflow: 'refunds',
        day: DAY_2,
        status: 'succeeded',
        halt_reason: '',
        steps: '1',
        settled_calls: '1',
        cost_micro_usd: '3000',
      },
      {
        run_id: 'run-d',
        agent_id: 'refund-bot',
        workflow: 'refunds',
        day: DAY_2,
        status: 'succeeded',
        halt_reason: '',
        steps: '0',
        settled_calls: '1',
        cost_micro_usd: '1001',
      },
      {
        run_id: 'run-e',
        agent_id: 'refund-bot',
        workflow: 'refunds',
        day: DAY_2,
        status: 'cancelled',
        halt_reason: 'paused',
        steps: '0',
        settled_calls: '0',
        cost_micro_usd: '0',
      },
      {
        run_id: 'run-f',
        agent_id: 'refund-bot',
        workflow: 'digest',
        day: DAY_1,
        status: 'active',
        halt_reason: '',
        steps: '1',
        settled_calls: '1',
        cost_micro_usd: '700',
      },
    ]);
  });

  it('divides a day’s whole cost by its successful runs, rounding down, NULL without one', async () => {
    const rows = await read(
      'SELECT * EXCEPT env FROM workflow_daily_costs WHERE env = {env:String} ORDER BY workflow, day',
    );
    expect(rows).toEqual([
      {
        workflow: 'digest',
        day: DAY_1,
        runs: '1',
        succeeded_runs: '0',
        cost_micro_usd: '700',
        cost_per_successful_run_micro_usd: null,
      },
      {
        workflow: 'refunds',
        day: DAY_1,
        runs: '2',
        succeeded_runs: '1',
        // A's 1,238,567 plus the halted B's 4,000: the failure is part of the success's price.
        cost_micro_usd: '1242567',
        cost_per_successful_run_micro_usd: '1242567',
      },
      {
        workflow: 'refunds',
        day: DAY_2,
        runs: '3',
        succeeded_runs: '2',
        cost_micro_usd: '4001',
        // 4,001 / 2 = 2,000.5, rounded down.
        cost_per_successful_run_micro_usd: '2000',
      },
    ]);
  });

  it('books an agent’s spend on the day each call settled', async () => {
    const rows = await read(
      'SELECT * EXCEPT env FROM agent_daily_spend WHERE env = {env:String} ORDER BY agent_id, day',
    );
    expect(rows).toEqual([
      {
        agent_id: 'refund-bot',
        day: DAY_1,
        cost_micro_usd: String(4_000 + 1_234_567 + 2_000 + 2_000),
        settled_calls: '4',
        runs: '2',
      },
      {
        agent_id: 'refund-bot',
        day: DAY_2,
        cost_micro_usd: String(3_000 + 1_001 + 700),
        settled_calls: '3',
        runs: '3',
      },
    ]);
  });

  it('counts halted runs per workflow, day and reason', async () => {
    const rows = await read(
      'SELECT * EXCEPT env FROM halted_runs_by_reason WHERE env = {env:String} ORDER BY day, reason',
    );
    expect(rows).toEqual([
      { workflow: 'refunds', day: DAY_1, reason: 'loop', runs: '1' },
      { workflow: 'refunds', day: DAY_2, reason: 'paused', runs: '1' },
    ]);
  });

  it('keeps money in integer columns', async () => {
    const rows = await read(
      `SELECT table, name, type FROM system.columns
       WHERE database = currentDatabase() AND name LIKE '%micro_usd' ORDER BY table, name`,
    );
    const viewColumns = rows.filter((row) =>
      ['run_costs', 'workflow_daily_costs', 'agent_daily_spend'].includes(String(row.table)),
    );
    expect(
      viewColumns.map((row) => `${String(row.table)}.${String(row.name)} ${String(row.type)}`),
    ).toEqual([
      'agent_daily_spend.cost_micro_usd Int64',
      'run_costs.cost_micro_usd Int64',
      'workflow_daily_costs.cost_micro_usd Int64',
      'workflow_daily_costs.cost_per_successful_run_micro_usd Nullable(Int64)',
    ]);
  });
});
