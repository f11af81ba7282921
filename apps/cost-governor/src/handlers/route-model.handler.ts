import { Controller, Inject } from '@nestjs/common';
import { buildEvent, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import {
  routeAndReserve,
  settleModelCall,
  type ModelVerdict,
  type UsageOutcome,
} from '../domain/model-call.js';
import { formatUsd } from '../domain/money.js';
import { settledData } from '../domain/run-budget.js';
import { RunStore } from '../infra/run-store.js';
import { ROUTING_TABLE, type RoutingTable } from '../routing-table.provider.js';

/**
 * Model calls (issue 6 §6): `model.requested` → a model picked for the task class within what the
 * run has left, its estimate reserved → `model.routed{model, max_output_tokens}`, or
 * `intent.resolved{denied, stage: budget, reason: budget_exhausted}`; then `model.usage` → the
 * tokens priced at the model's rates, booked once → `budget.settled`.
 */
@Controller()
export class RouteModelHandler {
  constructor(
    @Inject(RunStore) private readonly runs: RunStore,
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
    const now = Date.now();
    const verdict = await this.runs.update<ModelVerdict>(runId, (record) => {
      const decision = routeAndReserve(
        record,
        {
          intentId,
          taskClass,
          inputTokens: event.data.estimated_tokens,
          maxOutputTokens: event.data.max_output_tokens,
        },
        this.table,
        now,
        this.runs.rules.budget,
      );
      return { next: decision.next, answer: decision.verdict };
    });
    if (verdict.kind === 'budget_exhausted') {
      const { cheapest, remainingMicroUsd } = verdict.decision;
      await ctx.publish(
        buildEvent({
          type: 'intent.resolved',
          cause: event,
          producer: ctx.producer,
          data: {
            status: 'denied',
            stage: 'budget',
            reason: 'budget_exhausted',
            message: `the cheapest model for ${taskClass} (${cheapest.model}) needs ${formatUsd(cheapest.minimumMicroUsd)} USD and the run has ${formatUsd(remainingMicroUsd)} USD left`,
          },
        }),
      );
      this.logger.info(log, 'model call refused: budget exhausted');
      return Outcome.processed;
    }
    const { call } = verdict;
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
    const now = Date.now();
    const usage = {
      model: event.data.model,
      inputTokens: event.data.input_tokens,
      outputTokens: event.data.output_tokens,
    };
    const outcome = await this.runs.update<UsageOutcome>(runId, (record) => {
      const decision = settleModelCall(record, intentId, usage, this.table, now);
      return { next: decision.next, answer: decision.verdict };
    });
    if (outcome.kind === 'unknown_call') {
      this.logger.warn(
        { run_id: runId, intent_id: intentId, model: usage.model },
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
