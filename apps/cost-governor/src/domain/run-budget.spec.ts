import { describe, expect, it } from 'vitest';
import { release } from './ledger/index.js';
import { limitRunBudget, reserveIntent, settleIntent } from './run-budget.js';
import { newRun, type RunRecord } from './step-cap.js';

const NOW = 1_800_000_000_000;
const LIMIT = { micro_usd: 1_000 };

/** Applies reserveIntent to each id in order, as successive CAS rounds would. */
function reserveAll(record: RunRecord, ids: string[], cost = 300): RunRecord {
  return ids.reduce(
    (current, id) => reserveIntent(current, id, cost, NOW, LIMIT).next ?? current,
    record,
  );
}

describe('reserveIntent', () => {
  it('reserves until the run budget is spent, then denies with what remains', () => {
    const record = reserveAll(newRun(10), ['a', 'b', 'c']);
    expect(record.counted).toEqual(['a', 'b', 'c']);
    const refused = reserveIntent(record, 'd', 300, NOW, LIMIT);
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
    expect(reserveIntent(record, 'a', 300, NOW, LIMIT)).toEqual({
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
    expect(reserveIntent(freed, 'd', 300, NOW, LIMIT).verdict.kind).toBe('run_budget');
    expect(reserveIntent(freed, 'e', 300, NOW, LIMIT).verdict.kind).toBe('reserved');
  });

  it('checks the step cap before money, and counts free calls as steps', () => {
    const record = reserveAll(newRun(2), ['a', 'b'], 0);
    expect(reserveIntent(record, 'c', 0, NOW, LIMIT).verdict).toEqual({
      kind: 'step_cap',
      maxSteps: 2,
    });
  });

  it('leaves money unlimited when nothing is configured or declared', () => {
    const verdict = reserveIntent(newRun(5), 'a', 10 ** 12, NOW, {}).verdict;
    expect(verdict).toEqual({
      kind: 'reserved',
      runSteps: 1,
      maxSteps: 5,
      reservedMicroUsd: 10 ** 12,
    });
  });
});

describe('limitRunBudget', () => {
  it('honours a declared budget below the configured one and clamps one above it', () => {
    const below = limitRunBudget(newRun(5), 400, LIMIT);
    expect(below.next?.budget?.limit).toEqual({ micro_usd: 400 });
    expect(below.clamped).toBe(false);
    const above = limitRunBudget(newRun(5), 5_000, LIMIT);
    expect(above.next?.budget?.limit).toEqual({ micro_usd: 1_000 });
    expect(above.clamped).toBe(true);
    expect(limitRunBudget(newRun(5), 700, {}).next?.budget?.limit).toEqual({ micro_usd: 700 });
  });
});

describe('settleIntent', () => {
  it('books the actual cost once and reports the run total', () => {
    const record = reserveAll(newRun(10), ['a', 'b']);
    const first = settleIntent(record, 'a', 250, NOW);
    expect(first.verdict).toEqual({
      kind: 'settled',
      costMicroUsd: 250,
      releasedMicroUsd: 50,
      runCostMicroUsd: 250,
    });
    const after = first.next ?? record;
    expect(settleIntent(after, 'a', 250, NOW).next).toBeUndefined();
    expect(settleIntent(after, 'zzz', 250, NOW).verdict).toEqual({ kind: 'not_reserved' });
    // What settling freed is reservable again: 1,000 − 250 booked − 300 open = 450.
    expect(reserveIntent(after, 'c', 450, NOW, LIMIT).verdict.kind).toBe('reserved');
  });
});
