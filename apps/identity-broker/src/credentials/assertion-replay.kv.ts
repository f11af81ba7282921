import { createHash } from 'node:crypto';
import { JetStreamApiCodes } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { ASSERTION_MAX_LIFETIME_SECONDS } from '../domain/client-assertion.js';
import { CLOCK_TOLERANCE_SECONDS } from '../domain/agent-token.js';

/**
 * How long a used assertion is remembered (the `assertion_jtis` bucket's max age). An assertion
 * is accepted only with `iat` at most the leeway ahead and `exp` at most 5 minutes after `iat`,
 * also with the leeway: after 5 min + 2 × 30 s it can no longer verify, so forgetting it is safe.
 * Ten minutes leave room for replicas whose clocks disagree.
 */
export const ASSERTION_MEMORY_MS = Math.max(
  600_000,
  (ASSERTION_MAX_LIFETIME_SECONDS + 2 * CLOCK_TOLERANCE_SECONDS) * 1000 * 2,
);

/**
 * Single use of agents' assertions: KV `assertion_jtis`, key `<agent>.<sha256(jti)>`, written
 * with `create` (fails when the key exists), so two replicas that receive the same assertion at
 * once accept it once between them.
 */
export class KvAssertionReplay {
  constructor(private readonly kv: KV) {}

  /** Whether this is the first time `jti` of `agentId` is used; remembers it. */
  async firstUse(agentId: string, jti: string): Promise<boolean> {
    // Hashed: a jti is whatever the agent chose, and a KV key allows few characters.
    const key = `${agentId}.${createHash('sha256').update(jti).digest('base64url')}`;
    try {
      await this.kv.create(key, '');
      return true;
    } catch (error) {
      if (isWrongLastSequence(error)) return false;
      throw error;
    }
  }
}

function isWrongLastSequence(error: unknown): boolean {
  const { code } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown };
  return (
    code === JetStreamApiCodes.StreamWrongLastSequence ||
    code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
  );
}
