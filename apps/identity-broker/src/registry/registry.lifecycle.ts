import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApiServer, type EventPublisher } from '@warden/messaging';
import {
  NATS_CONNECTION,
  ReadinessRegistry,
  SERVICE_CONFIG,
  SERVICE_LOGGER,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { BROKER_PUBLISHER } from '../broker-publisher.js';
import type { IdentityBrokerConfig } from '../config.js';
import { ADMIN_AUTHORIZER, type AdminAuthorizer } from '../ports.js';
import { AgentRegistry } from './agent-registry.js';
import { ensureBootstrapAdmin } from './bootstrap-admin.js';
import { HumanRegistry } from './human-registry.js';
import { KvAgentDirectory } from './infra/kv-agent-directory.js';
import { RegistryLog } from './infra/registry-log.js';
import { RegistryStore } from './infra/registry-store.js';
import { replayRegistryLog } from './infra/replay.js';
import { RegistryApi } from './registry-api.js';

/**
 * Starts and stops the registry, in this order:
 * start (the stream exists: see BROKER_PUBLISHER): directory watch → replay the log into KV (repairs a KV write lost
 * to a crash, see AgentRegistry) → bootstrap admin → admin APIs;
 * stop: admin APIs (answer what is in flight) → directory watch.
 * `/readyz` reports `agent-directory` ready once the view holds every agent and the watch lives.
 */
@Injectable()
export class RegistryLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log: RegistryLog;
  private readonly api: RegistryApi;
  private readonly humans: HumanRegistry;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: IdentityBrokerConfig,
    @Inject(BROKER_PUBLISHER) publisher: EventPublisher,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(RegistryStore) private readonly store: RegistryStore,
    @Inject(KvAgentDirectory) private readonly directory: KvAgentDirectory,
    @Inject(ADMIN_AUTHORIZER) authorizer: AdminAuthorizer,
    @Inject(ReadinessRegistry) readiness: ReadinessRegistry,
  ) {
    const env = config.WARDEN_ENV;
    this.log = new RegistryLog(nc, publisher);
    this.humans = new HumanRegistry(store, this.log);
    this.api = new RegistryApi(
      new ApiServer(nc, { env, service: 'identity', logger }),
      authorizer,
      new AgentRegistry(store, this.log, directory),
      this.humans,
    );
    readiness.register('agent-directory', () => directory.status);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.directory.start();
    const replay = await replayRegistryLog(this.log, this.store, this.directory, this.logger);
    this.logger.info({ ...replay }, 'registry replayed from the log');
    await ensureBootstrapAdmin(
      this.humans,
      {
        humanId: this.config.IDENTITY_BOOTSTRAP_ADMIN,
        secret: this.config.IDENTITY_BOOTSTRAP_ADMIN_SECRET,
        secretFile: this.config.IDENTITY_BOOTSTRAP_SECRET_FILE,
      },
      this.logger,
    );
    this.api.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.api.stop();
    this.directory.stop();
  }
}
