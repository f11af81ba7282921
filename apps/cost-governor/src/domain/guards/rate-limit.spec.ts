import { seededRandom } from '@warden/testing';
import { describe, expect, it } from 'vitest';
import {
  checkRateLimit,
  newRateLimitState,
  RateLimitRule,
  REMEMBERED_INTENTS,
  rateLimitKey,
  type RateLimitState,
  type RateLimitVerdict,
} from './rate-limit.js';

const twoPerSecond: RateLimitRule = { calls: 2, window_ms: 1000 };

/** Feeds `[intentId, nowMs]` pairs in order, storing each next state as the CAS loop would. */
function feed(
  arrivals: [string, number][],
  rule: RateLimitRule = twoPerSecond,
  state: RateLimitState = newRateLimitState(),
): { state: RateLimitState; verdicts: RateLimitVerdict[] } {
  const verdicts: RateLimitVerdict[] = [];
  for (const [id, now] of arrivals) {
    const decision = checkRateLimit(state, id, now, rule);
    verdicts.push(decision.verdict);
    state = decision.next ?? state;
  }
  return { state, verdicts };
}

describe('checkRateLimit', () => {
  it('allows K calls in a window and refuses the next with the time until room', () => {
    const { verdicts } = feed([
      ['a', 0],
      ['b', 400],
      ['c', 700],
    ]);
    expect(verdicts).toEqual([
      { kind: 'allowed', remaining: 1 },
      { kind: 'allowed', remaining: 0 },
      { kind: 'rate_limited', retry_after_ms: 300 },
    ]);
  });

  it('is exact at the window boundary: refused 1 ms before, allowed exactly W after the oldest', () => {
    const { state } = feed([
      ['a', 1000],
      ['b', 1000],
    ]);
    expect(checkRateLimit(state, 'c', 1999, twoPerSecond).verdict).toEqual({
      kind: 'rate_limited',
      retry_after_ms: 1,
    });
    // Both calls at 1000 leave the window (1000, 2000] together: room for two again.
    expect(checkRateLimit(state, 'c', 2000, twoPerSecond).verdict).toEqual({
      kind: 'allowed',
      remaining: 1,
    });
  });

  it('tells a refused caller to wait exactly until a retry is allowed', () => {
    const { state, verdicts } = feed([
      ['a', 100],
      ['b', 250],
      ['c', 900],
    ]);
    const refused = verdicts[2];
    if (refused?.kind !== 'rate_limited') throw new Error('expected a refusal');
    expect(refused.retry_after_ms).toBe(200);
    expect(
      checkRateLimit(state, 'd', 900 + refused.retry_after_ms - 1, twoPerSecond).verdict.kind,
    ).toBe('rate_limited');
    expect(
      checkRateLimit(state, 'd', 900 + refused.retry_after_ms, twoPerSecond).verdict.kind,
    ).toBe('allowed');
  });

  it('does not count refused calls against the window', () => {
    const { verdicts } = feed([
      ['a', 0],
      ['b', 0],
      ['c', 500],
      ['d', 600],
      ['e', 1000],
      ['f', 1000],
    ]);
    expect(verdicts.map((v) => v.kind)).toEqual([
      'allowed',
      'allowed',
      'rate_limited',
      'rate_limited',
      'allowed',
      'allowed',
    ]);
  });

  it('gives a redelivered intent its first answer, without counting it again', () => {
    const { state } = feed([
      ['a', 0],
      ['b', 10],
      ['c', 20],
    ]);
    // Allowed stays allowed, even long after its window.
    expect(checkRateLimit(state, 'a', 60_000, twoPerSecond)).toMatchObject({
      next: undefined,
      verdict: { kind: 'allowed' },
    });
    // Refused stays refused with the same wait, even once there is room.
    expect(checkRateLimit(state, 'c', 60_000, twoPerSecond)).toEqual({
      next: undefined,
      verdict: { kind: 'rate_limited', retry_after_ms: 980 },
    });
    expect(
      feed([
        ['a', 0],
        ['a', 1],
        ['a', 2],
        ['b', 3],
      ]).verdicts.map((v) => v.kind),
    ).toEqual(['allowed', 'allowed', 'allowed', 'allowed']);
  });

  it('never loosens under clock skew: calls logged in the future still count', () => {
    const { state } = feed([
      ['a', 5000],
      ['b', 5000],
    ]);
    const verdict = checkRateLimit(state, 'c', 4000, twoPerSecond).verdict;
    expect(verdict).toEqual({ kind: 'rate_limited', retry_after_ms: 2000 });
  });

  it('keeps both logs bounded by max(K, REMEMBERED_INTENTS)', () => {
    const arrivals = Array.from({ length: 2000 }, (_, i): [string, number] => [`i${i}`, i * 7]);
    const small = feed(arrivals, { calls: 3, window_ms: 50 }).state;
    expect(small.allowed.length).toBe(REMEMBERED_INTENTS);
    expect(small.refused.length).toBe(REMEMBERED_INTENTS);
    const { state } = feed(arrivals, { calls: 100, window_ms: 1000 });
    expect(state.allowed.length).toBe(100);
    expect(state.refused.length).toBe(100);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it('keys a limit by agent and tool', () => {
    expect(rateLimitKey('triage-bot', 'zendesk.update_ticket')).toBe(
      'triage-bot.zendesk.update_ticket',
    );
  });

  it('refuses rules the state cannot hold', () => {
    expect(RateLimitRule.safeParse({ calls: 0, window_ms: 1000 }).success).toBe(false);
    expect(RateLimitRule.safeParse({ calls: 1001, window_ms: 1000 }).success).toBe(false);
    expect(RateLimitRule.safeParse({ calls: 10, window_ms: 0.5 }).success).toBe(false);
  });
});

describe('checkRateLimit over random arrivals', () => {
  for (const seed of [1, 2, 3, 42, 1234, 99_991]) {
    it(`never allows more than K in any window of W, and refuses only when full (seed ${seed})`, () => {
      const { next } = seededRandom(seed);
      const rule: RateLimitRule = {
        calls: 1 + Math.floor(next() * 8),
        window_ms: 50 + Math.floor(next() * 1000),
      };
      let state = newRateLimitState();
      let now = 0;
      const allowed: number[] = [];
      const ids: string[] = [];
      let refusals = 0;
      for (let i = 0; i < 2000; i++) {
        // Bursts (several calls in the same ms) and gaps, with some redeliveries mixed in.
        now += next() < 0.3 ? 0 : Math.floor(next() * (rule.window_ms / rule.calls) * 2);
        const redelivery = ids.length > 0 && next() < 0.1;
        // A redelivery comes soon after the first delivery: one of the last 32 intents.
        const recent = ids.slice(-32);
        const id = redelivery ? (recent[Math.floor(next() * recent.length)] ?? 'x') : `i${i}`;
        const decision = checkRateLimit(state, id, now, rule);
        state = decision.next ?? state;
        if (redelivery) {
          expect(decision.next).toBeUndefined();
          continue;
        }
        ids.push(id);
        const inWindow = allowed.filter((t) => t > now - rule.window_ms).length;
        if (decision.verdict.kind === 'allowed') {
          allowed.push(now);
        } else {
          refusals++;
          // Exact, not merely safe: a refusal means the window really is full...
          expect(inWindow).toBe(rule.calls);
          // ...and retrying after retry_after_ms finds room.
          const retryAt = now + decision.verdict.retry_after_ms;
          expect(allowed.filter((t) => t > retryAt - rule.window_ms).length).toBeLessThan(
            rule.calls,
          );
        }
      }
      // The guarantee: every window [s, s + W) holds at most K allowed calls. The fullest windows
      // start at an allowed call, so checking those covers them all.
      for (const start of allowed) {
        const count = allowed.filter((t) => t >= start && t < start + rule.window_ms).length;
        expect(count).toBeLessThanOrEqual(rule.calls);
      }
      // The run exercised both answers.
      expect(allowed.length).toBeGreaterThan(rule.calls);
      expect(refusals).toBeGreaterThan(0);
    });
  }
});
