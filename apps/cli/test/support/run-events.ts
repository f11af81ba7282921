import {
  buildEvent,
  type DataOf,
  type Envelope,
  type EnvelopeBase,
  type EventType,
} from '@warden/contracts';
import type { EventRow } from '@warden/event-store';
import { redact } from '@warden/redaction';
import { TEST_PRODUCER } from '@warden/testing';

/*
 * Runs as the services record them, for the tests of `warden runs`: envelopes built with
 * `buildEvent` (each stage's event caused by the one before, as the services chain them), turned
 * into `events` rows the way the trace collector does (apps/trace-collector/src/domain/
 * to-event-row.ts: data redacted, the filter columns lifted out of it). An app may not import
 * another app, so the mapping is repeated here, kept to what the views and the timeline read.
 */

/** Builds a run's events at increasing times, one microsecond-tick apart unless told otherwise. */
export class RunRecorder {
  readonly events: Envelope[] = [];
  #micros = 0;
  #id = 0;

  constructor(
    readonly env: string,
    private readonly start = Date.parse('2026-11-02T09:00:00Z'),
  ) {}

  /** Moves the clock on by `ms` before the next event. */
  wait(ms: number): void {
    this.#micros += Math.round(ms * 1000);
  }

  emit<T extends EventType>(
    type: T,
    data: DataOf<T>,
    context: {
      cause?: EnvelopeBase;
      runId?: string;
      agentId?: string;
      workflow?: string;
      intentId?: string;
    },
  ): Envelope<T> {
    this.#micros += 1000;
    const event = buildEvent({
      type,
      data,
      env: this.env,
      producer: TEST_PRODUCER,
      occurredAt: this.#at(),
      ...(context.cause === undefined ? { eventId: `evt-${String(++this.#id)}` } : {}),
      ...context,
    });
    this.events.push(event as Envelope);
    return event;
  }

  /** `events` rows, as the collector writes them. */
  rows(): EventRow[] {
    return this.events.map((event, i) => toRow(event, i + 1));
  }

  /** The rows as `audit.timeline` returns them (a stored row also has `ingested_at`). */
  storedRows(): Record<string, unknown>[] {
    return this.rows().map((row) => ({ ...row, ingested_at: row.occurred_at }));
  }

  #at(): string {
    const ms = this.start + Math.floor(this.#micros / 1000);
    const micros = String(this.#micros % 1000).padStart(3, '0');
    return `${new Date(ms).toISOString().slice(0, 23)}${micros}Z`;
  }
}

function toRow(event: Envelope, seq: number): EventRow {
  const { sealed_output: _sealed, ...data } = event.data as Record<string, unknown>;
  const redacted = redact(data);
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const int = (value: unknown) =>
    typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
  return {
    event_id: event.event_id,
    type: event.type,
    env: event.env,
    occurred_at: event.occurred_at,
    stream_seq: seq,
    producer_service: event.producer.service,
    producer_instance: event.producer.instance,
    producer_version: event.producer.version,
    run_id: event.run_id ?? '',
    intent_id: event.intent_id ?? '',
    agent_id: event.agent_id ?? '',
    workflow: event.workflow ?? '',
    causation_id: event.causation_id,
    correlation_id: event.correlation_id,
    tool: text(data.tool) ?? text(data.name) ?? '',
    effect: text(data.effect) ?? '',
    status: text(data.status) ?? '',
    stage: text(data.stage) ?? '',
    reason: text(data.reason) ?? '',
    cost_micro_usd: int(data.cost_micro_usd) ?? int(data.reserved_micro_usd) ?? 0,
    latency_us: 0,
    data: JSON.stringify(redacted.value),
    sealed: '',
    redactions: redacted.kinds,
  };
}

const HASH = 'a'.repeat(64);

/**
 * One run of the reference kind: a retrieval span; a read (executed, its output holding an email
 * the collector redacts); a bulk close a lead approved; a payroll call policy denied; a model
 * call; a read the governor refused at the step cap after policy allowed it; halted for a loop;
 * ended by the agent. Spend: 1,000 + 5,000 + 2,500 µUSD.
 */
export function recordReferenceRun(recorder: RunRecorder, runId: string): void {
  const emit = recorder.emit.bind(recorder);
  const run = emit(
    'run.started',
    { workflow: 'support', limits: { max_steps: 10, budget_micro_usd: 500_000 } },
    { runId, agentId: 'triage-bot', workflow: 'support' },
  );
  emit(
    'trace.span',
    {
      name: 'read queue',
      kind: 'retrieval',
      started_at: '2026-11-02T09:00:00.001000Z',
      duration_ms: 12.345,
    },
    { cause: run },
  );
  let n = 0;
  const propose = (
    tool: string,
    args: Record<string, unknown>,
    effect: 'allow' | 'deny' | 'approval_required',
    policies: string[],
  ) => {
    n += 1;
    const proposed = emit(
      'intent.proposed',
      { tool, args, step: n },
      { cause: run, intentId: `01JD4K6Z8V3M2T9Q7W5X1Y0B${String(n).padStart(2, '0')}` },
    );
    const decided = emit(
      'policy.decided',
      {
        tool,
        args,
        step: n,
        effect,
        determining_policy_ids: policies,
        policy_version: 3,
        errors: [],
        eval_us: 40,
        ...(effect === 'approval_required'
          ? { approval: { group: 'support-leads', separation_of_duties: true } }
          : {}),
      },
      { cause: proposed },
    );
    return { step: n, decided };
  };
  const execute = (
    cause: EnvelopeBase,
    tool: string,
    step: number,
    cost: number,
    output: unknown,
    runCost: number,
  ) => {
    const reserved = emit(
      'budget.reserved',
      {
        tool,
        args: {},
        step,
        reserved_micro_usd: cost,
        run_steps: step,
        max_steps: 10,
        run_remaining_micro_usd: 500_000 - runCost,
      },
      { cause },
    );
    const started = emit('tool.started', { tool, attempt: 1 }, { cause: reserved });
    recorder.wait(40);
    const resolved = emit(
      'intent.resolved',
      {
        status: 'executed',
        stage: 'executor',
        tool,
        output,
        duration_ms: 39.96,
        upstream_status: 200,
      },
      { cause: started },
    );
    emit(
      'budget.settled',
      { cost_micro_usd: cost, released_micro_usd: 0, run_cost_micro_usd: runCost },
      { cause: resolved },
    );
  };

  const read = propose('helpdesk.get_ticket', { ticket_id: 42 }, 'allow', ['reads']);
  execute(
    read.decided,
    'helpdesk.get_ticket',
    read.step,
    1_000,
    { id: 42, requester: 'ann.lee@example.com', subject: 'x'.repeat(300) },
    1_000,
  );

  const bulk = propose('helpdesk.bulk_close', { ticket_ids: [1, 2, 3] }, 'approval_required', [
    'bulk-needs-lead',
  ]);
  const requested = emit(
    'approval.requested',
    {
      approval_id: '01JD4K6Z8V3M2T9Q7W5X1Y0B3C',
      tool: 'helpdesk.bulk_close',
      args: { ticket_ids: [1, 2, 3] },
      args_hash: HASH,
      step: bulk.step,
      group: 'support-leads',
      separation_of_duties: true,
      owner: 'alice',
      policy_ids: ['bulk-needs-lead'],
      policy_version: 3,
      expires_at: '2026-11-02T10:00:00.000000Z',
    },
    { cause: bulk.decided },
  );
  recorder.wait(60_000);
  const granted = emit(
    'approval.granted',
    {
      approval_id: '01JD4K6Z8V3M2T9Q7W5X1Y0B3C',
      tool: 'helpdesk.bulk_close',
      args: { ticket_ids: [1, 2, 3] },
      args_hash: HASH,
      step: bulk.step,
      group: 'support-leads',
      approver: 'lee',
      comment: 'spam wave',
      policy_version: 3,
    },
    { cause: requested },
  );
  execute(granted, 'helpdesk.bulk_close', bulk.step, 5_000, { closed: 3 }, 6_000);

  const payroll = propose('payroll.run', { period: '2026-11' }, 'deny', ['no-payroll']);
  emit(
    'intent.resolved',
    {
      status: 'denied',
      stage: 'policy',
      tool: 'payroll.run',
      reason: 'forbidden',
      message: 'forbidden by policy no-payroll',
      policy_ids: ['no-payroll'],
    },
    { cause: payroll.decided },
  );

  const model = emit(
    'model.requested',
    { task_class: 'extraction', estimated_tokens: 900 },
    { cause: run, intentId: '01JD4K6Z8V3M2T9Q7W5X1Y0BMM' },
  );
  const routed = emit(
    'model.routed',
    { task_class: 'extraction', model: 'small-1', estimated_micro_usd: 3_000, tier: 1 },
    { cause: model },
  );
  const usage = emit(
    'model.usage',
    { model: 'small-1', input_tokens: 900, output_tokens: 100, latency_ms: 300 },
    { cause: routed },
  );
  emit(
    'budget.settled',
    { cost_micro_usd: 2_500, released_micro_usd: 500, run_cost_micro_usd: 8_500 },
    { cause: usage },
  );

  const capped = propose('helpdesk.get_ticket', { ticket_id: 42 }, 'allow', ['reads']);
  emit(
    'run.halted',
    { reason: 'loop', by: 'service:cost-governor', message: 'the same call 4 times' },
    { cause: capped.decided },
  );
  emit(
    'intent.resolved',
    { status: 'denied', stage: 'budget', tool: 'helpdesk.get_ticket', reason: 'loop' },
    { cause: capped.decided },
  );
  emit('run.ended', { status: 'failed', outcome: 'stopped by a loop' }, { cause: run });
}
