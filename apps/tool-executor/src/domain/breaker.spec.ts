import { describe, expect, it } from 'vitest';
import {
  admitCall,
  DEFAULT_BREAKER_RULES,
  newBreaker,
  recordOutcome,
  type BreakerState,
} from './breaker.js';

const T0 = 1_800_000_000_000;
const rules = DEFAULT_BREAKER_RULES;

/** The state after these outcomes, one millisecond apart from T0. */
function after(outcomes: boolean[], start: BreakerState = newBreaker()): BreakerState {
  return outcomes.reduce((state, ok, i) => recordOutcome(state, ok, T0 + i).next, start);
}

describe('circuit breaker', () => {
  it('opens at the fifth failure in a row, and not before', () => {
    const four = after([false, false, false, false]);
    expect(four.state).toBe('closed');
    const fifth = recordOutcome(four, false, T0 + 10);
    expect(fifth.change).toBe('opened');
    expect(fifth.next).toMatchObject({ state: 'open', opened_at: T0 + 10 });
    expect(fifth.next.reason).toBe('5 failures in a row');
  });

  it('counts a success as resetting the run of failures', () => {
    expect(after([false, false, false, false, true, false, false, false, false]).state).toBe(
      'closed',
    );
  });

  it('opens on the failure rate over the window once enough calls were made', () => {
    // Alternating: never 5 in a row, but half of the last 10.
    const alternating = Array.from({ length: 10 }, (_, i) => i % 2 === 0);
    const state = after(alternating);
    expect(state.state).toBe('open');
    expect(state.reason).toBe('5 of the last 10 calls failed');
  });

  it('forgets outcomes older than the window', () => {
    const old = after(Array.from({ length: 9 }, (_, i) => i % 2 === 0));
    const later = recordOutcome(old, false, T0 + rules.windowMs + 100);
    expect(later.next.state).toBe('closed');
    expect(later.next.recent).toHaveLength(1);
  });

  it('fails fast while open, then lets exactly one probe through after the cooldown', () => {
    const open = after([false, false, false, false, false]);
    const openedAt = open.opened_at ?? 0;
    expect(admitCall(open, 'a', openedAt + 1)).toEqual({
      kind: 'fail_fast',
      openedAt,
      retryInMs: rules.cooldownMs - 1,
    });
    const probe = admitCall(open, 'a', openedAt + rules.cooldownMs);
    expect(probe.kind).toBe('probe');
    if (probe.kind !== 'probe') throw new Error('unreachable');
    expect(admitCall(probe.next, 'b', openedAt + rules.cooldownMs + 1).kind).toBe('fail_fast');
    // The same intent (a redelivery) is still the probe; a dead probe's lease runs out.
    expect(admitCall(probe.next, 'a', openedAt + rules.cooldownMs + 1).kind).toBe('probe');
    const lapsed = openedAt + rules.cooldownMs + rules.probeLeaseMs;
    expect(admitCall(probe.next, 'b', lapsed).kind).toBe('probe');
  });

  it('closes on the probe’s success and opens again on its failure', () => {
    const open = after([false, false, false, false, false]);
    const halfOpen = T0 + rules.cooldownMs + 10;
    const probe = admitCall(open, 'p', halfOpen);
    if (probe.kind !== 'probe') throw new Error('unreachable');
    const closed = recordOutcome(probe.next, true, halfOpen + 5);
    expect(closed.change).toBe('closed');
    expect(closed.next).toEqual({
      state: 'closed',
      consecutive_failures: 0,
      recent: [{ at: halfOpen + 5, ok: true }],
    });
    // The failures that opened it are forgotten: healthy calls after it never reopen it.
    let healthy = closed.next;
    for (let i = 1; i <= 2 * rules.minCalls; i++) {
      const next = recordOutcome(healthy, true, halfOpen + 5 + i);
      expect(next.change).toBeUndefined();
      healthy = next.next;
    }
    const reopened = recordOutcome(probe.next, false, halfOpen + 5);
    expect(reopened.change).toBe('opened');
    expect(reopened.next).toMatchObject({ state: 'open', opened_at: halfOpen + 5 });
    expect(reopened.next.probe).toBeUndefined();
  });

  it('admits every call while closed', () => {
    expect(admitCall(newBreaker(), 'a', T0)).toEqual({ kind: 'call' });
  });
});
