import { Controller, Inject } from '@nestjs/common';
import { buildEvent, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_CONFIG, SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import type { CostGovernorConfig } from '../config.js';
import { Reservations } from '../reservations.js';

/**
 * Issue 6 §3: a reservation whose intent never settles (its executor was lost) is booked at its
 * reserved price after `GOVERNOR_RECONCILE_AFTER_MS`, not held forever. Every `budget.reserved`
 * comes back here once it is due (the durable's redelivery delay is the timer, so nothing scans
 * the runs); one already settled is left alone, one still open is booked on its run and daily
 * accounts and announced: `budget.settled{reconciled: true}`.
 *
 * A delayed message stays pending on the durable until it is due, so the durable's max ack
 * pending bounds the reservations waiting at once: beyond it reconciliation lags, nothing is lost.
 */
@Controller()
export class ReconcileHandler {
  constructor(
    @Inject(Reservations) private readonly reservations: Reservations,
    @Inject(SERVICE_CONFIG) private readonly config: CostGovernorConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  // Two deliveries per reservation (now, then when due) and room for retries after failures.
  @OnEvent('budget.reserved', { maxDeliver: 10, maxAckPending: 100_000, concurrency: 16 })
  async reconcile(event: Envelope<'budget.reserved'>, ctx: EventContext): Promise<Outcome> {
    const { run_id: runId, intent_id: intentId } = event;
    if (runId === undefined || intentId === undefined) return Outcome.skipped;
    const timeoutMs = this.config.GOVERNOR_RECONCILE_AFTER_MS;
    const now = Date.now();
    const due = Date.parse(event.occurred_at) + timeoutMs;
    if (now < due) return Outcome.retry(due - now);
    const booked = await this.reservations.reconcile(
      runId,
      intentId,
      event.agent_id,
      now,
      timeoutMs,
    );
    if (booked === undefined) return Outcome.skipped;
    await ctx.publish(
      buildEvent({
        type: 'budget.settled',
        cause: event,
        producer: ctx.producer,
        data: {
          cost_micro_usd: booked.bookedMicroUsd,
          released_micro_usd: 0,
          run_cost_micro_usd: booked.runCostMicroUsd,
          reconciled: true,
        },
      }),
    );
    this.logger.warn(
      { run_id: runId, intent_id: intentId, cost_micro_usd: booked.bookedMicroUsd },
      'reservation never settled: booked at its reserved price',
    );
    return Outcome.processed;
  }
}
