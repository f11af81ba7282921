import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { IDENTITY_API, type IdentityApiOp } from '@warden/contracts';
import { ApiServer, type ApiOp, type ApiRequestContext } from '@warden/messaging';
import { NATS_CONNECTION, SERVICE_CONFIG, SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import type { z } from 'zod';
import type { IdentityBrokerConfig } from '../config.js';
import { ADMIN_AUTHORIZER, type AdminAuthorizer } from '../ports.js';
import { IssueToken } from './issue-token.use-case.js';
import { KvKeyRing } from './key-ring.kv.js';
import { RevokeCredentials } from './revoke-credentials.use-case.js';

/** The ops this half answers; the registry answers the others. */
type CredentialOp = Extract<
  IdentityApiOp,
  'token' | 'human-token' | 'jwks' | 'human-introspect' | 'revoke' | 'key-list' | 'key-rotate'
>;
type RequestOf<O extends CredentialOp> = z.output<(typeof IDENTITY_API)[O]['request']>;
type ResultOf<O extends CredentialOp> = z.output<(typeof IDENTITY_API)[O]['result']>;

/**
 * The credentials half's request/reply APIs on `warden.<env>.api.identity.<op>` (IDENTITY_API):
 * each op is one call into one use case; admin ops check the caller first.
 */
@Injectable()
export class CredentialsApi implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly server: ApiServer;

  constructor(
    @Inject(NATS_CONNECTION) nc: NatsConnection,
    @Inject(SERVICE_CONFIG) config: IdentityBrokerConfig,
    @Inject(SERVICE_LOGGER) logger: Logger,
    @Inject(IssueToken) private readonly issue: IssueToken,
    @Inject(RevokeCredentials) private readonly revocation: RevokeCredentials,
    @Inject(KvKeyRing) private readonly keys: KvKeyRing,
    @Inject(ADMIN_AUTHORIZER) private readonly admins: AdminAuthorizer,
  ) {
    this.server = new ApiServer(nc, { env: config.WARDEN_ENV, service: 'identity', logger });
  }

  onApplicationBootstrap(): void {
    // The reply subject tells whether the answer crosses the shared bootstrap inbox.
    this.serve('token', (request, context) => this.issue.agentToken(request, context.reply));
    this.serve('human-token', (request) => this.issue.humanToken(request));
    this.serve('jwks', () => Promise.resolve(this.keys.jwks()));
    this.serve('human-introspect', async (_request, context) => {
      const { human_id, roles } = await this.admins.requireHuman(context.headers);
      return { human_id, roles: [...roles] };
    });
    this.serveAdmin('revoke', (request, caller) => this.revocation.revoke(request, caller));
    this.serveAdmin('key-list', () => Promise.resolve({ keys: this.keys.list() }));
    this.serveAdmin('key-rotate', async (request, caller) => {
      const rotation = await this.keys.rotate('command', caller, request.reason);
      if (rotation === undefined) throw new Error('a commanded rotation always writes');
      return {
        kid: rotation.key.kid,
        ...(rotation.previousKid === undefined ? {} : { previous_kid: rotation.previousKid }),
        ...(rotation.previousRetiresAt === undefined
          ? {}
          : { previous_retires_at: rotation.previousRetiresAt }),
      };
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server.stop();
  }

  private serve<O extends CredentialOp>(
    op: O,
    handle: (request: RequestOf<O>, context: ApiRequestContext) => Promise<ResultOf<O>>,
  ): void {
    const definition: ApiOp<(typeof IDENTITY_API)[O]['request']> = {
      request: IDENTITY_API[op].request,
      handle: (request, context) => handle(request, context),
    };
    this.server.serve(op, definition);
  }

  private serveAdmin<O extends CredentialOp>(
    op: O,
    handle: (request: RequestOf<O>, caller: string) => Promise<ResultOf<O>>,
  ): void {
    const definition: ApiOp<(typeof IDENTITY_API)[O]['request']> = {
      request: IDENTITY_API[op].request,
      handle: async (request, context) => {
        const caller = await this.admins.requireAdmin(context.headers);
        return handle(request, `human:${caller.human_id}`);
      },
    };
    this.server.serve(op, definition);
  }
}
