import type { Envelope } from '@warden/contracts';
import { waitFor } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetAccount } from '../src/domain/ledger/index.js';
import { GovernorHarness } from './governor-harness.js';

// Reconciliation after 1 s, so a lost executor is noticed within the test.
const harness = new GovernorHarness({ GOVERNOR_RECONCILE_AFTER_MS: '1000' });

beforeAll(() => harness.start());
afterAll(() => harness.stop());

const reasonOf = (event: Envelope | undefined) => (event?.data as { reason?: string }).reason;

/** The governor's answer to each intent, in the order given. */
async function answersTo(intents: Envelope<'policy.decided'>[]): Promise<string[]> {
  const outputs = await harness.outputsFor(intents, intents.length);
  return intents.map((intent) => {
    const output = outputs.find((event) => event.intent_id === intent.intent_id);
    return output?.type === 'budget.reserved' ? 'reserved' : (reasonOf(output) ?? '?');
  });
}

/** Publishes intents one after the other, each once the previous one was answered. */
async function oneByOne(intents: Envelope<'policy.decided'>[]): Promise<string[]> {
  for (const intent of intents) {
    await harness.publisher.publish(intent);
    await harness.outputsFor([intent], 1);
  }
  return answersTo(intents);
}

describe('cost-governor controls (budgets, kill switch, breakers, reconciliation)', () => {
  it('charges an agent’s daily budget across its runs, and starts afresh the next UTC day', async () => {
    await harness.publishChange(
      'budget.configured',
      { scope: 'agent', scope_id: 'daily-bot', limits: { budget_micro_usd: 300 }, by: 'human:ops' },
      { agentId: 'daily-bot' },
    );
    await harness.controlsWhere((c) => c.agents['daily-bot']?.budget_micro_usd === 300);
    const lateYesterday = '2026-11-26T23:59:50.000000Z';
    const early = '2026-11-27T00:00:05.000000Z';
    const call = (run: string, occurredAt: string) =>
      harness.decided({ run, agent: 'daily-bot', costMicroUsd: 100, occurredAt });
    await harness.startRun('daily-a', {}, 'daily-bot');
    await harness.startRun('daily-b', {}, 'daily-bot');
    const answers = await oneByOne([
      call('daily-a', lateYesterday),
      call('daily-a', lateYesterday),
      call('daily-b', lateYesterday),
      call('daily-b', lateYesterday),
      call('daily-b', early),
    ]);
    expect(answers).toEqual(['reserved', 'reserved', 'reserved', 'daily_budget', 'reserved']);
    const yesterday = await harness.budgetValue<BudgetAccount>('agent.daily-bot.2026-11-26');
    expect(Object.values(yesterday?.open ?? {}).map((r) => r.micro_usd)).toEqual([100, 100, 100]);
    const today = await harness.budgetValue<BudgetAccount>('agent.daily-bot.2026-11-27');
    expect(Object.keys(today?.open ?? {})).toHaveLength(1);
    // The refused intent took no step of its run, and holds no money there.
    expect((await harness.record('daily-b'))?.counted).toHaveLength(2);
  });

  it('limits a workflow’s day across its agents', async () => {
    await harness.publishChange(
      'budget.configured',
      { scope: 'workflow', scope_id: 'triage', limits: { budget_micro_usd: 250 }, by: 'human:ops' },
      { workflow: 'triage' },
    );
    await harness.controlsWhere((c) => c.workflows.triage?.budget_micro_usd === 250);
    await harness.startRun('wf-1', {}, 'wf-bot-1', 'triage');
    await harness.startRun('wf-2', {}, 'wf-bot-2', 'triage');
    const answers = await oneByOne([
      harness.decided({ run: 'wf-1', agent: 'wf-bot-1', costMicroUsd: 100 }),
      harness.decided({ run: 'wf-2', agent: 'wf-bot-2', costMicroUsd: 100 }),
      harness.decided({ run: 'wf-2', agent: 'wf-bot-2', costMicroUsd: 100 }),
      harness.decided({ run: 'wf-1', agent: 'wf-bot-1', costMicroUsd: 50 }),
    ]);
    expect(answers).toEqual(['reserved', 'reserved', 'daily_budget', 'reserved']);
  });

  it('settles a workflow’s day for a run whose workflow only its intents name', async () => {
    await harness.publishChange(
      'budget.configured',
      {
        scope: 'workflow',
        scope_id: 'digest',
        limits: { budget_micro_usd: 1_000 },
        by: 'human:ops',
      },
      { workflow: 'digest' },
    );
    await harness.controlsWhere((c) => c.workflows.digest !== undefined);
    const intent = harness.decided({
      run: 'wf-unnamed',
      agent: 'wf-bot-3',
      workflow: 'digest',
      costMicroUsd: 10,
    });
    expect(await oneByOne([intent])).toEqual(['reserved']);
    const day = intent.occurred_at.slice(0, 10);
    const key = `workflow.digest.${day}`;
    const held = await harness.budgetValue<BudgetAccount>(key);
    expect(Object.keys(held?.open ?? {})).toContain(intent.intent_id);
    await harness.publisher.publish(harness.executed(intent));
    await waitFor(async () => {
      const account = await harness.budgetValue<BudgetAccount>(key);
      return account !== undefined && !Object.keys(account.open).includes(intent.intent_id ?? '');
    });
    const settled = await harness.budgetValue<BudgetAccount>(key);
    expect(settled?.closed.find((entry) => entry.id === intent.intent_id)).toMatchObject({
      outcome: 'settled',
      micro_usd: 10,
    });
  });

  it('rate-limits an agent’s calls of a tool per window', async () => {
    await harness.publishChange(
      'budget.configured',
      {
        scope: 'agent',
        scope_id: 'rate-bot',
        limits: {},
        by: 'human:ops',
        rate_limits: { noop: { calls: 3, window_ms: 60_000 } },
      },
      { agentId: 'rate-bot' },
    );
    await harness.controlsWhere((c) => c.agents['rate-bot']?.rate_limits !== undefined);
    await harness.startRun('rate-run', {}, 'rate-bot');
    const intents = Array.from({ length: 5 }, () =>
      harness.decided({ run: 'rate-run', agent: 'rate-bot' }),
    );
    const answers = await oneByOne(intents);
    expect(answers).toEqual(['reserved', 'reserved', 'reserved', 'rate_limited', 'rate_limited']);
    expect((await harness.record('rate-run'))?.counted).toHaveLength(3);
  });

  it('stops a 50-intent burst of a paused agent at the next intent, and resumes', async () => {
    await harness.startRun('pause-run', {}, 'pause-bot');
    const before = harness.decided({ run: 'pause-run', agent: 'pause-bot' });
    expect(await oneByOne([before])).toEqual(['reserved']);
    await harness.publishChange(
      'agent.paused',
      { agent_id: 'pause-bot', by: 'human:ops', reason: 'runaway refunds' },
      { agentId: 'pause-bot' },
    );
    await harness.controlsWhere((c) => c.pauses.agents['pause-bot']?.paused === true);
    const burst = Array.from({ length: 50 }, () =>
      harness.decided({ run: 'pause-run', agent: 'pause-bot' }),
    );
    await harness.publisher.publishMany(burst);
    const answers = await answersTo(burst);
    expect(answers.every((answer) => answer === 'paused')).toBe(true);
    const halted = await harness.eventsOfRun('run.halted', 'pause-run');
    expect(halted).toHaveLength(1);
    expect(halted[0]?.data).toMatchObject({ reason: 'paused' });
    expect(halted[0]?.data.message).toContain('runaway refunds');

    await harness.publishChange(
      'agent.unpaused',
      { agent_id: 'pause-bot', by: 'human:ops' },
      { agentId: 'pause-bot' },
    );
    await harness.controlsWhere((c) => c.pauses.agents['pause-bot']?.paused === false);
    expect(await oneByOne([harness.decided({ run: 'pause-run', agent: 'pause-bot' })])).toEqual([
      'reserved',
    ]);
  });

  it('halts runs calling a tool whose breaker opened, until it closes', async () => {
    await harness.startRun('breaker-run');
    await harness.publishChange('breaker.opened', { tool: 'flaky.tool', reason: '5 failures' });
    await harness.controlsWhere((c) => c.degraded['flaky.tool'] !== undefined);
    const answers = await oneByOne([
      harness.decided({ run: 'breaker-run', tool: 'flaky.tool' }),
      harness.decided({ run: 'breaker-run', tool: 'flaky.tool' }),
      harness.decided({ run: 'breaker-run', tool: 'noop' }),
    ]);
    expect(answers).toEqual(['upstream_degraded', 'upstream_degraded', 'reserved']);
    const halted = await harness.eventsOfRun('run.halted', 'breaker-run');
    expect(halted.map((event) => event.data.reason)).toEqual(['upstream_degraded']);

    await harness.publishChange('breaker.closed', { tool: 'flaky.tool' });
    await harness.controlsWhere((c) => c.degraded['flaky.tool'] === undefined);
    expect(await oneByOne([harness.decided({ run: 'breaker-run', tool: 'flaky.tool' })])).toEqual([
      'reserved',
    ]);
  });

  it('books a reservation whose executor was lost after the timeout, and only that one', async () => {
    await harness.startRun('lost-run');
    const lost = harness.decided({ run: 'lost-run', costMicroUsd: 250 });
    const done = harness.decided({ run: 'lost-run', costMicroUsd: 40 });
    expect(await oneByOne([lost, done])).toEqual(['reserved', 'reserved']);
    await harness.publisher.publish(harness.executed(done));
    const settled = await waitFor(
      async () => {
        const events = await harness.eventsOfRun('budget.settled', 'lost-run');
        return events.length >= 2 ? events : undefined;
      },
      { timeoutMs: 10_000 },
    );
    const byIntent = (intent: Envelope) => settled.find((e) => e.intent_id === intent.intent_id);
    expect(byIntent(done)?.data).toMatchObject({ cost_micro_usd: 40 });
    expect(byIntent(done)?.data.reconciled).toBeUndefined();
    expect(byIntent(lost)?.data).toMatchObject({ cost_micro_usd: 250, reconciled: true });
    const record = await harness.record('lost-run');
    expect(record?.budget?.booked.micro_usd).toBe(290);
    expect(record?.budget?.open).toEqual({});
  });

  it('charges model calls to the daily budget and refuses them while the agent is paused', async () => {
    await harness.publishChange(
      'budget.configured',
      // The default routing prices 2,000 extraction tokens at a few thousand micro-USD.
      {
        scope: 'agent',
        scope_id: 'model-bot',
        limits: { budget_micro_usd: 5_000 },
        by: 'human:ops',
      },
      { agentId: 'model-bot' },
    );
    await harness.controlsWhere((c) => c.agents['model-bot'] !== undefined);
    await harness.startRun('model-run', { budget_micro_usd: 1_000_000 }, 'model-bot');
    const request = () =>
      harness.modelRequested('model-run', 'model-bot', {
        task_class: 'extraction',
        estimated_tokens: 2_000,
      });
    const first = request();
    await harness.publisher.publish(first);
    const routed = await waitFor(async () =>
      (await harness.eventsOfRun('model.routed', 'model-run')).find(
        (e) => e.intent_id === first.intent_id,
      ),
    );
    const estimate = routed.data.estimated_micro_usd;
    expect(estimate).toBeGreaterThan(0);
    // Requests until the day's 5,000 µUSD cannot hold another estimate.
    const fits = Math.floor(5_000 / estimate);
    const more = Array.from({ length: fits }, request);
    for (const call of more) {
      await harness.publisher.publish(call);
      await waitFor(async () => {
        const answered = [
          ...(await harness.eventsOfRun('model.routed', 'model-run')),
          ...(await harness.eventsOfRun('intent.resolved', 'model-run')),
        ];
        return answered.some((e) => e.intent_id === call.intent_id);
      });
    }
    const refusals = await harness.eventsOfRun('intent.resolved', 'model-run');
    expect(refusals.map((e) => e.data.reason)).toEqual(['daily_budget']);
    // The refused estimate went back to the run.
    const record = await harness.record('model-run');
    const held = Object.values(record?.budget?.open ?? {}).reduce((sum, r) => sum + r.micro_usd, 0);
    expect(held).toBe(fits * estimate);

    await harness.publishChange(
      'agent.paused',
      { agent_id: 'model-bot', by: 'human:ops', reason: 'model spend' },
      { agentId: 'model-bot' },
    );
    await harness.controlsWhere((c) => c.pauses.agents['model-bot']?.paused === true);
    const paused = request();
    await harness.publisher.publish(paused);
    const refused = await waitFor(async () =>
      (await harness.eventsOfRun('intent.resolved', 'model-run')).find(
        (e) => e.intent_id === paused.intent_id,
      ),
    );
    expect(refused.data.reason).toBe('paused');
  });

  it('gives a run its agent’s registered default budget', async () => {
    const agents = await harness.agentsBucket();
    await agents.put(
      'default-bot',
      JSON.stringify({ agent_id: 'default-bot', default_budget_micro_usd: 150 }),
    );
    const started = await harness.startRun('default-run', {}, 'default-bot');
    expect(started.budget?.limit).toEqual({ micro_usd: 150 });
  });

  it('clamps a run’s declared limits to the configured ones and honours lower ones', async () => {
    await harness.publishChange('budget.configured', {
      scope: 'run',
      scope_id: 'default',
      limits: { max_steps: 2, budget_micro_usd: 1_000 },
      by: 'human:ops',
    });
    await harness.controlsWhere((c) => c.run?.max_steps === 2);
    const above = await harness.startRun('clamp-above', { max_steps: 5, budget_micro_usd: 9_000 });
    expect(above.max_steps).toBe(2);
    expect(above.budget?.limit).toEqual({ micro_usd: 1_000 });
    const below = await harness.startRun('clamp-below', { max_steps: 1, budget_micro_usd: 400 });
    expect(below.max_steps).toBe(1);
    expect(below.budget?.limit).toEqual({ micro_usd: 400 });
    const answers = await oneByOne(
      Array.from({ length: 3 }, () => harness.decided({ run: 'clamp-above' })),
    );
    expect(answers).toEqual(['reserved', 'reserved', 'step_cap']);
    // Back to no run defaults, for the other tests of this env.
    await harness.publishChange('budget.configured', {
      scope: 'run',
      scope_id: 'default',
      limits: {},
      by: 'human:ops',
    });
    await harness.controlsWhere((c) => c.run?.max_steps === undefined);
  });
});
