import type { Provider } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKvBuckets } from '@warden/messaging';
import { NATS_CONNECTION, SERVICE_CONFIG, SERVICE_LOGGER } from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { ApprovalBook } from './approvals/index.js';
import type { PolicyDecisionConfig } from './config.js';
import { PolicyCatalog } from './policies/policy-catalog.js';
import { PolicyStore } from './policies/policy-store.js';
import { ReleaseCatalog } from './releases/release-catalog.js';
import { ReleaseStore } from './releases/release-store.js';
import { ToolCatalog } from './tools/tool-catalog.js';
import { ToolStore } from './tools/tool-store.js';

/** The KV buckets the service owns (DESIGN §4): projections of its own events. */
const BUCKETS = ['tools', 'policies', 'approvals', 'releases'] as const;
const KV_BUCKETS = Symbol('policy.kv-buckets');

/** The stores over KV `tools`, `policies`, `approvals`, `releases`, and the decision stage's views of them. */
export const decisionStoreProviders: Provider[] = [
  {
    provide: KV_BUCKETS,
    inject: [NATS_CONNECTION, SERVICE_CONFIG],
    useFactory: (nc: NatsConnection, config: PolicyDecisionConfig) =>
      ensureKvBuckets(nc, config.WARDEN_ENV, BUCKETS),
  },
  {
    provide: ToolStore,
    inject: [KV_BUCKETS],
    useFactory: (kv: Awaited<ReturnType<typeof ensureKvBuckets<(typeof BUCKETS)[number]>>>) =>
      new ToolStore(kv.tools),
  },
  {
    provide: PolicyStore,
    inject: [KV_BUCKETS],
    useFactory: (kv: Awaited<ReturnType<typeof ensureKvBuckets<(typeof BUCKETS)[number]>>>) =>
      new PolicyStore(kv.policies),
  },
  {
    provide: ReleaseStore,
    inject: [KV_BUCKETS],
    useFactory: (kv: Awaited<ReturnType<typeof ensureKvBuckets<(typeof BUCKETS)[number]>>>) =>
      new ReleaseStore(kv.releases),
  },
  {
    provide: ApprovalBook,
    inject: [KV_BUCKETS, SERVICE_CONFIG],
    useFactory: (
      kv: Awaited<ReturnType<typeof ensureKvBuckets<(typeof BUCKETS)[number]>>>,
      config: PolicyDecisionConfig,
    ) => new ApprovalBook(kv.approvals, { ttlSeconds: config.POLICY_APPROVAL_TTL_SECONDS }),
  },
  {
    provide: ToolCatalog,
    inject: [ToolStore, SERVICE_LOGGER],
    useFactory: (store: ToolStore, logger: Logger) => new ToolCatalog(store, logger),
  },
  {
    provide: PolicyCatalog,
    inject: [PolicyStore, SERVICE_CONFIG, SERVICE_LOGGER],
    useFactory: (store: PolicyStore, config: PolicyDecisionConfig, logger: Logger) =>
      new PolicyCatalog(store, config.WARDEN_ENV, logger, config.POLICY_SHADOW_ENABLED),
  },
  {
    provide: ReleaseCatalog,
    inject: [ReleaseStore, PolicyStore, SERVICE_CONFIG, SERVICE_LOGGER],
    useFactory: (
      releases: ReleaseStore,
      policies: PolicyStore,
      config: PolicyDecisionConfig,
      logger: Logger,
    ) => new ReleaseCatalog(releases, policies, config.WARDEN_ENV, logger),
  },
];
