import { CLOCK_TOLERANCE_SECONDS, type TokenClaims } from './agent-token.js';

/** How often a full cache looks for expired entries to drop, at most. */
const SWEEP_INTERVAL_SECONDS = 1;

/**
 * Tokens whose signature and claims were verified, until they expire (DESIGN §11: an agent uses
 * one token for many intents over a few minutes; verify the signature once). Only tokens that
 * verified get in, so an attacker cannot fill it with garbage.
 *
 * Bounded: a full cache first drops its expired entries (at most once a second, so a cache full
 * of live tokens does not scan on every insert), then the oldest. An evicted token is simply
 * verified again. Checks that depend on the intent or on state that changes (the agent in the
 * subject, the agent's status, revocation) are not cached: they run on every intent.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, TokenClaims>();
  private nextSweep = 0;

  constructor(readonly maxEntries = 10_000) {}

  /** The claims of a verified token that has not expired at `nowSeconds`, or `undefined`. */
  get(token: string, nowSeconds = Date.now() / 1000): TokenClaims | undefined {
    const claims = this.entries.get(token);
    if (claims === undefined) return undefined;
    if (isExpired(claims, nowSeconds)) {
      this.entries.delete(token);
      return undefined;
    }
    return claims;
  }

  /** Remembers a token that just verified. */
  set(token: string, claims: TokenClaims, nowSeconds = Date.now() / 1000): void {
    this.entries.delete(token);
    if (this.entries.size >= this.maxEntries) this.evict(nowSeconds);
    this.entries.set(token, claims);
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(nowSeconds: number): void {
    if (nowSeconds >= this.nextSweep) {
      this.nextSweep = nowSeconds + SWEEP_INTERVAL_SECONDS;
      for (const [token, claims] of this.entries) {
        if (isExpired(claims, nowSeconds)) this.entries.delete(token);
      }
    }
    // A Map iterates in insertion order: the first key is the oldest entry.
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) return;
      this.entries.delete(oldest.value);
    }
  }
}

/** Expired as jose sees it: `exp` is checked with the same clock tolerance. */
function isExpired(claims: TokenClaims, nowSeconds: number): boolean {
  return claims.exp + CLOCK_TOLERANCE_SECONDS <= nowSeconds;
}
