import { Controller, Inject } from '@nestjs/common';
import { buildEvent, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { reserveStep, type StepVerdict } from '../domain/step-cap.js';
import { RunStore } from '../infra/run-store.js';

/**
 * `policy.decided{allow}` → a step counted and `budget.reserved`, or the terminal
 * `intent.resolved{denied, stage: budget, reason: step_cap | no_run}`. Output ids derive from the
 * input and the run record answers a redelivered intent as the first time, so a redelivery (or a
 * second replica) republishes the same event, which JetStream drops, and never counts twice.
 */
@Controller()
export class ReserveStepHandler {
  constructor(
    @Inject(RunStore) private readonly runs: RunStore,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('policy.decided')
  async reserveStep(event: Envelope<'policy.decided'>, ctx: EventContext): Promise<Outcome> {
    const { tool, args, step, effect } = event.data;
    // Policy resolved a denial itself, and an approval waits for a human: nothing to reserve.
    if (effect !== 'allow') return Outcome.skipped;
    const log = { run_id: event.run_id, intent_id: event.intent_id, tool };
    if (event.intent_id === undefined) {
      // Nothing to count it under and nobody waiting on it; failing closed: it never executes.
      this.logger.warn(log, 'allowed decision without an intent id: ignored');
      return Outcome.skipped;
    }
    const deny = async (reason: 'no_run' | 'step_cap', message: string) => {
      await ctx.publish(
        buildEvent({
          type: 'intent.resolved',
          cause: event,
          producer: ctx.producer,
          data: { status: 'denied', stage: 'budget', tool, reason, message },
        }),
      );
      this.logger.info({ ...log, reason }, 'intent denied');
      return Outcome.processed;
    };
    if (event.run_id === undefined) {
      return deny('no_run', 'every call belongs to a run: start one first (run.started)');
    }
    const intentId = event.intent_id;
    const verdict = await this.runs.update<StepVerdict>(event.run_id, (record) => {
      const decision = reserveStep(record, intentId);
      return { next: decision.next, answer: decision.verdict };
    });
    if (verdict.kind === 'step_cap') {
      return deny('step_cap', `the run has used all ${verdict.maxSteps} of its steps`);
    }
    await ctx.publish(
      buildEvent({
        type: 'budget.reserved',
        cause: event,
        producer: ctx.producer,
        data: {
          tool,
          args,
          step,
          reserved_micro_usd: 0,
          run_steps: verdict.runSteps,
          max_steps: verdict.maxSteps,
        },
      }),
    );
    this.logger.debug({ ...log, run_steps: verdict.runSteps }, 'step reserved');
    return Outcome.processed;
  }
}
