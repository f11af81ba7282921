import { Controller, Inject } from '@nestjs/common';
import { buildEvent, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { reserveStep, startRun, type StepVerdict } from '../domain/step-cap.js';
import { RunStore } from '../infra/run-store.js';

/**
 * `run.started` → the run's record (its own, tighter, step cap); `policy.decided{allow}` → a step
 * counted and `budget.reserved`, or `intent.resolved{denied, stage: budget, reason: step_cap}`.
 * Output ids derive from the input, and the record answers a redelivered intent as before.
 */
@Controller()
export class GovernRunHandler {
  constructor(
    @Inject(RunStore) private readonly runs: RunStore,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('run.started')
  async runStarted(event: Envelope<'run.started'>): Promise<Outcome> {
    if (event.run_id === undefined) return Outcome.skipped;
    await this.runs.update(event.run_id, (record) => ({
      next: startRun(record, {
        declaredMaxSteps: event.data.limits?.max_steps,
        agentId: event.agent_id,
        workflow: event.workflow ?? event.data.workflow,
        at: event.occurred_at,
      }),
      answer: undefined,
    }));
    return Outcome.processed;
  }

  @OnEvent('policy.decided')
  async reserve(event: Envelope<'policy.decided'>, ctx: EventContext): Promise<Outcome> {
    const { tool, args, step, effect } = event.data;
    // Policy resolved every other effect itself (a denial) or waits for a human (approval).
    if (effect !== 'allow') return Outcome.skipped;
    const log = { run_id: event.run_id, intent_id: event.intent_id, tool };
    if (event.run_id === undefined || event.intent_id === undefined) {
      await ctx.publish(
        buildEvent({
          type: 'intent.resolved',
          cause: event,
          producer: ctx.producer,
          data: {
            status: 'denied',
            stage: 'budget',
            tool,
            reason: 'no_run',
            message: 'every call belongs to a run: start one first (run.started)',
          },
        }),
      );
      this.logger.info(log, 'intent denied: no run');
      return Outcome.processed;
    }
    const intentId = event.intent_id;
    const verdict = await this.runs.update<StepVerdict>(event.run_id, (record) => {
      const decision = reserveStep(record, intentId);
      return { next: decision.next, answer: decision.verdict };
    });
    if (verdict.kind === 'step_cap') {
      await ctx.publish(
        buildEvent({
          type: 'intent.resolved',
          cause: event,
          producer: ctx.producer,
          data: {
            status: 'denied',
            stage: 'budget',
            tool,
            reason: 'step_cap',
            message: `the run has used all ${verdict.maxSteps} of its steps`,
          },
        }),
      );
      this.logger.info({ ...log, max_steps: verdict.maxSteps }, 'intent denied: step cap');
      return Outcome.processed;
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
