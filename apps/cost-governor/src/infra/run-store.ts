import type { KV } from '@nats-io/kv';
import { casUpdate } from '@warden/messaging';
import { newRun, type RunRecord } from '../domain/step-cap.js';

/** Where run records live: KV `warden_<env>_runs`, key = run id, updated by compare-and-set. */
export class RunStore {
  constructor(
    private readonly kv: KV,
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
  ): Promise<A> {
    let answer: A | undefined;
    await casUpdate<RunRecord>(this.kv, runId, (current) => {
      const decision = decide(current ?? newRun(this.configuredMax));
      answer = decision.answer;
      return decision.next;
    });
    return answer as A;
  }
}
