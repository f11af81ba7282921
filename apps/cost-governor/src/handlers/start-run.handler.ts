import { Controller, Inject } from '@nestjs/common';
import type { Envelope } from '@warden/contracts';
import { OnEvent, Outcome } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { limitRun } from '../domain/run-budget.js';
import { startRun } from '../domain/step-cap.js';
import { AgentDefaults } from '../infra/agent-defaults.js';
import { RunStore } from '../infra/run-store.js';
import { Reservations } from '../reservations.js';

/**
 * `run.started` → the run's record with its limits: the configured ones (the operator's, the
 * agent's registered default budget, the environment's), tightened by the run's own `limits`,
 * never loosened.
 * Publishes nothing. It races the run's first decisions (another durable), which the record
 * absorbs: whichever arrives first creates it.
 */
@Controller()
export class StartRunHandler {
  constructor(
    @Inject(RunStore) private readonly runs: RunStore,
    @Inject(Reservations) private readonly reservations: Reservations,
    @Inject(AgentDefaults) private readonly agents: AgentDefaults,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('run.started')
  async startRun(event: Envelope<'run.started'>): Promise<Outcome> {
    if (event.run_id === undefined) return Outcome.skipped;
    const agentDefault =
      event.agent_id === undefined ? undefined : await this.agents.runBudgetOf(event.agent_id);
    const configured = await this.reservations.runLimitsFor(agentDefault);
    const declared = event.data.limits;
    const startedAt = Date.parse(event.occurred_at);
    const { maxSteps, clamped } = await this.runs.update(
      event.run_id,
      (record) => {
        const started = startRun(record, {
          declaredMaxSteps: declared?.max_steps,
          agentId: event.agent_id,
          workflow: event.workflow ?? event.data.workflow,
          at: event.occurred_at,
        });
        const limited = limitRun(started ?? record, configured, declared, startedAt);
        const next = limited.next ?? started;
        return {
          next,
          answer: { maxSteps: (next ?? record).max_steps, clamped: limited.clamped },
        };
      },
      configured.max_steps,
    );
    const log = { run_id: event.run_id, max_steps: maxSteps };
    if (clamped.length > 0) {
      this.logger.info(
        { ...log, clamped: clamped.map((limit) => limit.field) },
        'run limits above the configured ones: clamped',
      );
    }
    this.logger.debug(log, 'run started');
    return Outcome.processed;
  }
}
