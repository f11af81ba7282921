import type { KV } from '@nats-io/kv';
import { casUpdate } from '@warden/messaging';
import type { RunRules } from '../domain/run-budget.js';
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

  constructor(
    private readonly kv: KV,
    private readonly configuredMax: number,
    /** The operator's rules for every run: its budget, loop limits. */
    readonly rules: RunRules,
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
  ): Promise<A> {
    const previous = this.queues.get(runId) ?? Promise.resolve();
    const turn = previous.then(
      () => this.casUpdate(runId, decide),
      () => this.casUpdate(runId, decide),
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
  ): Promise<A> {
    let answer: A | undefined;
    await casUpdate<RunRecord>(
      this.kv,
      runId,
      (current) => {
        const decision = decide(current ?? newRun(this.configuredMax));
        answer = decision.answer;
        return decision.next;
      },
      // Only the other replicas contend here (see the class comment): a few each.
      { maxAttempts: 30 },
    );
    return answer as A;
  }
}
