import { MAX_RATE_LIMIT_CALLS, RateLimit } from '@warden/contracts';

/**
 * Rate limits per (agent, tool): at most `calls` calls in any window of `window_ms`.
 *
 * The algorithm is a **sliding-window log bounded by `calls`**: the state is the times of the last
 * `calls` allowed calls (one KV value per key, updated by compare-and-set). A call at `now` is
 * allowed when fewer than `calls` of them are newer than `now - window_ms`. Why this one:
 *
 * - It keeps the promise exactly as stated: no window `[s, s + window_ms)` ever holds more than
 *   `calls` allowed calls, at its edges included, and a call is refused only when one would.
 *   GCRA and token buckets keep one number instead, but promise a long-run rate, not a count per
 *   window: a full burst followed by the refill lets up to `2·calls − 1` through in one window.
 * - The log never needs more than `calls` entries, since the oldest of the last `calls` decides,
 *   so the value is bounded by the limit itself (hence {@link MAX_RATE_LIMIT_CALLS}).
 * - Times are integer milliseconds; no division, no rounding.
 *
 * Redeliveries: allowed intents are known by id in the log, refused ones in a second log, so a
 * redelivered intent gets its first answer (never counted twice, never allowed after being
 * refused). Both logs keep their most recent entries whatever their age (at least
 * {@link REMEMBERED_INTENTS}), so the answer survives a redelivery after the window has passed.
 */

/**
 * Intents remembered per key beyond what the limit needs, so that a redelivery (which comes
 * within the consumer's AckWait, a handful of calls later at most) finds its first answer even
 * under a limit of 1. Both logs hold at most `max(calls, REMEMBERED_INTENTS)` entries.
 */
export const REMEMBERED_INTENTS = 64;

/** A rate limit as operators configure it (`warden budgets set --agent … --rate-limit`). */
export const RateLimitRule = RateLimit;
export type RateLimitRule = RateLimit;
export { MAX_RATE_LIMIT_CALLS };

/** One call in a log: the intent and when the governor saw it (epoch ms). */
export interface RateLimitEntry {
  readonly intent_id: string;
  readonly at_ms: number;
}

/** One refused call and the answer it got. */
export interface RateLimitRefusal {
  readonly intent_id: string;
  readonly retry_after_ms: number;
}

/** The state of one (agent, tool) key. */
export interface RateLimitState {
  /** The last allowed calls, oldest first (at most `max(calls, REMEMBERED_INTENTS)`). */
  readonly allowed: readonly RateLimitEntry[];
  /** The last refused calls, oldest first (at most `max(calls, REMEMBERED_INTENTS)`). */
  readonly refused: readonly RateLimitRefusal[];
}

/** The rate limiter's answer for one intent. */
export type RateLimitVerdict =
  | {
      readonly kind: 'allowed';
      /** Calls left in the current window after this one. */ readonly remaining: number;
    }
  | {
      readonly kind: 'rate_limited';
      /** Wait at least this long before the call can be allowed (≥ 1). */
      readonly retry_after_ms: number;
    };

/** A new state, or `undefined` when nothing changes, and the answer. */
export interface RateLimitDecision {
  readonly next: RateLimitState | undefined;
  readonly verdict: RateLimitVerdict;
}

/** The state of a key seen for the first time. */
export function newRateLimitState(): RateLimitState {
  return { allowed: [], refused: [] };
}

/**
 * The KV key of an (agent, tool) pair. Agent ids are subject tokens (no dots) and tool names
 * dotted lower-case segments, both valid KV key characters, so the first dot splits them back.
 */
export function rateLimitKey(agentId: string, tool: string): string {
  return `${agentId}.${tool}`;
}

/**
 * Decides whether `intentId`, seen at `nowMs`, fits the limit, and records it either way.
 *
 * A call at `nowMs` counts against every window `(t − window_ms, t]` that contains it: it is
 * allowed when fewer than `calls` allowed calls are in `(nowMs − window_ms, nowMs]`, so a call
 * exactly `window_ms` after the oldest one is allowed. `retry_after_ms` is when the oldest call in
 * the window leaves it. Calls logged with a time after `nowMs` (a replica whose clock runs ahead)
 * still count: clock skew can only make the limit stricter, never looser.
 */
export function checkRateLimit(
  state: RateLimitState,
  intentId: string,
  nowMs: number,
  rule: RateLimitRule,
): RateLimitDecision {
  if (state.allowed.some((entry) => entry.intent_id === intentId)) {
    return {
      next: undefined,
      verdict: { kind: 'allowed', remaining: remaining(state, nowMs, rule) },
    };
  }
  const refusal = state.refused.find((entry) => entry.intent_id === intentId);
  if (refusal !== undefined) {
    return {
      next: undefined,
      verdict: { kind: 'rate_limited', retry_after_ms: refusal.retry_after_ms },
    };
  }

  const inWindow = state.allowed.filter((entry) => entry.at_ms > nowMs - rule.window_ms);
  if (inWindow.length >= rule.calls) {
    // The `calls`-th newest call in the window must leave it before there is room again.
    const times = inWindow.map((entry) => entry.at_ms).sort((a, b) => a - b);
    const blocking = times[times.length - rule.calls] ?? nowMs;
    const retry_after_ms = Math.max(1, blocking + rule.window_ms - nowMs);
    return {
      next: {
        allowed: state.allowed,
        refused: [...state.refused, { intent_id: intentId, retry_after_ms }].slice(-kept(rule)),
      },
      verdict: { kind: 'rate_limited', retry_after_ms },
    };
  }
  // Keep the log sorted by time (a skewed replica may log out of order) and only its newest
  // entries: beyond the newest `calls`, older ones only serve to answer redeliveries.
  const allowed = [...state.allowed, { intent_id: intentId, at_ms: nowMs }]
    .sort((a, b) => a.at_ms - b.at_ms)
    .slice(-kept(rule));
  const next = { allowed, refused: state.refused };
  return {
    next,
    verdict: { kind: 'allowed', remaining: rule.calls - inWindow.length - 1 },
  };
}

/** Calls left in the window ending at `nowMs`. */
function remaining(state: RateLimitState, nowMs: number, rule: RateLimitRule): number {
  const used = state.allowed.filter((entry) => entry.at_ms > nowMs - rule.window_ms).length;
  return Math.max(0, rule.calls - used);
}

/** Entries kept per log: what the limit needs, or what redeliveries need if that is more. */
function kept(rule: RateLimitRule): number {
  return Math.max(rule.calls, REMEMBERED_INTENTS);
}
