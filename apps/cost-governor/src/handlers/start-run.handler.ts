import { Controller, Inject } from '@nestjs/common';
import type { Envelope } from '@warden/contracts';
import { OnEvent, Outcome } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { startRun } from '../domain/step-cap.js';
import { RunStore } from '../infra/run-store.js';

/**
 * `run.started` → the run's record, its step cap tightened by the run's own `limits.max_steps`.
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
    const maxSteps = await this.runs.update(event.run_id, (record) => {
      const next = startRun(record, {
        declaredMaxSteps: event.data.limits?.max_steps,
        agentId: event.agent_id,
        workflow: event.workflow ?? event.data.workflow,
        at: event.occurred_at,
      });
      return { next, answer: (next ?? record).max_steps };
    });
    this.logger.debug({ run_id: event.run_id, max_steps: maxSteps }, 'run started');
    return Outcome.processed;
  }
}
