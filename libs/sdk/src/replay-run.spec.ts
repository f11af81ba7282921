import { buildEvent, type DataOf, type Envelope, type EventType } from '@warden/contracts';
import { redact } from '@warden/redaction';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import {
  ApprovalPendingError,
  DeniedError,
  NonDeterminismError,
  RecordingError,
  RunHaltedError,
} from './errors.js';
import {
  parseRecording,
  recordingFromTimeline,
  withOpenedOutputs,
  type RunRecording,
} from './recording.js';
import { ReplayRun } from './replay-run.js';

const ENV = 'dev';
const RUN = 'run-replay-spec';
const producer = { service: 'sdk', instance: 'spec', version: '0' };
const SEALED = {
  alg: 'A256GCM',
  key_id: RUN,
  iv: 'aXY=',
  ciphertext: 'Y3Q=',
  tag: 'dGFn',
} as const;

/** The stored row of an event, as the trace collector writes it: data redacted, sealed apart. */
function rowOf(event: Envelope, seq: number): Record<string, unknown> {
  const { sealed_output: sealed, ...data } = event.data as Record<string, unknown>;
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
    data: JSON.stringify(redact(data).value),
    sealed: sealed === undefined ? '' : JSON.stringify(sealed),
  };
}

/** A recorded run, told as the events its timeline holds. */
function timeline() {
  const events: Envelope[] = [];
  const emit = <T extends EventType>(type: T, intentId: string, data: DataOf<T>) =>
    events.push(
      buildEvent({
        type,
        env: ENV,
        eventId: ulid(),
        runId: RUN,
        intentId,
        agentId: 'triage-1',
        workflow: 'support-triage',
        producer,
        data,
      }) as Envelope,
    );
  const call = (step: number, tool: string, args: Record<string, unknown>) => {
    const intentId = ulid();
    emit('intent.proposed', intentId, { tool, args, step });
    return intentId;
  };
  const ids = {
    search: call(1, 'zendesk.search_tickets', { status: 'new', limit: 100 }),
    read: '',
    payroll: '',
    bulk: '',
    loop: '',
    model: ulid(),
  };
  emit('intent.resolved', ids.search, {
    status: 'executed',
    stage: 'executor',
    tool: 'zendesk.search_tickets',
    output: { tickets: [{ id: 1, requester_email: 'ann@example.com' }] },
    sealed_output: SEALED,
  });
  ids.read = call(2, 'zendesk.get_ticket', { ticket_id: 1 });
  emit('intent.resolved', ids.read, {
    status: 'executed',
    stage: 'executor',
    tool: 'zendesk.get_ticket',
    output: { ticket: { id: 1 } },
  });
  emit('model.requested', ids.model, { task_class: 'classification', estimated_tokens: 100 });
  emit('model.routed', ids.model, {
    task_class: 'classification',
    model: 'small-model',
    estimated_micro_usd: 150,
  });
  ids.payroll = call(3, 'payroll.run', { period: '2026-11-01', note: 'from ann@example.com' });
  emit('intent.resolved', ids.payroll, {
    status: 'denied',
    stage: 'policy',
    tool: 'payroll.run',
    reason: 'not_permitted',
    policy_ids: ['no-payroll'],
  });
  ids.bulk = call(4, 'zendesk.bulk_close', { ticket_ids: [5, 6], reason: 'spam' });
  emit('approval.requested', ids.bulk, {
    approval_id: ulid(),
    tool: 'zendesk.bulk_close',
    args: { ticket_ids: [5, 6], reason: 'spam' },
    args_hash: 'a'.repeat(64),
    step: 4,
    group: 'support-leads',
    separation_of_duties: true,
    policy_ids: ['bulk-needs-lead'],
    policy_version: 1,
    expires_at: '2026-11-27T18:00:00.000000Z',
  });
  ids.loop = call(5, 'zendesk.get_ticket', { ticket_id: 3 });
  emit('intent.resolved', ids.loop, {
    status: 'denied',
    stage: 'budget',
    tool: 'zendesk.get_ticket',
    reason: 'loop',
  });
  return { rows: events.map(rowOf), ids };
}

/** The recording of {@link timeline}, with the search's sealed output opened. */
function recorded(): { recording: RunRecording; ids: ReturnType<typeof timeline>['ids'] } {
  const { rows, ids } = timeline();
  const { recording } = recordingFromTimeline(ENV, RUN, rows);
  const raw = { tickets: [{ id: 1, requester_email: 'ann@example.com' }] };
  return {
    recording: withOpenedOutputs(recording, [
      { intent_id: ids.search, status: 'opened', output: raw },
    ]),
    ids,
  };
}

/** The recorded agent: each step asked for as it was. */
async function playRecordedAgent(run: ReplayRun) {
  const answers: unknown[] = [];
  const ask = async (tool: string, args: Record<string, unknown>) => {
    answers.push(await run.call(tool, args).catch((error: unknown) => error));
  };
  await ask('zendesk.search_tickets', { limit: 100, status: 'new' });
  await ask('zendesk.get_ticket', { ticket_id: 1 });
  await ask('payroll.run', { period: '2026-11-01', note: 'from someone@example.org' });
  await ask('zendesk.bulk_close', { ticket_ids: [5, 6], reason: 'spam' });
  await ask('zendesk.get_ticket', { ticket_id: 3 });
  return answers;
}

describe('recordingFromTimeline', () => {
  it('lists the run’s calls in step order with their stored args, answers and sealed outputs', () => {
    const { rows, ids } = timeline();
    const { recording, sealed } = recordingFromTimeline(ENV, RUN, rows);
    expect(recording).toMatchObject({
      run_id: RUN,
      agent_id: 'triage-1',
      workflow: 'support-triage',
    });
    expect(recording.steps.map((step) => [step.step, step.tool, step.output_from])).toEqual([
      [1, 'zendesk.search_tickets', 'log'],
      [2, 'zendesk.get_ticket', 'log'],
      [3, 'payroll.run', 'log'],
      [4, 'zendesk.bulk_close', 'log'],
      [5, 'zendesk.get_ticket', 'log'],
    ]);
    // What the log keeps: redacted args and outputs; the sealed output to open apart.
    expect(recording.steps[2]?.args).toEqual({
      period: '2026-11-01',
      note: 'from [REDACTED:email]',
    });
    expect(recording.steps[0]?.resolved?.data.output).toEqual({
      tickets: [{ id: 1, requester_email: '[REDACTED:email]' }],
    });
    expect(sealed).toEqual([{ intent_id: ids.search, sealed: SEALED }]);
    expect(recording.steps[3]?.approval?.data.group).toBe('support-leads');
    expect(recording.steps[3]?.resolved).toBeUndefined();
    expect(recording.model_calls).toMatchObject([
      {
        intent_id: ids.model,
        task_class: 'classification',
        routed: { data: { model: 'small-model' } },
      },
    ]);
  });

  it('puts the opened raw outputs in place of the redacted copies, and survives JSON', () => {
    const { recording } = recorded();
    expect(recording.steps[0]?.output_from).toBe('sealed');
    expect(recording.steps[0]?.resolved?.data.output).toEqual({
      tickets: [{ id: 1, requester_email: 'ann@example.com' }],
    });
    expect(parseRecording(JSON.parse(JSON.stringify(recording)))).toEqual(recording);
  });

  it('refuses a recording whose sealed output was erased, a run with no call, and a stranger file', () => {
    const { rows, ids } = timeline();
    const { recording } = recordingFromTimeline(ENV, RUN, rows);
    expect(() =>
      withOpenedOutputs(recording, [{ intent_id: ids.search, status: 'erased' }]),
    ).toThrow(
      expect.objectContaining({
        code: 'output_unavailable',
        message: expect.stringContaining('step 1') as unknown,
      }),
    );
    expect(() => recordingFromTimeline(ENV, RUN, [])).toThrow(RecordingError);
    expect(() => parseRecording({ format: 'something else' })).toThrow(
      expect.objectContaining({ name: 'RecordingError', code: 'invalid' }),
    );
  });
});

describe('ReplayRun', () => {
  it('serves the recorded answers in order to the same agent, as the live SDK gave them', async () => {
    const { recording, ids } = recorded();
    const run = new ReplayRun(recording);
    expect(run.nextStep).toBe(1);
    const [search, read, payroll, bulk, loop] = await playRecordedAgent(run);
    expect(search).toMatchObject({
      intentId: ids.search,
      status: 'executed',
      output: { tickets: [{ id: 1, requester_email: 'ann@example.com' }] },
    });
    expect(read).toMatchObject({ intentId: ids.read, output: { ticket: { id: 1 } } });
    expect(payroll).toBeInstanceOf(DeniedError);
    expect(payroll).toMatchObject({ reason: 'not_permitted', policyIds: ['no-payroll'] });
    expect(bulk).toBeInstanceOf(ApprovalPendingError);
    expect(bulk).toMatchObject({ intentId: ids.bulk, group: 'support-leads' });
    expect(loop).toBeInstanceOf(RunHaltedError);
    expect(await run.end({ status: 'succeeded' })).toEqual({
      complete: true,
      consumed: 5,
      recorded: 5,
      remaining: [],
      status: 'succeeded',
    });
  });

  it('answers a step again for its intent id, without taking the next step', async () => {
    const { recording, ids } = recorded();
    const run = new ReplayRun(recording);
    const mine = ulid();
    await run.call('zendesk.search_tickets', { status: 'new', limit: 100 }, { intentId: mine });
    const again = await run.call(
      'zendesk.search_tickets',
      { status: 'new', limit: 100 },
      { intentId: mine },
    );
    expect(again.intentId).toBe(mine);
    expect(run.nextStep).toBe(2);
    expect(run.summary()).toMatchObject({
      complete: false,
      consumed: 1,
      remaining: [
        '2 zendesk.get_ticket',
        '3 payroll.run',
        '4 zendesk.bulk_close',
        '5 zendesk.get_ticket',
      ],
    });
    expect(ids.search).not.toBe(mine);
  });

  it('throws NonDeterminismError naming the step when the agent asks for another tool', async () => {
    const run = new ReplayRun(recorded().recording);
    await run.call('zendesk.search_tickets', { status: 'new', limit: 100 });
    const error = await run
      .call('zendesk.search_tickets', { status: 'open', limit: 100 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NonDeterminismError);
    expect(error).toMatchObject({
      step: 2,
      recorded: { kind: 'tool', name: 'zendesk.get_ticket', args: { ticket_id: 1 } },
      asked: { kind: 'tool', name: 'zendesk.search_tickets' },
      difference: 'tool: recorded zendesk.get_ticket, asked zendesk.search_tickets',
    });
    expect((error as Error).message).toMatch(
      /^replay step 2: the recording has zendesk\.get_ticket/,
    );
  });

  it('throws NonDeterminismError for other args, and for a step past the recording', async () => {
    const run = new ReplayRun(recorded().recording);
    await expect(
      run.call('zendesk.search_tickets', { status: 'open', limit: 100 }),
    ).rejects.toThrow(
      'replay step 1: the recording has zendesk.search_tickets {"status":"new","limit":100}, the agent asked for zendesk.search_tickets {"status":"open","limit":100} (args.status: recorded "new", asked "open")',
    );
    const full = new ReplayRun(recorded().recording);
    await playRecordedAgent(full);
    const past = await full.call('echo', { text: 'one more' }).catch((caught: unknown) => caught);
    expect(past).toMatchObject({ name: 'NonDeterminismError', step: 6, recorded: undefined });
  });

  it('serves recorded model routings per task class, and refuses one more', async () => {
    const { recording, ids } = recorded();
    const run = new ReplayRun(recording);
    const route = await run.model({ taskClass: 'classification', estimatedTokens: 90 });
    expect(route).toMatchObject({
      intentId: ids.model,
      model: 'small-model',
      estimatedUsd: '0.00015',
    });
    await run.reportModelUsage({
      model: route.model,
      inputTokens: 1,
      outputTokens: 1,
      latencyMs: 1,
    });
    await expect(run.model({ taskClass: 'drafting', estimatedTokens: 10 })).rejects.toBeInstanceOf(
      NonDeterminismError,
    );
  });
});
