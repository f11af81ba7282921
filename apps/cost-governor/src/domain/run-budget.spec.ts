import { describe, expect, it } from 'vitest';
import { release } from './ledger/index.js';
import { DEFAULT_LOOP_LIMITS } from './guards/index.js';
import {
  limitRun,
  refuseIntent,
  reserveIntent,
  settleIntent,
  type RunRules,
} from './run-budget.js';
import { newRun, type RunRecord } from './step-cap.js';

const NOW = 1_800_000_000_000;
const LIMIT = { micro_usd: 1_000 };
const RULES: RunRules = { budget: LIMIT, maxSteps: 10, loop: DEFAULT_LOOP_LIMITS };

/** An allowed call; distinct args per intent, so no loop rule fires unless a test wants one. */
const call = (
  intentId: string,
  costMicroUsd = 300,
  args: Record<string, unknown> = { intentId },
) => ({
  intentId,
  tool: 'zendesk.update_ticket',
  args,
  costMicroUsd,
  write: false,
});

/** Applies reserveIntent to each id in order, as successive CAS rounds would. */
function reserveAll(record: RunRecord, ids: string[], cost = 300): RunRecord {
  return ids.reduce(
    (current, id) => reserveIntent(current, call(id, cost), NOW, RULES).next ?? current,
    record,
  );
}

describe('reserveIntent', () => {
  it('reserves until the run budget is spent, then denies with what remains', () => {
    const record = reserveAll(newRun(10), ['a', 'b', 'c']);
    expect(record.counted).toEqual(['a', 'b', 'c']);
    const refused = reserveIntent(record, call('d', 300), NOW, RULES);
    expect(refused.verdict).toEqual({
      kind: 'run_budget',
      costMicroUsd: 300,
      remainingMicroUsd: 100,
    });
    // A denial does not use up a step.
    expect(refused.next?.counted).toEqual(['a', 'b', 'c']);
  });

  it('answers every copy of an intent as the first time', () => {
    const record = reserveAll(newRun(10), ['a']);
    expect(reserveIntent(record, call('a', 300), NOW, RULES)).toEqual({
      next: undefined,
      verdict: {
        kind: 'reserved',
        runSteps: 1,
        maxSteps: 10,
        reservedMicroUsd: 300,
        remainingMicroUsd: 700,
      },
    });
  });

  it('keeps refusing a refused intent even after room opens up', () => {
    const full = reserveAll(newRun(10), ['a', 'b', 'c', 'd']);
    expect(full.counted).not.toContain('d');
    const budget = full.budget;
    if (budget === undefined) throw new Error('no account');
    const freed = { ...full, budget: release(budget, 'a', NOW).next ?? budget };
    expect(reserveIntent(freed, call('d', 300), NOW, RULES).verdict.kind).toBe('run_budget');
    expect(reserveIntent(freed, call('e', 300), NOW, RULES).verdict.kind).toBe('reserved');
  });

  it('checks the step cap before money, and counts free calls as steps', () => {
    const record = reserveAll(newRun(2), ['a', 'b'], 0);
    expect(reserveIntent(record, call('c', 0), NOW, RULES).verdict).toEqual({
      kind: 'step_cap',
      maxSteps: 2,
    });
  });

  it('leaves money unlimited when nothing is configured or declared', () => {
    const verdict = reserveIntent(newRun(5), call('a', 10 ** 12), NOW, {
      ...RULES,
      budget: {},
    }).verdict;
    expect(verdict).toEqual({
      kind: 'reserved',
      runSteps: 1,
      maxSteps: 5,
      reservedMicroUsd: 10 ** 12,
    });
  });
});

describe('limitRun', () => {
  const configured = { budget_micro_usd: 1_000, max_tokens: 50 };

  it('honours a declared budget below the configured one and clamps one above it', () => {
    const below = limitRun(newRun(5), configured, { budget_micro_usd: 400 }, NOW);
    expect(below.next?.budget?.limit).toEqual({ micro_usd: 400, tokens: 50 });
    expect(below.clamped).toEqual([]);
    const above = limitRun(newRun(5), configured, { budget_micro_usd: 5_000 }, NOW);
    expect(above.next?.budget?.limit).toEqual({ micro_usd: 1_000, tokens: 50 });
    expect(above.clamped).toEqual([
      { field: 'budget_micro_usd', declared: 5_000, configured: 1_000 },
    ]);
    expect(limitRun(newRun(5), {}, { budget_micro_usd: 700 }, NOW).next?.budget?.limit).toEqual({
      micro_usd: 700,
    });
  });

  it('sets the deadline from the tighter wall clock', () => {
    const limited = limitRun(
      newRun(5),
      { max_duration_ms: 60_000 },
      { max_duration_ms: 5_000 },
      NOW,
    );
    expect(limited.next?.deadline).toBe(NOW + 5_000);
    const record = limited.next ?? newRun(5);
    const call = { intentId: 'late', tool: 't', args: {}, costMicroUsd: 0, write: false };
    expect(reserveIntent(record, call, NOW + 5_000, RULES).verdict.kind).toBe('reserved');
    expect(reserveIntent(record, call, NOW + 5_001, RULES).verdict).toEqual({
      kind: 'expired',
      deadline: NOW + 5_000,
    });
  });
});

describe('gates and refusals', () => {
  const call = (intentId: string) => ({
    intentId,
    tool: 't',
    args: { intentId },
    costMicroUsd: 10,
    write: false,
  });
  const pausedGate = {
    kind: 'paused' as const,
    scope: { kind: 'agent' as const, id: 'bot' },
    entry: { paused: true, by: 'human:ops', at: '2026-11-27T10:00:00.000000Z', event_id: 'p1' },
  };

  it('refuses a paused intent, halts the run once per pause, and repeats the answer after resume', () => {
    const first = reserveIntent(newRun(10), call('a'), NOW, RULES, pausedGate);
    expect(first.verdict).toEqual({ kind: 'gated', gate: pausedGate, halting: true });
    const record = first.next ?? newRun(10);
    expect(record.halts).toEqual({ paused: 'p1' });
    const second = reserveIntent(record, call('b'), NOW, RULES, pausedGate);
    expect(second.verdict).toMatchObject({ kind: 'gated', halting: false });
    // Resumed: a new intent goes through, the refused one keeps its answer.
    const after = second.next ?? record;
    expect(reserveIntent(after, call('c'), NOW, RULES).verdict.kind).toBe('reserved');
    expect(reserveIntent(after, call('a'), NOW, RULES).verdict).toEqual({
      kind: 'refused',
      reason: 'paused',
    });
    // A second pause halts the run again.
    const again = { ...pausedGate, entry: { ...pausedGate.entry, event_id: 'p2' } };
    expect(reserveIntent(after, call('d'), NOW, RULES, again).verdict).toMatchObject({
      halting: true,
    });
  });

  it('undoes a reservation refused later and answers the refusal on redelivery', () => {
    const reserved = reserveIntent(newRun(10), call('a'), NOW, RULES).next ?? newRun(10);
    expect(reserved.counted).toEqual(['a']);
    const refused = refuseIntent(reserved, 'a', 'daily_budget', NOW) ?? reserved;
    expect(refused.counted).toEqual([]);
    expect(refused.budget?.open).toEqual({});
    expect(reserveIntent(refused, call('a'), NOW, RULES).verdict).toEqual({
      kind: 'refused',
      reason: 'daily_budget',
    });
    expect(refuseIntent(refused, 'a', 'daily_budget', NOW)).toBeUndefined();
    // The step it had taken is free again.
    expect(reserveIntent(refused, call('b'), NOW, RULES).verdict).toMatchObject({ runSteps: 1 });
  });
});

describe('settleIntent', () => {
  it('books the actual cost once and reports the run total', () => {
    const record = reserveAll(newRun(10), ['a', 'b']);
    const first = settleIntent(record, 'a', 250, NOW, true);
    expect(first.verdict).toEqual({
      kind: 'settled',
      costMicroUsd: 250,
      releasedMicroUsd: 50,
      runCostMicroUsd: 250,
    });
    const after = first.next ?? record;
    expect(settleIntent(after, 'a', 250, NOW, true).next).toBeUndefined();
    expect(settleIntent(after, 'zzz', 250, NOW, true).verdict).toEqual({ kind: 'not_reserved' });
    // What settling freed is reservable again: 1,000 − 250 booked − 300 open = 450.
    expect(reserveIntent(after, call('c', 450), NOW, RULES).verdict.kind).toBe('reserved');
  });
});

describe('reserveIntent and loops', () => {
  it('halts the run at the fourth identical call, and refuses everything after', () => {
    const same = { ticket_id: 7, status: 'open' };
    let record = newRun(10);
    for (const id of ['a', 'b', 'c']) {
      const decision = reserveIntent(record, call(id, 0, same), NOW, RULES);
      expect(decision.verdict.kind).toBe('reserved');
      record = decision.next ?? record;
    }
    const fourth = reserveIntent(record, call('d', 0, same), NOW, RULES);
    expect(fourth.verdict).toMatchObject({
      kind: 'loop',
      halting: true,
      halt: { rule: 'repeated_call', count: 4, limit: 3 },
    });
    record = fourth.next ?? record;
    expect(record.counted).toEqual(['a', 'b', 'c']);
    // Later intents, whatever their args, are refused; the halting one is told so again.
    expect(reserveIntent(record, call('e', 0), NOW, RULES).verdict).toMatchObject({
      kind: 'loop',
      halting: false,
    });
    expect(reserveIntent(record, call('d', 0, same), NOW, RULES).verdict).toMatchObject({
      kind: 'loop',
      halting: true,
    });
    // An intent counted before the halt keeps its answer.
    expect(reserveIntent(record, call('a', 0, same), NOW, RULES).verdict.kind).toBe('reserved');
  });

  it('does not count a call denied for budget towards a loop', () => {
    const same = { ticket_id: 7 };
    let record = newRun(10);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      record = reserveIntent(record, call(id, 400, same), NOW, RULES).next ?? record;
    }
    // 1,000 of budget: two reserved, the rest refused for budget, none halted.
    expect(record.counted).toEqual(['a', 'b']);
    expect(record.loop?.halted).toBeUndefined();
  });
});

describe('settleIntent and write progress', () => {
  it('counts a succeeded write as progress, so the no-write rule measures from it', () => {
    const rules: RunRules = {
      maxSteps: 100,
      budget: {},
      loop: { ...DEFAULT_LOOP_LIMITS, maxStepsWithoutWrite: 2 },
    };
    let record = newRun(20);
    const write = { ...call('w', 0), write: true };
    record = reserveIntent(record, write, NOW, rules).next ?? record;
    record = reserveIntent(record, call('r1', 0), NOW, rules).next ?? record;
    // Step 3 without a write would halt; the write's success moves the mark to step 1.
    record = settleIntent(record, 'w', 0, NOW, true).next ?? record;
    expect(record.writes).toEqual([]);
    const third = reserveIntent(record, call('r2', 0), NOW, rules);
    expect(third.verdict.kind).toBe('reserved');
    record = third.next ?? record;
    expect(reserveIntent(record, call('r3', 0), NOW, rules).verdict).toMatchObject({
      kind: 'loop',
      halt: { rule: 'no_write_progress' },
    });
  });

  it('does not count a failed write as progress', () => {
    const rules: RunRules = {
      maxSteps: 100,
      budget: {},
      loop: { ...DEFAULT_LOOP_LIMITS, maxStepsWithoutWrite: 1 },
    };
    let record = reserveIntent(newRun(20), { ...call('w', 0), write: true }, NOW, rules).next;
    if (record === undefined) throw new Error('not reserved');
    record = settleIntent(record, 'w', 0, NOW, false).next ?? record;
    expect(reserveIntent(record, call('r1', 0), NOW, rules).verdict.kind).toBe('loop');
  });
});
