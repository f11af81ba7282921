import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  buildEvent,
  describeIssues,
  formatMicros,
  subjects,
  TokenRequest,
  type TokenReply,
} from '@warden/contracts';
import { EventPublisher } from '@warden/messaging';
import {
  NATS_CONNECTION,
  SERVICE_CONFIG,
  SERVICE_INFO,
  SERVICE_LOGGER,
  type ServiceInfo,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { ulid } from 'ulid';
import { DEFAULT_DEV_KEY_SEED, type IdentityBrokerConfig } from '../config.js';
import { signAgentToken } from '../domain/agent-token.js';
import type { SigningKey } from '../domain/signing-key.js';
import { SIGNING_KEY } from '../infra/tokens.js';

/** Every replica answers token requests as one queue group: each request is answered once. */
const QUEUE = 'identity-broker';
/** What a token lets an agent do, for now. */
const SCOPE = ['intents:propose'];

/**
 * `warden.<env>.api.identity.token`: a short-lived agent token, and `credential.issued` in the log
 * (its id and expiry, never the token). Development mode: any agent that asks gets one.
 */
@Injectable()
export class TokenApiHandler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription: Subscription | undefined;
  private readonly publisher: EventPublisher;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SIGNING_KEY) private readonly key: SigningKey,
    @Inject(SERVICE_CONFIG) private readonly config: IdentityBrokerConfig,
    @Inject(SERVICE_INFO) info: ServiceInfo,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    this.publisher = new EventPublisher(nc, {
      env: config.WARDEN_ENV,
      producer: { service: info.name, instance: info.instance, version: info.version },
    });
  }

  onApplicationBootstrap(): void {
    this.logger.warn(
      {
        kid: this.key.kid,
        // The default seed is public: anyone can then mint tokens this broker accepts.
        default_seed: this.config.IDENTITY_DEV_KEY_SEED === DEFAULT_DEV_KEY_SEED,
      },
      'development signing key in use: any agent that asks gets a token (not for production)',
    );
    const subscription = this.nc.subscribe(
      subjects.api(this.config.WARDEN_ENV, 'identity', 'token'),
      {
        queue: QUEUE,
      },
    );
    this.subscription = subscription;
    void (async () => {
      for await (const message of subscription) {
        await this.answer(message).catch((error: unknown) => {
          this.logger.error({ err: error }, 'token request failed');
          this.reply(message, {
            ok: false,
            error: { code: 'internal', message: 'the identity broker failed; retry' },
          });
        });
      }
    })();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.subscription?.drain();
  }

  private async answer(message: Msg): Promise<void> {
    let body: unknown;
    try {
      body = message.json();
    } catch {
      this.reply(message, {
        ok: false,
        error: {
          code: 'invalid_request',
          message: 'the request body is not JSON: send {"agent_id": "…"}',
        },
      });
      return;
    }
    const request = TokenRequest.safeParse(body);
    if (!request.success) {
      this.reply(message, {
        ok: false,
        error: { code: 'invalid_request', message: describeIssues(request.error) },
      });
      return;
    }
    const { agent_id: agentId } = request.data;
    const ttlSeconds = Math.min(
      request.data.ttl_seconds ?? this.config.IDENTITY_TOKEN_TTL_SECONDS,
      this.config.IDENTITY_TOKEN_TTL_SECONDS,
    );
    const jti = ulid();
    const { token, exp } = await signAgentToken(this.key, {
      agentId,
      env: this.config.WARDEN_ENV,
      jti,
      scope: SCOPE,
      ttlSeconds,
    });
    const expiresAt = formatMicros(exp * 1_000_000);
    // Logged before the token leaves: an issued credential is always on the record.
    await this.publisher.publish(
      buildEvent({
        type: 'credential.issued',
        env: this.config.WARDEN_ENV,
        eventId: jti,
        agentId,
        producer: this.publisher.producer,
        data: { jti, expires_at: expiresAt, scope: SCOPE },
      }),
    );
    this.reply(message, { ok: true, result: { token, jti, expires_at: expiresAt } });
    this.logger.info({ agent_id: agentId, jti, expires_at: expiresAt }, 'token issued');
  }

  private reply(message: Msg, body: TokenReply): void {
    message.respond(JSON.stringify(body));
  }
}
