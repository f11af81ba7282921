import { Controller, Inject } from '@nestjs/common';
import { buildEvent, formatUsd, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { Reservations, type ReservationAnswer } from '../reservations.js';

/** Why the governor refused an intent, as `intent.resolved` reason codes. */
type DenyReason =
  | 'no_run'
  | 'step_cap'
  | 'run_budget'
  | 'daily_budget'
  | 'rate_limited'
  | 'paused'
  | 'upstream_degraded'
  | 'loop';

/**
 * `policy.decided{allow}` (or `approval.granted`) → the intent priced and reserved against its
 * run, its agent's and workflow's day, within its agent's rate limit (`budget.reserved`), or the
 * terminal `intent.resolved{denied, stage: budget, reason}` (see {@link Reservations} for the
 * order of the checks). A run stopped by a loop, a pause or a degraded upstream is announced once
 * (`run.halted`). Output ids derive from the input and the run record keeps each intent's answer,
 * so a redelivery (or a second replica) republishes the same event, which JetStream drops.
 */
@Controller()
export class ReserveStepHandler {
  constructor(
    @Inject(Reservations) private readonly reservations: Reservations,
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
      tool_version?: number | undefined;
      /** A granted approval carries no risk: its write is then not counted as progress. */
      risk?: { write: boolean } | undefined;
    },
    ctx: EventContext,
  ): Promise<Outcome> {
    const { tool, args, step } = intent;
    const log = { run_id: event.run_id, intent_id: event.intent_id, tool };
    if (event.intent_id === undefined || event.agent_id === undefined) {
      // Nothing to count it under and nobody waiting on it; failing closed: it never executes.
      this.logger.warn(log, 'allowed intent without an intent or agent id: ignored');
      return Outcome.skipped;
    }
    const deny = async (reason: DenyReason, message: string) => {
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
    const halt = async (reason: 'loop' | 'paused' | 'upstream_degraded', message: string) => {
      await ctx.publish(
        buildEvent({
          type: 'run.halted',
          cause: event,
          producer: ctx.producer,
          data: { reason, by: 'service:cost-governor', message },
        }),
      );
      this.logger.warn({ ...log, reason }, 'run halted');
    };
    if (event.run_id === undefined) {
      return deny('no_run', 'every call belongs to a run: start one first (run.started)');
    }
    const answer: ReservationAnswer = await this.reservations.reserve({
      runId: event.run_id,
      intentId: event.intent_id,
      agentId: event.agent_id,
      workflow: event.workflow,
      tool,
      args,
      costMicroUsd: intent.cost_micro_usd ?? 0,
      write: intent.risk?.write === true,
      // Policy's clock, not ours: every replica and every redelivery charges the same day.
      at: Date.parse(event.occurred_at),
    });
    switch (answer.kind) {
      case 'reserved':
        await ctx.publish(
          buildEvent({
            type: 'budget.reserved',
            cause: event,
            producer: ctx.producer,
            data: {
              tool,
              args,
              step,
              ...(intent.tool_version === undefined ? {} : { tool_version: intent.tool_version }),
              reserved_micro_usd: answer.reservedMicroUsd,
              run_steps: answer.runSteps,
              max_steps: answer.maxSteps,
              ...(answer.remainingMicroUsd === undefined
                ? {}
                : { run_remaining_micro_usd: answer.remainingMicroUsd }),
            },
          }),
        );
        this.logger.debug({ ...log, run_steps: answer.runSteps }, 'step reserved');
        return Outcome.processed;
      case 'step_cap':
        return deny('step_cap', `the run has used all ${answer.maxSteps} of its steps`);
      case 'loop': {
        const { halt: loop } = answer;
        const why =
          loop.rule === 'repeated_call'
            ? `${loop.tool} was called with the same args ${loop.count} times (limit ${loop.limit})`
            : `${loop.count} steps without a successful write (limit ${loop.limit})`;
        if (answer.halting) await halt('loop', `halted as a loop: ${why}`);
        return deny('loop', `the run was halted as a loop: ${why}`);
      }
      case 'gated': {
        const { gate } = answer;
        const why =
          gate.kind === 'paused'
            ? `${gate.scope.kind} ${gate.scope.id} was paused by ${gate.entry.by} at ${gate.entry.at}${gate.entry.reason === undefined ? '' : `: ${gate.entry.reason}`}`
            : `the upstream of ${gate.tool} is degraded (its breaker opened at ${gate.since.at}${gate.since.reason === undefined ? '' : `: ${gate.since.reason}`}); calls go through again once it closes`;
        if (answer.halting) await halt(gate.kind, why);
        return deny(gate.kind, why);
      }
      case 'expired':
        return deny(
          'run_budget',
          `the run has used its wall-clock time (it ran out at ${new Date(answer.deadline).toISOString()})`,
        );
      case 'run_budget':
        return deny(
          'run_budget',
          `the call costs ${formatUsd(answer.costMicroUsd)} USD and the run has ${formatUsd(answer.remainingMicroUsd)} USD left`,
        );
      case 'rate_limited':
        return deny(
          'rate_limited',
          `${event.agent_id} called ${tool} as often as its rate limit allows: retry in ${Math.ceil(answer.retryAfterMs / 1000)} s`,
        );
      case 'daily_budget':
        return deny(
          'daily_budget',
          `the ${answer.scope} ${answer.id} has ${formatUsd(answer.remainingMicroUsd)} USD of its daily budget left; it resets at the start of the next day`,
        );
      case 'refused':
        // Answered before; this is a redelivery, and JetStream drops the copy.
        return deny(answer.reason, `refused: ${answer.reason}`);
    }
  }
}
