import { Controller, Inject } from '@nestjs/common';
import { buildEvent, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_CONFIG, SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import type { PolicyDecisionConfig } from '../config.js';
import { decide } from '../domain/allowlist.js';

/**
 * `intent.authenticated` → `policy.decided`, and for a denial also the terminal
 * `intent.resolved{denied, stage: policy}`. Output ids derive from the input event, so a
 * redelivered intent publishes duplicates JetStream drops.
 */
@Controller()
export class DecideIntentHandler {
  private readonly allowed: ReadonlySet<string>;

  constructor(
    @Inject(SERVICE_CONFIG) config: PolicyDecisionConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    this.allowed = new Set(config.POLICY_ALLOWED_TOOLS);
  }

  @OnEvent('intent.authenticated')
  async decideIntent(event: Envelope<'intent.authenticated'>, ctx: EventContext): Promise<Outcome> {
    const started = performance.now();
    const { tool, args, step } = event.data;
    const decision = decide(tool, this.allowed);
    const evalUs = Math.round((performance.now() - started) * 1000);
    await ctx.publish(
      buildEvent({
        type: 'policy.decided',
        cause: event,
        producer: ctx.producer,
        data: {
          tool,
          args,
          step,
          effect: decision.effect,
          determining_policy_ids: decision.policyIds,
          policy_version: 0,
          errors: [],
          eval_us: evalUs,
          ...(decision.effect === 'deny' ? { reason: decision.reason } : {}),
        },
      }),
    );
    if (decision.effect === 'deny') {
      await ctx.publish(
        buildEvent({
          type: 'intent.resolved',
          cause: event,
          producer: ctx.producer,
          data: {
            status: 'denied',
            stage: 'policy',
            tool,
            reason: decision.reason,
            message: decision.message,
            policy_ids: decision.policyIds,
          },
        }),
      );
      this.logger.info(
        { run_id: event.run_id, intent_id: event.intent_id, tool, reason: decision.reason },
        'intent denied',
      );
    } else {
      this.logger.debug(
        { run_id: event.run_id, intent_id: event.intent_id, tool },
        'intent allowed',
      );
    }
    return Outcome.processed;
  }
}
