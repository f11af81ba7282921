import { Controller, Inject } from '@nestjs/common';
import type { Envelope } from '@warden/contracts';
import { OnEvent, Outcome } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { settingOf, stampOf } from '../admin/governor-desk.js';
import {
  closeBreaker,
  configureBudget,
  openBreaker,
  pauseScope,
  resumeScope,
  type GovernorControls,
} from '../domain/controls.js';
import { ControlsStore } from '../infra/controls-store.js';

/**
 * The controls as a projection of the log: budgets configured, agents and workflows paused and
 * resumed, breakers opened and closed. The governor's API applies its own changes before it
 * answers; this applies them again from the log (no change: only newer changes apply), and is
 * what brings in changes made elsewhere: a breaker the executor opened, a replica's API call
 * that crashed after publishing.
 */
@Controller()
export class ControlsHandler {
  constructor(
    @Inject(ControlsStore) private readonly controls: ControlsStore,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('budget.configured')
  async budgetConfigured(event: Envelope<'budget.configured'>): Promise<Outcome> {
    const setting = settingOf(event);
    if (setting === undefined) {
      this.logger.warn(
        { event_id: event.event_id },
        'budget.configured with invalid limits: ignored',
      );
      return Outcome.skipped;
    }
    return this.apply(event, (controls) =>
      configureBudget(controls, setting, stampOf(event, event.data.by)),
    );
  }

  @OnEvent('agent.paused')
  async agentPaused(event: Envelope<'agent.paused'>): Promise<Outcome> {
    const { agent_id: id, by, reason } = event.data;
    return this.apply(event, (controls) =>
      pauseScope(controls, { kind: 'agent', id }, stampOf(event, by), reason),
    );
  }

  @OnEvent('agent.unpaused')
  async agentUnpaused(event: Envelope<'agent.unpaused'>): Promise<Outcome> {
    const { agent_id: id, by, reason } = event.data;
    return this.apply(event, (controls) =>
      resumeScope(controls, { kind: 'agent', id }, stampOf(event, by), reason),
    );
  }

  @OnEvent('workflow.paused')
  async workflowPaused(event: Envelope<'workflow.paused'>): Promise<Outcome> {
    const { workflow: id, by, reason } = event.data;
    return this.apply(event, (controls) =>
      pauseScope(controls, { kind: 'workflow', id }, stampOf(event, by), reason),
    );
  }

  @OnEvent('workflow.resumed')
  async workflowResumed(event: Envelope<'workflow.resumed'>): Promise<Outcome> {
    const { workflow: id, by, reason } = event.data;
    return this.apply(event, (controls) =>
      resumeScope(controls, { kind: 'workflow', id }, stampOf(event, by), reason),
    );
  }

  /** Issue 6 §7: runs calling a tool whose upstream keeps failing are halted, not retried. */
  @OnEvent('breaker.opened')
  async breakerOpened(event: Envelope<'breaker.opened'>): Promise<Outcome> {
    const { tool, reason, probe_after: probeAfter } = event.data;
    return this.apply(event, (controls) =>
      openBreaker(controls, tool, stampOf(event, ''), { reason, probeAfter }),
    );
  }

  @OnEvent('breaker.closed')
  async breakerClosed(event: Envelope<'breaker.closed'>): Promise<Outcome> {
    return this.apply(event, (controls) =>
      closeBreaker(controls, event.data.tool, stampOf(event, '')),
    );
  }

  private async apply(
    event: Envelope,
    change: (controls: GovernorControls) => GovernorControls | undefined,
  ): Promise<Outcome> {
    const { changed } = await this.controls.update(change);
    this.logger.info({ event_id: event.event_id, type: event.type, changed }, 'controls updated');
    return changed ? Outcome.processed : Outcome.skipped;
  }
}
