import { Controller, Inject } from '@nestjs/common';
import { buildEvent, formatMicros, type Envelope } from '@warden/contracts';
import { OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_CONFIG, SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import type { IdentityBrokerConfig } from '../config.js';
import { authenticate, credentialFromHeaders } from '../domain/authenticate.js';
import type { SigningKey } from '../domain/signing-key.js';
import { VerifiedTokenCache } from '../domain/verified-token-cache.js';
import { SIGNING_KEY } from '../infra/tokens.js';

/**
 * `intent.proposed` (credential in the `Warden-Credential` header) → `intent.authenticated`
 * carrying the principal and the token's id, never the token; or `intent.resolved{rejected,
 * stage: identity, reason}` with one reason code per failed check.
 */
@Controller()
export class AuthenticateIntentHandler {
  private readonly cache = new VerifiedTokenCache();
  private readonly env: string;

  constructor(
    @Inject(SIGNING_KEY) private readonly key: SigningKey,
    @Inject(SERVICE_CONFIG) config: IdentityBrokerConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    this.env = config.WARDEN_ENV;
  }

  @OnEvent('intent.proposed')
  async authenticateIntent(
    event: Envelope<'intent.proposed'>,
    ctx: EventContext,
  ): Promise<Outcome> {
    const result = await authenticate(this.key, this.cache, {
      token: credentialFromHeaders(ctx.headers),
      agentId: event.agent_id,
      env: this.env,
    });
    const { tool, args, step } = event.data;
    if (!result.ok) {
      await ctx.publish(
        buildEvent({
          type: 'intent.resolved',
          cause: event,
          producer: ctx.producer,
          data: {
            status: 'rejected',
            stage: 'identity',
            tool,
            reason: result.error.reason,
            message: result.error.message,
          },
        }),
      );
      this.logger.info(
        {
          run_id: event.run_id,
          intent_id: event.intent_id,
          agent_id: event.agent_id,
          reason: result.error.reason,
        },
        'intent rejected: credential refused',
      );
      return Outcome.processed;
    }
    await ctx.publish(
      buildEvent({
        type: 'intent.authenticated',
        cause: event,
        producer: ctx.producer,
        data: {
          tool,
          args,
          step,
          principal: result.principal,
          credential: {
            jti: result.claims.jti,
            expires_at: formatMicros(result.claims.exp * 1_000_000),
          },
        },
      }),
    );
    this.logger.debug({ run_id: event.run_id, intent_id: event.intent_id }, 'intent authenticated');
    return Outcome.processed;
  }
}
