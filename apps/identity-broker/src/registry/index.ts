import type { Provider, Type } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKvBuckets } from '@warden/messaging';
import { NATS_CONNECTION, SERVICE_CONFIG, SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import type { IdentityBrokerConfig } from '../config.js';
import { AGENT_DIRECTORY, HUMAN_DIRECTORY } from '../ports.js';
import { KvAgentDirectory } from './infra/kv-agent-directory.js';
import { KvHumanDirectory } from './infra/kv-human-directory.js';
import { RegistryStore } from './infra/registry-store.js';
import { RegistryLifecycle } from './registry.lifecycle.js';

/**
 * The registry half of the broker: agents and humans (KV `agents`, `humans`), their admin APIs and
 * the bootstrap admin. Provides AGENT_DIRECTORY and HUMAN_DIRECTORY (see ../ports.ts); needs
 * ADMIN_AUTHORIZER from the credentials half.
 */
export const registryProviders: Provider[] = [
  {
    provide: RegistryStore,
    inject: [NATS_CONNECTION, SERVICE_CONFIG],
    useFactory: async (nc: NatsConnection, config: IdentityBrokerConfig) => {
      const { agents, humans } = await ensureKvBuckets(nc, config.WARDEN_ENV, ['agents', 'humans']);
      return new RegistryStore(agents, humans);
    },
  },
  {
    provide: KvAgentDirectory,
    inject: [RegistryStore, SERVICE_LOGGER],
    useFactory: (store: RegistryStore, logger: Logger) => new KvAgentDirectory(store, logger),
  },
  { provide: AGENT_DIRECTORY, useExisting: KvAgentDirectory },
  {
    provide: HUMAN_DIRECTORY,
    inject: [RegistryStore],
    useFactory: (store: RegistryStore) => new KvHumanDirectory(store),
  },
  RegistryLifecycle,
];
export const registryControllers: Type[] = [];

export { AGENT_EVENT_TYPES, projectAgent, type StoredAgent } from './domain/agent-projection.js';
export { HUMAN_EVENT_TYPES, projectHuman, type StoredHuman } from './domain/human-projection.js';
export { groupRegistryEvents } from './domain/rebuild.js';
export { replayRegistryLog, type ReplayReport } from './infra/replay.js';
