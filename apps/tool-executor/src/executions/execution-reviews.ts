import {
  deriveEventId,
  nowMicros,
  type ExecutionReviewResult,
  type ExecutionVerdict,
} from '@warden/contracts';
import { ApiFailure, type EventPublisher } from '@warden/messaging';
import type { DoneRecord } from '../domain/execution-record.js';
import type { ExecutionStore } from '../infra/execution-store.js';

/**
 * Reviews of executions that ended `in_doubt` (DESIGN §5: nobody knows whether the write landed,
 * so a person checks the upstream): `warden executions resolve`. The verdict goes to the log
 * first (`execution.reviewed`, one event id per intent, so a retried review publishes nothing
 * new), then onto the execution record by compare-and-set. A verdict, once given, stands: a
 * different one is refused rather than overwriting what someone found.
 */
export class ExecutionReviews {
  constructor(
    private readonly store: ExecutionStore,
    private readonly publisher: EventPublisher,
  ) {}

  async review(
    intentId: string,
    verdict: ExecutionVerdict,
    note: string,
    by: string,
  ): Promise<ExecutionReviewResult> {
    const stored = await this.store.get(intentId);
    if (stored === undefined) {
      throw new ApiFailure('not_found', `no execution of intent ${intentId} in this env`);
    }
    const { record, revision } = stored;
    if (record.state !== 'done' || record.outcome.status !== 'in_doubt') {
      const status = record.state === 'done' ? record.outcome.status : 'still running';
      throw new ApiFailure(
        'not_in_doubt',
        `intent ${intentId} is ${status}: only an execution that ended in_doubt is reviewed`,
      );
    }
    const given = record.review;
    if (given !== undefined) {
      if (given.verdict !== verdict) {
        throw new ApiFailure(
          'already_reviewed',
          `${given.by} reviewed intent ${intentId} as ${given.verdict} at ${given.at}: ${given.note}`,
        );
      }
      return resultOf(record, given, false);
    }
    const review = { verdict, by, at: nowMicros(), note };
    await this.publisher.publish(
      this.publisher.build({
        type: 'execution.reviewed',
        eventId: deriveEventId(intentId, 'execution.reviewed'),
        intentId,
        runId: record.run_id,
        agentId: record.agent_id,
        workflow: record.workflow,
        data: { tool: record.tool, verdict, note, by },
      }),
    );
    const next: DoneRecord = { ...record, review };
    if ((await this.store.update(intentId, next, revision)) === undefined) {
      // Another review won the race: answer with what is recorded now.
      return this.review(intentId, verdict, note, by);
    }
    return resultOf(record, review, true);
  }
}

function resultOf(
  record: DoneRecord,
  review: NonNullable<DoneRecord['review']>,
  changed: boolean,
): ExecutionReviewResult {
  return {
    intent_id: record.intent_id,
    tool: record.tool,
    verdict: review.verdict,
    reviewed_by: review.by,
    reviewed_at: review.at,
    changed,
  };
}
