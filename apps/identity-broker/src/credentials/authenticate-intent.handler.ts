import { Controller, Inject } from '@nestjs/common';
import {
  buildEvent,
  CREDENTIAL_HEADER,
  formatMicros,
  parseEventSubject,
  type Envelope,
} from '@warden/contracts';
import { headerOf, OnEvent, Outcome, type EventContext } from '@warden/messaging';
import { SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { AuthenticateIntent, RevocationsUnavailableError } from './authenticate-intent.use-case.js';

/**
 * How soon an intent is tried again when what the stage reads is unavailable: the agent registry
 * (NATS away), or a current revocation view (its watch being reopened).
 */
const RETRY_MS = 1_000;

/**
 * `intent.proposed` (credential in the `Warden-Credential` header) → `intent.authenticated`
 * carrying the principal and the token's id, never the token; or `intent.resolved{rejected,
 * stage: identity, reason}` with one reason code per failed check (README).
 */
@Controller()
export class AuthenticateIntentHandler {
  constructor(
    @Inject(AuthenticateIntent) private readonly authenticate: AuthenticateIntent,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('intent.proposed')
  async authenticateIntent(
    event: Envelope<'intent.proposed'>,
    ctx: EventContext,
  ): Promise<Outcome> {
    let result;
    try {
      result = await this.authenticate.authenticate(headerOf(ctx.headers, CREDENTIAL_HEADER), {
        subjectAgent: parseEventSubject(ctx.subject)?.agent,
        envelopeAgent: event.agent_id,
      });
    } catch (error) {
      // The use case refuses as results; it throws only when it cannot decide: the agent registry
      // is unreadable (NATS away) or the revocation view is not current. Key-ring refresh
      // failures never get here (they are an unknown_kid refusal). The intent waits.
      const what =
        error instanceof RevocationsUnavailableError
          ? 'revocation view not current'
          : 'agent registry unreadable';
      this.logger.warn({ intent_id: event.intent_id, err: error }, `${what}: intent retried`);
      return Outcome.retry(RETRY_MS);
    }
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
    return Outcome.processed;
  }
}
