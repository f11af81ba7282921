import {
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApiServer, ensureKvBuckets, ForeignKv, type EventPublisher } from '@warden/messaging';
import {
  IntrospectingHumanAuthorizer,
  NATS_CONNECTION,
  provisionedPublisherProvider,
  SERVICE_CONFIG,
  SERVICE_LOGGER,
} from '@warden/service';
import type { Logger } from '@warden/telemetry';
import { GovernorApi } from './admin/governor-api.js';
import { GovernorDesk } from './admin/governor-desk.js';
import type { CostGovernorConfig } from './config.js';
import { DEFAULT_LOOP_LIMITS } from './domain/guards/index.js';
import { ControlsHandler } from './handlers/controls.handler.js';
import { ReconcileHandler } from './handlers/reconcile.handler.js';
import { ReserveStepHandler } from './handlers/reserve-step.handler.js';
import { RouteModelHandler } from './handlers/route-model.handler.js';
import { SettleIntentHandler } from './handlers/settle-intent.handler.js';
import { StartRunHandler } from './handlers/start-run.handler.js';
import { AgentDefaults } from './infra/agent-defaults.js';
import { ControlsStore } from './infra/controls-store.js';
import { DailyAccounts } from './infra/daily-accounts.js';
import { RateLimits } from './infra/rate-limits.js';
import { RunStore } from './infra/run-store.js';
import { Reservations } from './reservations.js';
import { routingTableProvider } from './routing-table.provider.js';

const BUCKETS = Symbol('cost-governor.buckets');
const PUBLISHER = Symbol('cost-governor.publisher');

interface Buckets {
  readonly runs: KV;
  readonly budgets: KV;
  readonly rate_limits: KV;
}

/**
 * Starts the governor's admin API once the service is up, and stops it first on shutdown; then
 * logs how often replicas raced on run records (the CAS conflict rate `npm run bench` reports).
 */
@Injectable()
class GovernorLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly api: GovernorApi;

  constructor(
    @Inject(NATS_CONNECTION) nc: NatsConnection,
    @Inject(SERVICE_CONFIG) config: CostGovernorConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(RunStore) private readonly runs: RunStore,
    @Inject(PUBLISHER) publisher: EventPublisher,
    @Inject(ControlsStore) controls: ControlsStore,
    @Inject(DailyAccounts) daily: DailyAccounts,
  ) {
    const env = config.WARDEN_ENV;
    this.api = new GovernorApi(
      new ApiServer(nc, { env, service: 'cost', logger }),
      new IntrospectingHumanAuthorizer(nc, env),
      new GovernorDesk(controls, daily, publisher, {
        offsetMinutes: config.GOVERNOR_DAY_OFFSET_MINUTES,
      }),
    );
  }

  onApplicationBootstrap(): void {
    this.api.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.api.stop();
    const { updates, conflicts } = this.runs.stats;
    this.logger.info(
      { cas_rounds: updates + conflicts, cas_conflicts: conflicts },
      'run records: compare-and-set rounds since start',
    );
  }
}

/**
 * Cost governor: can this run afford this action? (DESIGN §2 steps 4 and 6: the kill switch,
 * loops, steps, run and daily budgets, rate limits; settlement and reconciliation; model routing.)
 */
@Module({
  controllers: [
    StartRunHandler,
    ReserveStepHandler,
    SettleIntentHandler,
    ReconcileHandler,
    RouteModelHandler,
    ControlsHandler,
  ],
  providers: [
    routingTableProvider,
    provisionedPublisherProvider(PUBLISHER),
    {
      provide: BUCKETS,
      inject: [NATS_CONNECTION, SERVICE_CONFIG],
      useFactory: (nc: NatsConnection, config: CostGovernorConfig): Promise<Buckets> =>
        ensureKvBuckets(nc, config.WARDEN_ENV, ['runs', 'budgets', 'rate_limits']),
    },
    {
      provide: RunStore,
      inject: [BUCKETS, SERVICE_CONFIG],
      useFactory: (buckets: Buckets, config: CostGovernorConfig) =>
        new RunStore(buckets.runs, config.GOVERNOR_MAX_STEPS),
    },
    {
      provide: ControlsStore,
      inject: [BUCKETS],
      useFactory: (buckets: Buckets) => new ControlsStore(buckets.budgets),
    },
    {
      provide: DailyAccounts,
      inject: [BUCKETS],
      useFactory: (buckets: Buckets) => new DailyAccounts(buckets.budgets),
    },
    {
      provide: AgentDefaults,
      inject: [NATS_CONNECTION, SERVICE_CONFIG],
      useFactory: (nc: NatsConnection, config: CostGovernorConfig) =>
        new AgentDefaults(new ForeignKv(nc, config.WARDEN_ENV, 'agents')),
    },
    {
      provide: Reservations,
      inject: [RunStore, ControlsStore, DailyAccounts, BUCKETS, SERVICE_CONFIG],
      useFactory: (
        runs: RunStore,
        controls: ControlsStore,
        daily: DailyAccounts,
        buckets: Buckets,
        config: CostGovernorConfig,
      ) => {
        const off = (limit: number) => (limit === 0 ? Number.POSITIVE_INFINITY : limit);
        return new Reservations(runs, controls, daily, new RateLimits(buckets.rate_limits), {
          defaults: {
            max_steps: config.GOVERNOR_MAX_STEPS,
            budget_micro_usd: config.GOVERNOR_RUN_BUDGET_USD,
          },
          loop: {
            ...DEFAULT_LOOP_LIMITS,
            maxIdenticalCalls: off(config.GOVERNOR_LOOP_IDENTICAL_CALLS),
            maxStepsWithoutWrite: off(config.GOVERNOR_LOOP_STEPS_WITHOUT_WRITE),
          },
          day: { offsetMinutes: config.GOVERNOR_DAY_OFFSET_MINUTES },
        });
      },
    },
    GovernorLifecycle,
  ],
})
export class CostGovernorModule {}
