import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApiServer, type EventPublisher } from '@warden/messaging';
import {
  IntrospectingHumanAuthorizer,
  NATS_CONNECTION,
  ReadinessRegistry,
  SERVICE_CONFIG,
  SERVICE_LOGGER,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { ApprovalBook, ApprovalDesk, ApprovalSweeper } from './approvals/index.js';
import type { PolicyDecisionConfig } from './config.js';
import { DECISION_PUBLISHER } from './decision-publisher.js';
import { PolicyCatalog } from './policies/policy-catalog.js';
import { PolicyRegistry } from './policies/policy-registry.js';
import { PolicyStore } from './policies/policy-store.js';
import { PolicyApi } from './policy-api.js';
import { ReleaseCatalog } from './releases/release-catalog.js';
import { ReleaseDesk } from './releases/release-desk.js';
import { ReleaseStore } from './releases/release-store.js';
import { replayDecisionLog } from './replay.js';
import { ToolCatalog } from './tools/tool-catalog.js';
import { ToolRegistry } from './tools/tool-registry.js';
import { ToolStore } from './tools/tool-store.js';

/**
 * Starts and stops everything of the service but the decision handler, in this order:
 * start: replay the log into KV → tool, policy and canary views (watches) → approval sweeper → APIs;
 * stop: APIs (answer what is in flight) → sweeper (finish a sweep) → watches.
 * `/readyz` reports `tools`, `policies` and `canaries` ready once their views are loaded and watched.
 */
@Injectable()
export class PolicyDecisionLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly api: PolicyApi;
  private readonly sweeper: ApprovalSweeper;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: PolicyDecisionConfig,
    @Inject(DECISION_PUBLISHER) publisher: EventPublisher,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(ToolStore) private readonly toolStore: ToolStore,
    @Inject(PolicyStore) private readonly policyStore: PolicyStore,
    @Inject(ToolCatalog) private readonly tools: ToolCatalog,
    @Inject(PolicyCatalog) private readonly policies: PolicyCatalog,
    @Inject(ReleaseStore) private readonly releaseStore: ReleaseStore,
    @Inject(ReleaseCatalog) private readonly releases: ReleaseCatalog,
    @Inject(ApprovalBook) book: ApprovalBook,
    @Inject(ReadinessRegistry) readiness: ReadinessRegistry,
  ) {
    const env = config.WARDEN_ENV;
    const policyRegistry = new PolicyRegistry(nc, publisher, policyStore);
    this.api = new PolicyApi(
      new ApiServer(nc, { env, service: 'policy', logger }),
      new IntrospectingHumanAuthorizer(nc, env),
      new ToolRegistry(nc, publisher, toolStore),
      policyRegistry,
      new ApprovalDesk({ book, publisher, logger }),
      {
        desk: new ReleaseDesk(nc, publisher, releaseStore, policyStore, policyRegistry),
        catalog: releases,
      },
    );
    this.sweeper = new ApprovalSweeper({
      book,
      publisher,
      logger,
      intervalMs: config.POLICY_APPROVAL_SWEEP_MS,
    });
    readiness.register('tools', () => tools.status);
    readiness.register('policies', () => policies.status);
    readiness.register('canaries', () => releases.status);
  }

  async onApplicationBootstrap(): Promise<void> {
    const replay = await replayDecisionLog(
      this.nc,
      this.config.WARDEN_ENV,
      { tools: this.toolStore, policies: this.policyStore, releases: this.releaseStore },
      this.logger,
    );
    this.logger.info({ ...replay }, 'tools, policies and canaries replayed from the log');
    await this.tools.start();
    await this.policies.start();
    await this.releases.start();
    this.sweeper.start();
    this.api.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.api.stop();
    await this.sweeper.stop();
    this.tools.stop();
    this.policies.stop();
    this.releases.stop();
  }
}
