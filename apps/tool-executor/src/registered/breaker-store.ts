import type { KV } from '@nats-io/kv';
import { casUpdate } from '@warden/messaging';
import {
  admitCall,
  newBreaker,
  recordOutcome,
  type Admission,
  type BreakerChange,
  type BreakerRules,
  type BreakerState,
} from '../domain/breaker.js';

/**
 * The breakers of every tool upstream in KV `breakers` (key = tool name), shared by the executor
 * replicas: admitting a call is one read (only claiming a half-open probe writes), recording an
 * outcome one compare-and-set (none for a success while all is well: the failure rate is then
 * measured over the calls since the window's first failure, which can only err towards opening).
 */
export class BreakerStore {
  /**
   * Breakers this replica knows to be open, until their cooldown ends: while it lasts nothing can
   * close them (only a probe can, after it), so a call fails fast here without reading KV.
   */
  private readonly open = new Map<string, { openedAt: number; until: number }>();

  constructor(
    private readonly kv: KV,
    private readonly rules: BreakerRules,
  ) {}

  /** Whether `intentId` may call `tool`'s upstream now; a half-open probe is claimed here. */
  async admit(tool: string, intentId: string, now: number): Promise<Admission> {
    const known = this.open.get(tool);
    if (known !== undefined && now < known.until) {
      return { kind: 'fail_fast', openedAt: known.openedAt, retryInMs: known.until - now };
    }
    let admission: Admission = { kind: 'call' };
    await casUpdate<BreakerState>(
      this.kv,
      tool,
      (current) => {
        admission = admitCall(current ?? newBreaker(), intentId, now, this.rules);
        return admission.kind === 'probe' ? admission.next : undefined;
      },
      { maxAttempts: 30 },
    );
    // Assigned in the compare-and-set round (TypeScript cannot see that it ran).
    const decided = admission as Admission;
    this.remember(tool, decided.kind === 'fail_fast' ? decided.openedAt : undefined);
    return decided;
  }

  /**
   * Records a call that reached the upstream (`ok`: it answered); returns a state change and,
   * while open, when a probe may go through.
   */
  async record(
    tool: string,
    ok: boolean,
    now: number,
  ): Promise<{ change: BreakerChange; state: BreakerState; probeAfter?: number }> {
    let change: BreakerChange;
    const result = await casUpdate<BreakerState>(
      this.kv,
      tool,
      (stored) => {
        const breaker = stored ?? newBreaker();
        // A healthy upstream costs no write: a success is recorded only while the window holds a
        // failure, which is when it can change the failure rate that matters.
        if (ok && breaker.state === 'closed' && breaker.recent.every((entry) => entry.ok)) {
          change = undefined;
          return undefined;
        }
        const outcome = recordOutcome(breaker, ok, now, this.rules);
        change = outcome.change;
        return outcome.next;
      },
      { maxAttempts: 30 },
    );
    const state = result.value ?? newBreaker();
    const openedAt = state.state === 'open' ? state.opened_at : undefined;
    this.remember(tool, openedAt);
    return openedAt === undefined
      ? { change, state }
      : { change, state, probeAfter: openedAt + this.rules.cooldownMs };
  }

  private remember(tool: string, openedAt: number | undefined): void {
    if (openedAt === undefined) this.open.delete(tool);
    else this.open.set(tool, { openedAt, until: openedAt + this.rules.cooldownMs });
  }
}
