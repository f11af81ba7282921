import { Controller, Inject } from '@nestjs/common';
import { buildEvent, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { reserveIntent, type IntentVerdict } from '../domain/run-budget.js';
import { formatUsd } from '../domain/money.js';
import { RunStore } from '../infra/run-store.js';

/**
 * `policy.decided{allow}` (or `approval.granted`) → a step counted and the tool's price reserved against the run's
 * budget (`budget.reserved`), or the terminal `intent.resolved{denied, stage: budget, reason:
 * step_cap | run_budget | no_run}`. Output ids derive from the input and the run record answers a
 * redelivered intent as the first time, so a redelivery (or a second replica) republishes the
 * same event, which JetStream drops, and never counts or reserves twice.
 */
@Controller()
export class ReserveStepHandler {
  constructor(
    @Inject(RunStore) private readonly runs: RunStore,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('policy.decided')
  async reserveStep(event: Envelope<'policy.decided'>, ctx: EventContext): Promise<Outcome> {
    // Policy resolved a denial itself, and an approval waits for a human: nothing to reserve.
    if (event.data.effect !== 'allow') return Outcome.skipped;
    return this.reserve(event, event.data, ctx);
  }

  /** A human approved exactly these args (issue 5): the intent goes on as if allowed. */
  @OnEvent('approval.granted')
  async reserveApproved(event: Envelope<'approval.granted'>, ctx: EventContext): Promise<Outcome> {
    return this.reserve(event, event.data, ctx);
  }

  private async reserve(
    event: Envelope<'policy.decided'> | Envelope<'approval.granted'>,
    intent: {
      tool: string;
      args: Record<string, unknown>;
      step: number;
      cost_micro_usd?: number | undefined;
      /** A granted approval carries no risk: its write is then not counted as progress. */
      risk?: { write: boolean } | undefined;
    },
    ctx: EventContext,
  ): Promise<Outcome> {
    const { tool, args, step } = intent;
    const log = { run_id: event.run_id, intent_id: event.intent_id, tool };
    if (event.intent_id === undefined) {
      // Nothing to count it under and nobody waiting on it; failing closed: it never executes.
      this.logger.warn(log, 'allowed intent without an intent id: ignored');
      return Outcome.skipped;
    }
    const deny = async (reason: 'no_run' | 'step_cap' | 'run_budget' | 'loop', message: string) => {
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
    const cost = intent.cost_micro_usd ?? 0;
    const now = Date.now();
    const verdict = await this.runs.update<IntentVerdict>(event.run_id, (record) => {
      const decision = reserveIntent(
        record,
        { intentId, tool, args, costMicroUsd: cost, write: intent.risk?.write === true },
        now,
        this.runs.rules,
      );
      return { next: decision.next, answer: decision.verdict };
    });
    if (verdict.kind === 'step_cap') {
      return deny('step_cap', `the run has used all ${verdict.maxSteps} of its steps`);
    }
    if (verdict.kind === 'loop') {
      const { halt } = verdict;
      const why =
        halt.rule === 'repeated_call'
          ? `${halt.tool} was called with the same args ${halt.count} times (limit ${halt.limit})`
          : `${halt.count} steps without a successful write (limit ${halt.limit})`;
      if (verdict.halting) {
        await ctx.publish(
          buildEvent({
            type: 'run.halted',
            cause: event,
            producer: ctx.producer,
            data: {
              reason: 'loop',
              by: 'service:cost-governor',
              message: `halted as a loop: ${why}`,
            },
          }),
        );
        this.logger.warn({ ...log, rule: halt.rule }, 'run halted as a loop');
      }
      return deny('loop', `the run was halted as a loop: ${why}`);
    }
    if (verdict.kind === 'run_budget') {
      return deny(
        'run_budget',
        `the call costs ${formatUsd(verdict.costMicroUsd)} USD and the run has ${formatUsd(verdict.remainingMicroUsd)} USD left`,
      );
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
          reserved_micro_usd: verdict.reservedMicroUsd,
          run_steps: verdict.runSteps,
          max_steps: verdict.maxSteps,
          ...(verdict.remainingMicroUsd === undefined
            ? {}
            : { run_remaining_micro_usd: verdict.remainingMicroUsd }),
        },
      }),
    );
    this.logger.debug({ ...log, run_steps: verdict.runSteps }, 'step reserved');
    return Outcome.processed;
  }
}
