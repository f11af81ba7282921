/**
 * A circuit breaker per tool upstream (issue 7 §4), as pure transitions on a state that replicas
 * share (one KV value per tool, changed by compare-and-set).
 *
 * Why not a library's state machine (opossum, cockatiel): they keep the state in the process and
 * count only that process's calls. Here every replica must see the same state: five failures
 * spread over two replicas must open it for both, and one half-open probe must be allowed in
 * total, not one per replica. The rules are few enough to state here exactly:
 *
 * - **closed**: calls go through. It opens after `consecutiveFailures` failures in a row, or when
 *   the last `window` outcomes (at least `minCalls` of them, none older than `windowMs`) failed at
 *   `failureRate` or more.
 * - **open**: calls fail fast (no request) until `cooldownMs` after it opened.
 * - **half-open**: after the cooldown one call, the probe, goes through (claimed by
 *   compare-and-set, with a lease so a probe whose replica died is retried); the others still fail
 *   fast. The probe's success closes the breaker, its failure opens it again.
 *
 * Only upstream failures count (5xx, timeouts, refused connections), never a 4xx: a bad request is
 * the caller's, not a sign the upstream is down.
 */

/** The thresholds of a breaker. */
export interface BreakerRules {
  readonly consecutiveFailures: number;
  readonly failureRate: number;
  readonly minCalls: number;
  readonly window: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
  /** How long a half-open probe may run before another may start. */
  readonly probeLeaseMs: number;
}

/** Five failures in a row, or half of the last 20 calls in a minute; 30 s open. */
export const DEFAULT_BREAKER_RULES: BreakerRules = {
  consecutiveFailures: 5,
  failureRate: 0.5,
  minCalls: 10,
  window: 20,
  windowMs: 60_000,
  cooldownMs: 30_000,
  probeLeaseMs: 30_000,
};

/** One breaker, as stored. Times are epoch milliseconds. */
export interface BreakerState {
  readonly state: 'closed' | 'open';
  readonly consecutive_failures: number;
  /** The last outcomes, oldest first: at most `window` of them. */
  readonly recent: readonly { readonly at: number; readonly ok: boolean }[];
  /** When it last opened (while open). */
  readonly opened_at?: number;
  /** Why it opened, for `breaker.opened` and operators. */
  readonly reason?: string;
  /** The half-open probe in flight: its intent and until when it holds the probe. */
  readonly probe?: { readonly intent_id: string; readonly until: number };
}

/** A breaker never seen: closed, no history. */
export function newBreaker(): BreakerState {
  return { state: 'closed', consecutive_failures: 0, recent: [] };
}

/** Whether a call may go to the upstream now, and as what. */
export type Admission =
  | { readonly kind: 'call' }
  /** The half-open probe: `next` records this intent as the probe (write it before calling). */
  | { readonly kind: 'probe'; readonly next: BreakerState }
  | { readonly kind: 'fail_fast'; readonly openedAt: number; readonly retryInMs: number };

/** Decides whether `intentId` may call the upstream at `now`. */
export function admitCall(
  breaker: BreakerState,
  intentId: string,
  now: number,
  rules: BreakerRules = DEFAULT_BREAKER_RULES,
): Admission {
  if (breaker.state === 'closed') return { kind: 'call' };
  const openedAt = breaker.opened_at ?? now;
  const halfOpenAt = openedAt + rules.cooldownMs;
  if (now < halfOpenAt) return { kind: 'fail_fast', openedAt, retryInMs: halfOpenAt - now };
  const probe = breaker.probe;
  if (probe !== undefined && probe.intent_id !== intentId && now < probe.until) {
    return { kind: 'fail_fast', openedAt, retryInMs: probe.until - now };
  }
  return {
    kind: 'probe',
    next: { ...breaker, probe: { intent_id: intentId, until: now + rules.probeLeaseMs } },
  };
}

/** A transition a call's outcome caused, to announce (`breaker.opened` / `breaker.closed`). */
export type BreakerChange = 'opened' | 'closed' | undefined;

/**
 * Records the outcome of a call that reached the upstream (`ok`: it answered, even with a 4xx).
 * Returns the next state and whether the breaker opened or closed because of it.
 */
export function recordOutcome(
  breaker: BreakerState,
  ok: boolean,
  now: number,
  rules: BreakerRules = DEFAULT_BREAKER_RULES,
): { next: BreakerState; change: BreakerChange } {
  const recent = [...breaker.recent, { at: now, ok }]
    .filter((entry) => now - entry.at < rules.windowMs)
    .slice(-rules.window);
  const consecutive = ok ? 0 : breaker.consecutive_failures + 1;
  if (breaker.state === 'open') {
    // Only the probe (or a call admitted before it opened) gets here. A failure opens it anew,
    // announced again: the governor learns when the next probe may go through. A success closes
    // it with a fresh window: the failures that opened it must not count against it again.
    if (ok) {
      return {
        next: { state: 'closed', consecutive_failures: 0, recent: [{ at: now, ok: true }] },
        change: 'closed',
      };
    }
    const { probe: _probe, ...rest } = breaker;
    return {
      next: { ...rest, consecutive_failures: consecutive, recent, opened_at: now },
      change: 'opened',
    };
  }
  const reason = openingReason(consecutive, recent, rules);
  if (reason !== undefined) {
    return {
      next: { state: 'open', consecutive_failures: consecutive, recent, opened_at: now, reason },
      change: 'opened',
    };
  }
  return {
    next: { state: 'closed', consecutive_failures: consecutive, recent },
    change: undefined,
  };
}

function openingReason(
  consecutive: number,
  recent: readonly { ok: boolean }[],
  rules: BreakerRules,
): string | undefined {
  if (consecutive >= rules.consecutiveFailures) {
    return `${consecutive} failures in a row`;
  }
  if (recent.length >= rules.minCalls) {
    const failures = recent.filter((entry) => !entry.ok).length;
    if (failures / recent.length >= rules.failureRate) {
      return `${failures} of the last ${recent.length} calls failed`;
    }
  }
  return undefined;
}
