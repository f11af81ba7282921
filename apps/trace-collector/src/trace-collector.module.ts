import {
  Inject,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { openEventStore, type EventStore } from '@warden/event-store';
import { connectNats, ensureKvBuckets, provisionEnv } from '@warden/messaging';
import {
  ReadinessRegistry,
  SERVICE_CONFIG,
  SERVICE_LOGGER,
  serviceConnectOptions,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
import type { CollectorConfig } from './config.js';
import { AuditApiHandler } from './handlers/audit-api.handler.js';
import { AuditVerifier } from './infra/audit-verifier.js';
import {
  CHECKPOINT_KEYS_BUCKET,
  CheckpointKeyRegistry,
  loadSigningKey,
} from './infra/checkpoint-keys.js';
import { Checkpointer } from './infra/checkpointer.js';
import { IngestService } from './infra/ingest.service.js';
import type { CheckpointSigner } from './domain/checkpoint-chain.js';

const NATS = Symbol('nats');
const EVENT_STORE = Symbol('event-store');
const CHECKPOINT_KEYS = Symbol('checkpoint-keys');

/** The collector's signing key, and the env's published keys it is registered in. */
interface CheckpointKeys {
  signer: CheckpointSigner;
  registry: CheckpointKeyRegistry;
}

/**
 * Owns the collector's resources and the order they start and stop in:
 * start: store (migrated) → stream → consumer → audit API;
 * stop: consumer (flushing its buffer into the store) → audit API → store → NATS drain.
 */
class CollectorLifecycle
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly ingest: IngestService;
  private readonly audit: AuditApiHandler;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: CollectorConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CHECKPOINT_KEYS) keys: CheckpointKeys,
    readiness: ReadinessRegistry,
  ) {
    const env = config.WARDEN_ENV;
    const checkpointer = new Checkpointer(store, env, keys.signer);
    this.ingest = new IngestService(
      nc,
      store,
      {
        env,
        batchSize: config.COLLECTOR_BATCH_SIZE,
        batchWaitMs: config.COLLECTOR_BATCH_WAIT_MS,
        ackWaitMs: config.COLLECTOR_ACK_WAIT_MS,
      },
      logger,
      checkpointer,
    );
    const verifier = new AuditVerifier(store, env, keys.registry, checkpointer);
    this.audit = new AuditApiHandler(nc, store, env, logger, verifier);
    readiness.register('nats', () => ({ ok: !nc.isClosed(), detail: nc.getServer() }));
    readiness.register('consumer', () => ({
      ok: this.ingest.running,
      detail: JSON.stringify(this.ingest.stats),
    }));
  }

  async onApplicationBootstrap(): Promise<void> {
    await provisionEnv(this.nc, this.config.WARDEN_ENV);
    await this.ingest.start();
    this.audit.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Flush the writer before draining NATS: acks of the last batch need the connection.
    await this.ingest.stop();
    await this.audit.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
    if (!this.nc.isClosed()) await this.nc.drain();
    this.logger.info('trace collector closed');
  }
}

/** The trace collector: every event of the env into the `events` table, and the audit API. */
@Module({
  providers: [
    {
      provide: NATS,
      inject: [SERVICE_CONFIG],
      useFactory: (config: CollectorConfig) =>
        connectNats(serviceConnectOptions('trace-collector', config.NATS_URL, config.NATS_CREDS)),
    },
    {
      provide: EVENT_STORE,
      inject: [SERVICE_CONFIG, SERVICE_LOGGER],
      useFactory: async (config: CollectorConfig, logger: Logger) => {
        const store = await openEventStore(
          config.WARDEN_CLICKHOUSE_URL
            ? {
                kind: 'server',
                url: config.WARDEN_CLICKHOUSE_URL,
                ...(config.WARDEN_CLICKHOUSE_USER
                  ? { username: config.WARDEN_CLICKHOUSE_USER }
                  : {}),
                ...(config.WARDEN_CLICKHOUSE_PASSWORD
                  ? { password: config.WARDEN_CLICKHOUSE_PASSWORD }
                  : {}),
              }
            : { kind: 'embedded', dataDir: config.WARDEN_DATA_DIR },
        );
        const migrated = await store.migrate();
        logger.info({ ...migrated, kind: store.kind }, 'event store ready');
        return store;
      },
    },
    {
      // Before the consumer starts: no batch is stored without a checkpoint, and none is signed
      // by a key verifiers cannot find.
      provide: CHECKPOINT_KEYS,
      inject: [SERVICE_CONFIG, SERVICE_LOGGER, NATS],
      useFactory: async (
        config: CollectorConfig,
        logger: Logger,
        nc: NatsConnection,
      ): Promise<CheckpointKeys> => {
        const key = await loadSigningKey(config.COLLECTOR_SIGNING_KEY, config.WARDEN_DATA_DIR);
        const { [CHECKPOINT_KEYS_BUCKET]: kv } = await ensureKvBuckets(nc, config.WARDEN_ENV, [
          CHECKPOINT_KEYS_BUCKET,
        ]);
        const registry = new CheckpointKeyRegistry(kv);
        await registry.publish(key.keyId, key.rawPublicKey);
        logger.info(
          {
            keyId: key.keyId,
            generated: key.generated,
            configured: config.COLLECTOR_SIGNING_KEY !== undefined,
          },
          'checkpoint signing key published',
        );
        return { signer: key, registry };
      },
    },
    CollectorLifecycle,
  ],
})
export class TraceCollectorModule {}
