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

const HASH = 'a'.repeat(64);
const APPROVAL_1 = '01JD4K6Z8V3M2T9Q7W5X1Y0B3C';
const APPROVAL_2 = '01JD4K6Z8V3M2T9Q7W5X1Y0B3D';

/**
 * The run views of deploy/clickhouse/0004_run_views.sql (what `warden runs list|show` reads) on a
 * real chDB engine, fed rows the way the collector makes them (`toEventRow`) from envelopes built
 * the way the services build them (each stage's event caused by the one before).
 */
describe('run views (0004_run_views)', () => {
  const env = uniqueEnv('run-views');
  const otherEnv = uniqueEnv('run-views-other');
  let dataDir: string;
  let store: EventStore;

  let clock = 0;
  /** Each call a later time, so the timeline order is the build order. */
  const at = () => {
    clock += 1;
    return `2026-11-02T09:00:${String(Math.floor(clock / 1000)).padStart(2, '0')}.${String(clock % 1000).padStart(6, '0')}Z`;
  };
  let id = 0;
  const nextId = (prefix: string) => `${prefix}-${String(++id).padStart(4, '0')}`;

  const events: Envelope[] = [];
  function emit<T extends EventType>(
    type: T,
    data: DataOf<T>,
    context: {
      cause?: EnvelopeBase;
      env?: string;
      runId?: string;
      agentId?: string;
      workflow?: string;
      intentId?: string;
    },
  ): Envelope<T> {
    const event = buildEvent({
      type,
      data,
      env: context.env ?? context.cause?.env ?? env,
      producer: TEST_PRODUCER,
      occurredAt: at(),
      ...(context.cause === undefined ? { eventId: nextId('evt') } : {}),
      ...context,
    });
    events.push(event as Envelope);
    return event;
  }

  const startRun = (
    runId: string,
    agentId: string,
    data: DataOf<'run.started'>,
    runEnv = env,
  ): EnvelopeBase =>
    emit('run.started', data, {
      env: runEnv,
      runId,
      agentId,
      ...(data.workflow === undefined ? {} : { workflow: data.workflow }),
    });

  /** intent.proposed → policy.decided; returns both so the caller continues the chain. */
  function propose(
    run: EnvelopeBase,
    tool: string,
    step: number,
    decision: { effect: 'allow' | 'deny' | 'approval_required'; policies: string[] },
  ): { proposed: EnvelopeBase; decided: EnvelopeBase } {
    const intentId = nextId('intent');
    const args = { ticket_id: step };
    const proposed = emit('intent.proposed', { tool, args, step }, { cause: run, intentId });
    const decided = emit(
      'policy.decided',
      {
        tool,
        args,
        step,
        effect: decision.effect,
        determining_policy_ids: decision.policies,
        policy_version: 3,
        errors: [],
        eval_us: 40,
      },
      { cause: proposed },
    );
    return { proposed, decided };
  }

  /** budget.reserved → tool.started → intent.resolved{executed} → budget.settled at `cost`. */
  function execute(cause: EnvelopeBase, tool: string, step: number, cost: number): void {
    const reserved = emit(
      'budget.reserved',
      {
        tool,
        args: { ticket_id: step },
        step,
        reserved_micro_usd: cost,
        run_steps: step,
        max_steps: 10,
      },
      { cause },
    );
    const started = emit('tool.started', { tool, attempt: 1 }, { cause: reserved });
    const resolved = emit(
      'intent.resolved',
      { status: 'executed', stage: 'executor', tool, output: { requester: 'ann@example.com' } },
      { cause: started },
    );
    emit('budget.settled', { cost_micro_usd: cost, released_micro_usd: 0 }, { cause: resolved });
  }

  function requestApproval(decided: EnvelopeBase, tool: string, approvalId: string): EnvelopeBase {
    return emit(
      'approval.requested',
      {
        approval_id: approvalId,
        tool,
        args: { ticket_id: 2 },
        args_hash: HASH,
        step: 2,
        group: 'support-leads',
        separation_of_duties: true,
        policy_ids: ['bulk-needs-lead'],
        policy_version: 3,
        expires_at: '2026-11-02T10:00:00.000000Z',
      },
      { cause: decided },
    );
  }

  let duplicateRow: ReturnType<typeof toEventRow> | undefined;

  beforeAll(async () => {
    // A: a read, a bulk close a lead approved, a payroll call policy denied, a model call; ended.
    const a = startRun('run-a', 'triage-bot', {
      workflow: 'support',
      limits: { max_steps: 10, budget_micro_usd: 500_000 },
    });
    const read = propose(a, 'helpdesk.get_ticket', 1, { effect: 'allow', policies: ['reads'] });
    execute(read.decided, 'helpdesk.get_ticket', 1, 1_000);
    const bulk = propose(a, 'helpdesk.bulk_close', 2, {
      effect: 'approval_required',
      policies: ['bulk-needs-lead'],
    });
    const requested = requestApproval(bulk.decided, 'helpdesk.bulk_close', APPROVAL_1);
    const granted = emit(
      'approval.granted',
      {
        approval_id: APPROVAL_1,
        tool: 'helpdesk.bulk_close',
        args: { ticket_id: 2 },
        args_hash: HASH,
        step: 2,
        group: 'support-leads',
        approver: 'lead@example.com',
        comment: 'spam wave',
        policy_version: 3,
      },
      { cause: requested },
    );
    execute(granted, 'helpdesk.bulk_close', 2, 5_000);
    const payroll = propose(a, 'payroll.pay', 3, { effect: 'deny', policies: ['no-payroll'] });
    emit(
      'intent.resolved',
      {
        status: 'denied',
        stage: 'policy',
        tool: 'payroll.pay',
        reason: 'policy_denied',
        policy_ids: ['no-payroll'],
      },
      { cause: payroll.decided },
    );
    const model = emit(
      'model.requested',
      { task_class: 'extraction', estimated_tokens: 900 },
      { cause: a, intentId: nextId('model') },
    );
    const usage = emit(
      'model.usage',
      { model: 'small', input_tokens: 900, output_tokens: 100, latency_ms: 300 },
      { cause: model },
    );
    emit('budget.settled', { cost_micro_usd: 2_500, released_micro_usd: 0 }, { cause: usage });
    emit('run.ended', { status: 'succeeded', outcome: 'triaged 3 tickets' }, { cause: a });

    // B: an allowed call, then one allowed by policy but denied at the step cap; halted for a loop.
    // Its later events carry no workflow: run.started's data names it.
    const b = startRun('run-b', 'loop-bot', { workflow: 'support' });
    const bNoWorkflow = { ...b, workflow: undefined };
    const first = propose(bNoWorkflow, 'helpdesk.get_ticket', 1, {
      effect: 'allow',
      policies: ['reads'],
    });
    execute(first.decided, 'helpdesk.get_ticket', 1, 1_000);
    const capped = propose(bNoWorkflow, 'helpdesk.get_ticket', 2, {
      effect: 'allow',
      policies: ['reads'],
    });
    const cappedResolved = emit(
      'intent.resolved',
      { status: 'denied', stage: 'budget', tool: 'helpdesk.get_ticket', reason: 'step_cap' },
      { cause: capped.decided },
    );
    emit('run.halted', { reason: 'loop', by: 'cost-governor' }, { cause: bNoWorkflow });

    // C: waits for an approval; still running.
    const c = startRun('run-c', 'triage-bot', { workflow: 'support' });
    const waiting = propose(c, 'helpdesk.bulk_close', 2, {
      effect: 'approval_required',
      policies: ['bulk-needs-lead'],
    });
    requestApproval(waiting.decided, 'helpdesk.bulk_close', APPROVAL_2);

    // D: the same run id in another env.
    const d = startRun('run-a', 'triage-bot', { workflow: 'support' }, otherEnv);
    emit('run.halted', { reason: 'paused', by: 'ops' }, { cause: d });

    dataDir = await makeTempDir('warden-run-views-');
    store = await openEventStore({ kind: 'embedded', dataDir });
    await store.migrate();
    const rows = events.map((event, i) => toEventRow(event, i + 1));
    await store.insertEvents(rows, { deduplicationToken: `${env}:runs` });
    // The step-cap denial again, as a retry outside the deduplication window would store it.
    duplicateRow = rows.find((row) => row.event_id === cappedResolved.event_id);
    if (duplicateRow === undefined) throw new Error('the duplicate row is missing');
    await store.insertEvents([{ ...duplicateRow, stream_seq: rows.length + 1 }], {
      deduplicationToken: `${env}:runs-retry`,
    });
  });

  afterAll(async () => {
    await store.close();
    await removeTempDir(dataDir);
  });

  const read = async (sql: string, params: Record<string, unknown> = {}) =>
    (await store.readOnlyQuery(sql, { env, ...params })).rows;

  it('gives each run its status, steps, spend, denials and waiting approvals', async () => {
    const rows = await read(
      `SELECT run_id, agent_id, workflow, status, halt_reason, halted_by, outcome, steps, intents,
              executed, denied, approvals_requested, approvals_pending, cost_micro_usd, max_steps,
              declared_limits
       FROM run_overview WHERE env = {env:String} ORDER BY run_id`,
    );
    expect(rows).toEqual([
      {
        run_id: 'run-a',
        agent_id: 'triage-bot',
        workflow: 'support',
        status: 'succeeded',
        halt_reason: '',
        halted_by: '',
        outcome: 'triaged 3 tickets',
        steps: '2',
        intents: '3',
        executed: '2',
        denied: '1',
        approvals_requested: '1',
        approvals_pending: '0',
        // Two tool calls and the model call.
        cost_micro_usd: String(1_000 + 5_000 + 2_500),
        max_steps: '10',
        declared_limits: '{"max_steps":10,"budget_micro_usd":500000}',
      },
      {
        run_id: 'run-b',
        agent_id: 'loop-bot',
        workflow: 'support',
        status: 'halted',
        halt_reason: 'loop',
        halted_by: 'cost-governor',
        outcome: '',
        steps: '1',
        intents: '2',
        executed: '1',
        // Stored twice, counted once.
        denied: '1',
        approvals_requested: '0',
        approvals_pending: '0',
        cost_micro_usd: '1000',
        max_steps: '10',
        declared_limits: '',
      },
      {
        run_id: 'run-c',
        agent_id: 'triage-bot',
        workflow: 'support',
        status: 'running',
        halt_reason: '',
        halted_by: '',
        outcome: '',
        steps: '0',
        intents: '1',
        executed: '0',
        denied: '0',
        approvals_requested: '1',
        approvals_pending: '1',
        cost_micro_usd: '0',
        max_steps: '0',
        declared_limits: '',
      },
    ]);
  });

  it('starts a run at run.started and keeps runs of other envs apart', async () => {
    const [a] = await read(
      `SELECT started_at, ended_at, halted_at FROM run_overview
       WHERE env = {env:String} AND run_id = 'run-a'`,
    );
    expect(a).toEqual({
      started_at: events[0]?.occurred_at.replace('T', ' ').replace('Z', ''),
      ended_at: expect.stringMatching(/^2026-11-02 09:00:00\.\d{6}$/) as unknown,
      halted_at: null,
    });
    const other = await read(
      `SELECT run_id, status, halt_reason FROM run_overview WHERE env = {other:String}`,
      { other: otherEnv },
    );
    expect(other).toEqual([{ run_id: 'run-a', status: 'halted', halt_reason: 'paused' }]);
  });

  it('lists each refusal once with its stage, reason and the policies that decided it', async () => {
    // The step-cap denial is stored twice (see beforeAll): the view must still show it once.
    expect(
      await read(
        'SELECT count() AS n FROM events WHERE env = {env:String} AND event_id = {id:String}',
        {
          id: duplicateRow?.event_id,
        },
      ),
    ).toEqual([{ n: '2' }]);
    const rows = await read(
      `SELECT run_id, tool, step, status, stage, reason, effect, policy_ids, policy_version
       FROM run_denials WHERE env = {env:String} ORDER BY run_id, resolved_at`,
    );
    expect(rows).toEqual([
      {
        run_id: 'run-a',
        tool: 'payroll.pay',
        step: '3',
        status: 'denied',
        stage: 'policy',
        reason: 'policy_denied',
        effect: 'deny',
        policy_ids: ['no-payroll'],
        policy_version: '3',
      },
      {
        // intent.resolved names no policy: the ones that allowed it before the cap refused it.
        run_id: 'run-b',
        tool: 'helpdesk.get_ticket',
        step: '2',
        status: 'denied',
        stage: 'budget',
        reason: 'step_cap',
        effect: 'allow',
        policy_ids: ['reads'],
        policy_version: '3',
      },
    ]);
  });

  it('reads one run’s row by the sorting key', async () => {
    const rows = await read(
      `SELECT run_id FROM run_overview WHERE env = {env:String} AND run_id = {run:String}`,
      { run: 'run-c' },
    );
    expect(rows).toEqual([{ run_id: 'run-c' }]);
    const none = await read(
      `SELECT run_id FROM run_overview WHERE env = {env:String} AND run_id = {run:String}`,
      { run: 'run-zzz' },
    );
    expect(none).toEqual([]);
  });
});
