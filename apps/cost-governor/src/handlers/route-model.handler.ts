import { Controller, Inject } from '@nestjs/common';
import { buildEvent, formatUsd, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { settledData } from '../domain/run-budget.js';
import { Reservations } from '../reservations.js';
import { ROUTING_TABLE, type RoutingTable } from '../routing-table.provider.js';

/**
 * Model calls (issue 6 §6): `model.requested` → a model picked for the task class within what the
 * run has left, its estimate reserved on the run and its agent's and workflow's day →
 * `model.routed{model, max_output_tokens}`, or `intent.resolved{denied, stage: budget, reason:
 * budget_exhausted | daily_budget | paused}`; then `model.usage` → the tokens priced at the
 * model's rates, booked once → `budget.settled`.
 */
@Controller()
export class RouteModelHandler {
  constructor(
    @Inject(Reservations) private readonly reservations: Reservations,
    @Inject(ROUTING_TABLE) private readonly table: RoutingTable,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('model.requested')
  async route(event: Envelope<'model.requested'>, ctx: EventContext): Promise<Outcome> {
    const { run_id: runId, intent_id: intentId } = event;
    const { task_class: taskClass } = event.data;
    const log = { run_id: runId, intent_id: intentId, task_class: taskClass };
    if (runId === undefined || intentId === undefined) {
      this.logger.warn(log, 'model request without a run or intent id: ignored');
      return Outcome.skipped;
    }
    if (event.agent_id === undefined) {
      this.logger.warn(log, 'model request without an agent id: ignored');
      return Outcome.skipped;
    }
    const answer = await this.reservations.routeModel(
      {
        runId,
        intentId,
        agentId: event.agent_id,
        workflow: event.workflow,
        taskClass,
        inputTokens: event.data.estimated_tokens,
        maxOutputTokens: event.data.max_output_tokens,
        at: Date.parse(event.occurred_at),
      },
      this.table,
    );
    const deny = async (reason: string, message: string) => {
      await ctx.publish(
        buildEvent({
          type: 'intent.resolved',
          cause: event,
          producer: ctx.producer,
          data: { status: 'denied', stage: 'budget', reason, message },
        }),
      );
      this.logger.info({ ...log, reason }, 'model call refused');
      return Outcome.processed;
    };
    if (answer.kind === 'budget_exhausted') {
      const { cheapest, remainingMicroUsd } = answer.decision;
      return deny(
        'budget_exhausted',
        `the cheapest model for ${taskClass} (${cheapest.model}) needs ${formatUsd(cheapest.minimumMicroUsd)} USD and the run has ${formatUsd(remainingMicroUsd)} USD left`,
      );
    }
    if (answer.kind === 'gated') {
      return deny(
        'paused',
        `model calls of a paused ${answer.gate.kind === 'paused' ? answer.gate.scope.kind : 'scope'} are refused until it resumes`,
      );
    }
    if (answer.kind === 'daily_budget') {
      return deny(
        'daily_budget',
        `the ${answer.scope} ${answer.id} has ${formatUsd(answer.remainingMicroUsd)} USD of its daily budget left; it resets at the start of the next day`,
      );
    }
    const { call } = answer;
    await ctx.publish(
      buildEvent({
        type: 'model.routed',
        cause: event,
        producer: ctx.producer,
        data: {
          task_class: call.task_class,
          model: call.model,
          estimated_micro_usd: call.estimated_micro_usd,
          max_output_tokens: call.max_output_tokens,
          tier: call.tier,
          reason: call.reason,
        },
      }),
    );
    this.logger.debug({ ...log, model: call.model, reason: call.reason }, 'model routed');
    return Outcome.processed;
  }

  @OnEvent('model.usage')
  async settle(event: Envelope<'model.usage'>, ctx: EventContext): Promise<Outcome> {
    const { run_id: runId, intent_id: intentId } = event;
    if (runId === undefined || intentId === undefined) return Outcome.skipped;
    const outcome = await this.reservations.settleModel(
      runId,
      intentId,
      event.agent_id,
      {
        model: event.data.model,
        inputTokens: event.data.input_tokens,
        outputTokens: event.data.output_tokens,
      },
      this.table,
      Date.now(),
    );
    if (outcome.kind === 'unknown_call') {
      this.logger.warn(
        { run_id: runId, intent_id: intentId, model: event.data.model },
        'model usage for a call this governor never routed: not booked',
      );
      return Outcome.skipped;
    }
    await ctx.publish(
      buildEvent({
        type: 'budget.settled',
        cause: event,
        producer: ctx.producer,
        data: settledData(outcome),
      }),
    );
    return Outcome.processed;
  }
}
