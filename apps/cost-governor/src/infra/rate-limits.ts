import type { KV } from '@nats-io/kv';
import type { RateLimit } from '@warden/contracts';
import { casUpdate } from '@warden/messaging';
import {
  checkRateLimit,
  newRateLimitState,
  rateLimitKey,
  type RateLimitState,
  type RateLimitVerdict,
} from '../domain/guards/index.js';

/** Rate-limit windows per (agent, tool) in KV `rate_limits`, updated by compare-and-set. */
export class RateLimits {
  constructor(private readonly kv: KV) {}

  async check(
    agentId: string,
    tool: string,
    intentId: string,
    nowMs: number,
    rule: RateLimit,
  ): Promise<RateLimitVerdict> {
    let verdict: RateLimitVerdict | undefined;
    await casUpdate<RateLimitState>(
      this.kv,
      rateLimitKey(agentId, tool),
      (current) => {
        const decision = checkRateLimit(current ?? newRateLimitState(), intentId, nowMs, rule);
        verdict = decision.verdict;
        return decision.next;
      },
      { maxAttempts: 30 },
    );
    return verdict as RateLimitVerdict;
  }
}
