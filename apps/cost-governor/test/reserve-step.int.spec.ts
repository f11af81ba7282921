import { buildEvent, subjectOf, type Envelope } from '@warden/contracts';
import { eventsOfType, proposedEvent, TEST_PRODUCER, waitFor } from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GovernorHarness } from './governor-harness.js';

const harness = new GovernorHarness();
const { env } = harness;

beforeAll(() => harness.start());
afterAll(() => harness.stop());

/** The data of a `policy.decided` for the no-op tool. */
function decision(effect: 'allow' | 'deny') {
  return {
    tool: 'noop',
    args: {},
    step: 1,
    effect,
    determining_policy_ids: [] as string[],
    policy_version: 0,
    errors: [] as string[],
    eval_us: 1,
  };
}

const decided = (run: string, effect: 'allow' | 'deny' = 'allow', costMicroUsd?: number) =>
  harness.decided({ run, effect, ...(costMicroUsd === undefined ? {} : { costMicroUsd }) });

const startRun = async (run: string, maxSteps: number, budgetMicroUsd?: number) => {
  await harness.startRun(run, {
    max_steps: maxSteps,
    ...(budgetMicroUsd === undefined ? {} : { budget_micro_usd: budgetMicroUsd }),
  });
};

describe('cost-governor', () => {
  it('reserves steps up to the run’s own cap, then denies with step_cap', async () => {
    await startRun('run-cap', 3);
    const intents = Array.from({ length: 4 }, () => decided('run-cap'));
    for (const intent of intents) await harness.publisher.publish(intent);
    const outputs = await harness.outputsFor(intents, 4);
    const reserved = outputs.filter((event) => event.type === 'budget.reserved');
    const denied = outputs.filter((event) => event.type === 'intent.resolved');
    expect(reserved).toHaveLength(3);
    expect(denied).toHaveLength(1);
    expect(denied[0]?.data).toMatchObject({
      status: 'denied',
      stage: 'budget',
      tool: 'noop',
      reason: 'step_cap',
    });
    expect(reserved.map((event) => event.data)).toContainEqual(
      expect.objectContaining({ tool: 'noop', step: 1, run_steps: 3, max_steps: 3 }),
    );
    expect(await harness.record('run-cap')).toMatchObject({
      max_steps: 3,
      agent_id: 'gov-agent',
      counted: expect.arrayContaining(reserved.map((event) => event.intent_id)) as unknown,
    });
  });

  it('handles a decision delivered twice as the first time: counted once, same answer', async () => {
    await startRun('run-redeliver', 2);
    const intents = Array.from({ length: 3 }, () => decided('run-redeliver'));
    await harness.publisher.publishMany(intents);
    const first = await harness.outputsFor(intents, 3);
    const before = await harness.record('run-redeliver');
    expect(before?.counted).toHaveLength(2);

    // A redelivery the stream cannot dedupe: the same events under other Nats-Msg-Ids.
    let lastSeq = 0;
    for (const intent of intents) {
      const again = await harness.publisher.publishRaw(
        subjectOf(intent),
        JSON.stringify(intent),
        `${intent.event_id}-again`,
      );
      expect(again.duplicate).toBe(false);
      lastSeq = Math.max(lastSeq, again.seq);
    }
    await harness.decisionsHandledThrough(lastSeq);

    expect(await harness.record('run-redeliver')).toEqual(before);
    // The answers were published again with the same derived ids, and JetStream dropped them.
    const after = await harness.outputsFor(intents, 3);
    const summary = (events: Envelope[]) =>
      events.map((event) => `${event.intent_id ?? ''} ${event.type}`).sort();
    expect(summary(after)).toEqual(summary(first));
  });

  it('ignores a denied decision', async () => {
    const intent = decided('run-deny', 'deny');
    const marker = decided('run-deny');
    await harness.publisher.publish(intent);
    await harness.publisher.publish(marker);
    const outputs = await harness.outputsFor([intent, marker], 1);
    expect(outputs.map((event) => event.intent_id)).toEqual([marker.intent_id]);
  });

  it('denies an intent that belongs to no run', async () => {
    const intent = buildEvent({
      type: 'policy.decided',
      env,
      eventId: ulid(),
      intentId: ulid(),
      agentId: 'gov-agent',
      producer: TEST_PRODUCER,
      data: decision('allow'),
    });
    await harness.publisher.publish(intent);
    const [resolved] = await harness.outputsFor([intent], 1);
    expect(resolved).toMatchObject({
      type: 'intent.resolved',
      data: { status: 'denied', stage: 'budget', reason: 'no_run' },
    });
  });

  it('two replicas count every intent exactly once', async () => {
    await harness.startReplica();
    const runIds = Array.from({ length: 5 }, (_, i) => `run-replicas-${i}`);
    const intents = Array.from({ length: 100 }, (_, i) => decided(runIds[i % 5] ?? 'run-x'));
    await harness.publisher.publishMany(intents);
    const outputs = await harness.outputsFor(intents, 100);
    expect(outputs).toHaveLength(100);
    expect(outputs.every((event) => event.type === 'budget.reserved')).toBe(true);
    expect(new Set(outputs.map((event) => event.intent_id)).size).toBe(100);
    for (const run of runIds) {
      const mine = outputs.filter((event) => event.run_id === run);
      const steps = mine
        .map((event) => (event.data as { run_steps: number }).run_steps)
        .sort((a, b) => a - b);
      expect(steps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const stored = await harness.record(run);
      expect(stored?.max_steps).toBe(1000);
      expect([...(stored?.counted ?? [])].sort()).toEqual(
        mine.map((event) => event.intent_id).sort(),
      );
    }
  });

  it('reserves exactly the run budget across two replicas: 37 of 200 concurrent intents', async () => {
    expect(harness.running.length).toBeGreaterThanOrEqual(2);
    const run = 'run-budget-37';
    const cost = 13_337;
    await startRun(run, 1000, 37 * cost);
    const intents = Array.from({ length: 200 }, () => decided(run, 'allow', cost));
    await harness.publisher.publishMany(intents);
    const outputs = await harness.outputsFor(intents, 200);
    const reserved = outputs.filter((event) => event.type === 'budget.reserved');
    const denied = outputs.filter((event) => event.type === 'intent.resolved');
    expect(new Set(outputs.map((event) => event.intent_id)).size).toBe(200);
    expect(reserved).toHaveLength(37);
    expect(denied).toHaveLength(163);
    expect(
      denied.every((event) => (event.data as { reason?: string }).reason === 'run_budget'),
    ).toBe(true);
    const stored = await harness.record(run);
    const held = Object.values(stored?.budget?.open ?? {}).reduce((sum, r) => sum + r.micro_usd, 0);
    expect(held).toBe(37 * cost);
    expect(stored?.counted).toHaveLength(37);

    // Settlement: each executed intent books its price once, with the run's running total.
    const settledIntents = intents
      .filter((intent) => reserved.some((event) => event.intent_id === intent.intent_id))
      .slice(0, 5);
    await harness.publisher.publishMany(settledIntents.map((intent) => harness.executed(intent)));
    await harness.publisher.publishMany(settledIntents.map((intent) => harness.executed(intent))); // a redelivered copy changes nothing
    const settled = await waitFor(async () => {
      const ids = new Set(settledIntents.map((intent) => intent.intent_id));
      const mine = (await eventsOfType(harness.nc, env, 'budget.settled')).filter((e) =>
        ids.has(e.intent_id),
      );
      return mine.length >= 5 ? mine : undefined;
    });
    expect(settled).toHaveLength(5);
    const totals = settled
      .map((event) => (event.data as { run_cost_micro_usd: number }).run_cost_micro_usd)
      .sort((a, b) => a - b);
    expect(totals).toEqual([1, 2, 3, 4, 5].map((n) => n * cost));
    const after = await harness.record(run);
    expect(after?.budget?.booked.micro_usd).toBe(5 * cost);
  });

  it("takes a run's declared budget as its limit when none is configured", async () => {
    await startRun('run-declared-low', 10, 100);
    expect((await harness.record('run-declared-low'))?.budget?.limit).toEqual({ micro_usd: 100 });
  });

  it('goes on from a human approval: the granted args and price are reserved', async () => {
    const run = 'run-approved';
    await startRun(run, 10, 5_000);
    const waiting = decided(run, 'allow', 1_200);
    const granted = buildEvent({
      type: 'approval.granted',
      cause: waiting,
      producer: TEST_PRODUCER,
      data: {
        approval_id: ulid(),
        tool: 'noop',
        args: { ticket_ids: [1, 2] },
        args_hash: 'a'.repeat(64),
        step: 1,
        group: 'support-leads',
        approver: 'human:lead',
        comment: 'ok',
        policy_version: 3,
        cost_micro_usd: 1_200,
      },
    });
    await harness.publisher.publish(granted);
    const [reserved] = await harness.outputsFor([waiting], 1);
    expect(reserved).toMatchObject({
      type: 'budget.reserved',
      causation_id: granted.event_id,
      data: {
        args: { ticket_ids: [1, 2] },
        reserved_micro_usd: 1_200,
        run_remaining_micro_usd: 3_800,
      },
    });
  });

  it('halts a run at the fourth identical call: run.halted, then every intent denied loop', async () => {
    const run = 'run-loop';
    await startRun(run, 100);
    const same = (): Envelope<'policy.decided'> => {
      const proposed = proposedEvent(env, { run, agent: 'gov-agent', tool: 'noop', args: {} });
      return buildEvent({
        type: 'policy.decided',
        cause: proposed,
        producer: TEST_PRODUCER,
        data: decision('allow'),
      });
    };
    const calls = [same(), same(), same(), same()];
    for (const intent of calls) {
      await harness.publisher.publish(intent);
      await harness.outputsFor([intent], 1);
    }
    const later = decided(run);
    await harness.publisher.publish(later);
    const outputs = await harness.outputsFor([...calls, later], 5);
    const byIntent = (intent: Envelope) => outputs.find((e) => e.intent_id === intent.intent_id);
    expect(calls.slice(0, 3).map((intent) => byIntent(intent)?.type)).toEqual([
      'budget.reserved',
      'budget.reserved',
      'budget.reserved',
    ]);
    expect(byIntent(calls[3] as Envelope)?.data).toMatchObject({
      status: 'denied',
      reason: 'loop',
    });
    expect(byIntent(later)?.data).toMatchObject({ status: 'denied', reason: 'loop' });
    const halted = (await eventsOfType(harness.nc, env, 'run.halted')).filter(
      (e) => e.run_id === run,
    );
    expect(halted).toHaveLength(1);
    expect(halted[0]?.data).toMatchObject({ reason: 'loop' });
  });

  it('routes a model call within the run budget, then books its usage exactly', async () => {
    const run = 'run-models';
    await startRun(run, 10, 1_000_000);
    const request = (taskClass: string, tokens: number): Envelope<'model.requested'> => {
      const id = ulid();
      return buildEvent({
        type: 'model.requested',
        env,
        eventId: id,
        intentId: id,
        runId: run,
        agentId: 'gov-agent',
        producer: TEST_PRODUCER,
        data: { task_class: taskClass, estimated_tokens: tokens },
      });
    };
    const extraction = request('extraction', 2_000);
    const planning = request('planning', 2_000);
    await harness.publisher.publishMany([extraction, planning]);
    const routed = await waitFor(async () => {
      const ids = new Set([extraction.intent_id, planning.intent_id]);
      const mine = (await eventsOfType(harness.nc, env, 'model.routed')).filter((e) =>
        ids.has(e.intent_id),
      );
      return mine.length === 2 ? mine : undefined;
    });
    const modelOf = (intent: Envelope) =>
      (routed.find((e) => e.intent_id === intent.intent_id)?.data as { model?: string }).model;
    expect(modelOf(extraction)).toBe('small-model');
    expect(modelOf(planning)).toBe('top-model');

    const usage = buildEvent({
      type: 'model.usage',
      cause: extraction,
      producer: TEST_PRODUCER,
      data: {
        model: 'small-model',
        input_tokens: 1_234_567,
        output_tokens: 1_000,
        latency_ms: 900,
      },
    });
    await harness.publisher.publish(usage);
    const settled = await waitFor(async () =>
      (await eventsOfType(harness.nc, env, 'budget.settled')).find(
        (e) => e.causation_id === usage.event_id,
      ),
    );
    expect(settled.data).toMatchObject({ cost_micro_usd: 185_786 });
  });
});
