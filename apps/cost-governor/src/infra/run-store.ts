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
 *
 * Each update starts from the record (and revision) this replica last read or wrote, kept for the
 * most recent runs: a run is written twice per intent (reserved, settled) and its record grows
 * with its steps, so reading it back each time cost a round trip and a parse of tens of KB. A
 * record another replica changed meanwhile only costs a lost compare-and-set round, which reads.
 */
export class RunStore {
  private readonly queues = new Map<string, Promise<unknown>>();
  /** The last record seen per run, least recently used first (a `Map` keeps insertion order). */
  private readonly known = new Map<string, { value: RunRecord | undefined; revision: number }>();
  /** Updates made, and compare-and-set rounds lost to another replica on the way. */
  readonly stats = { updates: 0, conflicts: 0 };

  constructor(
    private readonly kv: KV,
    /** The step cap of a new record when the caller gives none (`GOVERNOR_MAX_STEPS`). */
    private readonly configuredMax: number,
    /**
     * How many runs' records to keep: a record is a few tens of KB at most, and a miss costs
     * only the read this saves.
     */
    private readonly cacheSize = 256,
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
      { maxAttempts: 30, known: this.known.get(runId) },
    );
    this.remember(runId, result.value, result.revision);
    this.stats.updates += 1;
    this.stats.conflicts += result.attempts - 1;
    return answer as A;
  }

  private remember(runId: string, value: RunRecord | undefined, revision: number): void {
    this.known.delete(runId);
    this.known.set(runId, { value, revision });
    if (this.known.size > this.cacheSize) {
      const oldest = this.known.keys().next();
      if (oldest.done !== true) this.known.delete(oldest.value);
    }
  }
}
