import { CLOCK_TOLERANCE_SECONDS, type AgentClaims } from './agent-token.js';

/**
 * Tokens whose signature and claims were verified, until they expire (DESIGN §11: an agent uses
 * one token for many intents over a few minutes; verify the signature once). Bounded: past
 * `maxEntries` the oldest entry goes. Checks that depend on the intent (the agent in the subject,
 * revocation) still run on every intent.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, AgentClaims>();

  constructor(private readonly maxEntries = 10_000) {}

  /** The claims of a verified, unexpired token, or `undefined`. */
  get(token: string, nowSeconds = Date.now() / 1000): AgentClaims | undefined {
    const claims = this.entries.get(token);
    if (claims === undefined) return undefined;
    if (claims.exp + CLOCK_TOLERANCE_SECONDS <= nowSeconds) {
      this.entries.delete(token);
      return undefined;
    }
    return claims;
  }

  set(token: string, claims: AgentClaims): void {
    this.entries.delete(token);
    this.entries.set(token, claims);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
