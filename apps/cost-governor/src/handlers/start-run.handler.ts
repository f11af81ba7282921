import { Controller, Inject } from '@nestjs/common';
import type { Envelope } from '@warden/contracts';
import { OnEvent, Outcome } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { limitRunBudget } from '../domain/run-budget.js';
import { startRun } from '../domain/step-cap.js';
import { RunStore } from '../infra/run-store.js';

/**
 * `run.started` → the run's record, its step cap and money budget tightened by the run's own
 * `limits` (never loosened).
 * Publishes nothing. It races the run's first decisions (another durable), which the record
 * absorbs: whichever arrives first creates it.
 */
@Controller()
export class StartRunHandler {
  constructor(
    @Inject(RunStore) private readonly runs: RunStore,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('run.started')
  async startRun(event: Envelope<'run.started'>): Promise<Outcome> {
    if (event.run_id === undefined) return Outcome.skipped;
    const configured = this.runs.rules.budget;
    const { maxSteps, clamped } = await this.runs.update(event.run_id, (record) => {
      const started = startRun(record, {
        declaredMaxSteps: event.data.limits?.max_steps,
        agentId: event.agent_id,
        workflow: event.workflow ?? event.data.workflow,
        at: event.occurred_at,
      });
      const budget = limitRunBudget(
        started ?? record,
        event.data.limits?.budget_micro_usd,
        configured,
      );
      const next = budget.next ?? started;
      return { next, answer: { maxSteps: (next ?? record).max_steps, clamped: budget.clamped } };
    });
    const log = { run_id: event.run_id, max_steps: maxSteps };
    if (clamped) this.logger.info(log, 'run budget above the configured one: clamped');
    this.logger.debug(log, 'run started');
    return Outcome.processed;
  }
}
