import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApiServer, EventPublisher, provisionEnv } from '@warden/messaging';
import {
  NATS_CONNECTION,
  ReadinessRegistry,
  SERVICE_CONFIG,
  SERVICE_INFO,
  SERVICE_LOGGER,
  type ServiceInfo,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
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
 * start: stream (idempotent) → directory watch → replay the log into KV (repairs a KV write lost
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
    @Inject(SERVICE_INFO) info: ServiceInfo,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(RegistryStore) private readonly store: RegistryStore,
    @Inject(KvAgentDirectory) private readonly directory: KvAgentDirectory,
    @Inject(ADMIN_AUTHORIZER) authorizer: AdminAuthorizer,
    @Inject(ReadinessRegistry) readiness: ReadinessRegistry,
  ) {
    const env = config.WARDEN_ENV;
    this.log = new RegistryLog(
      nc,
      new EventPublisher(nc, {
        env,
        producer: { service: info.name, instance: info.instance, version: info.version },
      }),
    );
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
    // The registry publishes at start (a repaired or bootstrap record needs its event): make
    // sure the stream exists whatever order Nest starts the transport and this hook in.
    await provisionEnv(this.nc, this.config.WARDEN_ENV);
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
