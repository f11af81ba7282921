import {
  Inject,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { openEventStore, type EventStore } from '@warden/event-store';
import { connectNats, provisionEnv } from '@warden/messaging';
import {
  ReadinessRegistry,
  SERVICE_CONFIG,
  SERVICE_LOGGER,
  serviceConnectOptions,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
import type { CollectorConfig } from './config.js';
import { AuditApiHandler } from './handlers/audit-api.handler.js';
import { IngestService } from './infra/ingest.service.js';

const NATS = Symbol('nats');
const EVENT_STORE = Symbol('event-store');

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
    readiness: ReadinessRegistry,
  ) {
    const env = config.WARDEN_ENV;
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
    );
    this.audit = new AuditApiHandler(nc, store, env, logger);
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
    CollectorLifecycle,
  ],
})
export class TraceCollectorModule {}
