import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type Provider,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApiServer, ensureKvBuckets, type EventPublisher } from '@warden/messaging';
import {
  IntrospectingHumanAuthorizer,
  NATS_CONNECTION,
  provisionedPublisherProvider,
  SERVICE_CONFIG,
  SERVICE_LOGGER,
  type BaseServiceConfig,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { parseMasterKey } from './secret-seal.js';
import { SecretStore } from './secret-store.js';
import { EventSecretAudit } from './secrets-audit.js';
import { ExecutorApi } from '../executor-api.js';
import { ExecutionReviews } from '../executions/execution-reviews.js';
import { EXECUTION_STORE, type ExecutionStore } from '../infra/execution-store.js';
import { RunKeys } from '../sealing/run-keys.js';
import { RunOutputs } from '../sealing/run-outputs.js';
import type { SecretsConfig } from './secrets-config.js';

const SECRETS_PUBLISHER = Symbol('tool-executor.secrets-publisher');

type Config = BaseServiceConfig & SecretsConfig;

/**
 * Serves the executor's API (EXECUTOR_API: `warden secrets`, `warden executions resolve`,
 * `warden runs outputs|erase-outputs`) once the service is up, and stops taking requests first on
 * shutdown, before the connection drains.
 */
@Injectable()
export class SecretsLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly api: ExecutorApi;

  constructor(
    @Inject(NATS_CONNECTION) nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: Config,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(SecretStore) store: SecretStore,
    @Inject(EXECUTION_STORE) executions: ExecutionStore,
    @Inject(SECRETS_PUBLISHER) publisher: EventPublisher,
    @Inject(RunKeys) runKeys: RunKeys,
  ) {
    const env = config.WARDEN_ENV;
    this.api = new ExecutorApi(
      new ApiServer(nc, { env, service: 'tools', logger }),
      new IntrospectingHumanAuthorizer(nc, env),
      store,
      new ExecutionReviews(executions, publisher),
      new RunOutputs(runKeys, publisher),
    );
  }

  onApplicationBootstrap(): void {
    if (this.config.EXECUTOR_MASTER_KEY === undefined) {
      this.logger.warn(
        'EXECUTOR_MASTER_KEY is not set: `warden secrets set|rotate` and tools that need a credential are refused until it is',
      );
    }
    this.api.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.api.stop();
  }
}

/**
 * The providers of what the master key protects, for the tool executor's module: `SecretStore`
 * (inject it where an upstream call needs a credential: `store.resolve(ref)`), `RunKeys` (the
 * per-run keys of sealed outputs), their audit publisher, and {@link SecretsLifecycle}. The config
 * must include {@link secretsEnv}.
 */
export const secretsProviders: Provider[] = [
  provisionedPublisherProvider(SECRETS_PUBLISHER),
  {
    provide: SecretStore,
    inject: [NATS_CONNECTION, SERVICE_CONFIG, SECRETS_PUBLISHER],
    useFactory: async (nc: NatsConnection, config: Config, publisher: EventPublisher) => {
      const { secrets } = await ensureKvBuckets(nc, config.WARDEN_ENV, ['secrets']);
      const key = config.EXECUTOR_MASTER_KEY;
      return new SecretStore(secrets, {
        env: config.WARDEN_ENV,
        masterKey: key === undefined ? undefined : parseMasterKey(key),
        audit: new EventSecretAudit(publisher),
        cacheTtlMs: config.EXECUTOR_SECRET_CACHE_MS,
      });
    },
  },
  {
    provide: RunKeys,
    inject: [NATS_CONNECTION, SERVICE_CONFIG],
    useFactory: async (nc: NatsConnection, config: Config) => {
      const { run_keys: kv } = await ensureKvBuckets(nc, config.WARDEN_ENV, ['run_keys']);
      const key = config.EXECUTOR_MASTER_KEY;
      return new RunKeys(
        kv,
        config.WARDEN_ENV,
        key === undefined ? undefined : parseMasterKey(key),
      );
    },
  },
  SecretsLifecycle,
];
