import { Controller, Inject } from '@nestjs/common';
import { buildEvent, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { settledData } from '../domain/run-budget.js';
import { Reservations } from '../reservations.js';

/**
 * `intent.resolved` by the executor (executed, failed, in doubt) → the intent's cost booked
 * against its run and its agent's and workflow's day, the rest of its reservation released:
 * `budget.settled` with the run's totals (DESIGN §2 step 6). The executor does not report a price
 * of its own yet, so the actual cost of a tool call is its registered price, the amount reserved.
 * Resolutions by earlier stages reserved nothing and are skipped.
 */
@Controller()
export class SettleIntentHandler {
  constructor(
    @Inject(Reservations) private readonly reservations: Reservations,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('intent.resolved')
  async settle(event: Envelope<'intent.resolved'>, ctx: EventContext): Promise<Outcome> {
    if (event.data.stage !== 'executor') return Outcome.skipped;
    const { run_id: runId, intent_id: intentId } = event;
    if (runId === undefined || intentId === undefined) return Outcome.skipped;
    const { outcome, runSteps } = await this.reservations.settle(
      runId,
      intentId,
      event.agent_id,
      event.data.status === 'executed',
      Date.now(),
    );
    if (outcome.kind === 'not_reserved') return Outcome.skipped;
    await ctx.publish(
      buildEvent({
        type: 'budget.settled',
        cause: event,
        producer: ctx.producer,
        data: settledData(outcome, runSteps),
      }),
    );
    this.logger.debug(
      { run_id: runId, intent_id: intentId, cost_micro_usd: outcome.costMicroUsd },
      'intent settled',
    );
    return Outcome.processed;
  }
}
