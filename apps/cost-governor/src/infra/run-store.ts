import type { KV } from '@nats-io/kv';
import { casUpdate } from '@warden/messaging';
import { newRun, type RunRecord } from '../domain/step-cap.js';

/**
 * Where run records live: KV `warden_<env>_runs`, key = run id, updated by compare-and-set.
 *
 * A run's intents arrive together (an agent fans out), and every one of them writes the run's one
 * record: with 64 handlers per replica racing on one key, compare-and-set rounds mostly lose and
 * retry. So within a replica updates of one run take turns (a queue per key); compare-and-set then
 * only arbitrates between replicas.
 */
export class RunStore {
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Updates made, and compare-and-set rounds lost to another replica on the way. */
  readonly stats = { updates: 0, conflicts: 0 };

  constructor(
    private readonly kv: KV,
    /** The step cap of a new record when the caller gives none (`GOVERNOR_MAX_STEPS`). */
    private readonly configuredMax: number,
  ) {}

  /**
   * Read-modify-write of one run's record. `decide` sees the current record (a new one with the
   * configured cap when the run is unknown) and returns the next record (or `undefined` to leave
   * it) and an answer; on a lost race it runs again on the newer record. Resolves to the answer of
   * the round that won.
   */
  async update<A>(
    runId: string,
    decide: (record: RunRecord) => { next: RunRecord | undefined; answer: A },
    /** The step cap of a record created now (default: the environment's). */
    maxSteps: number = this.configuredMax,
  ): Promise<A> {
    const previous = this.queues.get(runId) ?? Promise.resolve();
    const turn = previous.then(
      () => this.casUpdate(runId, decide, maxSteps),
      () => this.casUpdate(runId, decide, maxSteps),
    );
    this.queues.set(runId, turn);
    try {
      return await turn;
    } finally {
      // The last in the queue removes it, so the map holds only runs being written now.
      if (this.queues.get(runId) === turn) this.queues.delete(runId);
    }
  }

  private async casUpdate<A>(
    runId: string,
    decide: (record: RunRecord) => { next: RunRecord | undefined; answer: A },
    maxSteps: number,
  ): Promise<A> {
    let answer: A | undefined;
    const result = await casUpdate<RunRecord>(
      this.kv,
      runId,
      (current) => {
        const decision = decide(current ?? newRun(maxSteps));
        answer = decision.answer;
        return decision.next;
      },
      // Only the other replicas contend here (see the class comment): a few each.
      { maxAttempts: 30 },
    );
    this.stats.updates += 1;
    this.stats.conflicts += result.attempts - 1;
    return answer as A;
  }
}
