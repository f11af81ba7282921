import { Module } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKvBuckets } from '@warden/messaging';
import { NATS_CONNECTION, SERVICE_CONFIG } from '@warden/service';
import type { CostGovernorConfig } from './config.js';
import { ReserveStepHandler } from './handlers/reserve-step.handler.js';
import { RouteModelHandler } from './handlers/route-model.handler.js';
import { SettleIntentHandler } from './handlers/settle-intent.handler.js';
import { routingTableProvider } from './routing-table.provider.js';
import { StartRunHandler } from './handlers/start-run.handler.js';
import { DEFAULT_LOOP_LIMITS } from './domain/guards/index.js';
import type { RunRules } from './domain/run-budget.js';
import { RunStore } from './infra/run-store.js';

/** Cost governor: can this run afford this action? (DESIGN §2 steps 4 and 6: steps and the run's money) */
@Module({
  controllers: [StartRunHandler, ReserveStepHandler, SettleIntentHandler, RouteModelHandler],
  providers: [
    routingTableProvider,
    {
      provide: RunStore,
      inject: [NATS_CONNECTION, SERVICE_CONFIG],
      useFactory: async (nc: NatsConnection, config: CostGovernorConfig) => {
        const { runs } = await ensureKvBuckets(nc, config.WARDEN_ENV, ['runs']);
        return new RunStore(runs, config.GOVERNOR_MAX_STEPS, rulesOf(config));
      },
    },
  ],
})
export class CostGovernorModule {}

/** The rules every run gets, from the environment (0 turns a loop rule off). */
function rulesOf(config: CostGovernorConfig): RunRules {
  const budget = config.GOVERNOR_RUN_BUDGET_USD;
  const off = (limit: number) => (limit === 0 ? Number.POSITIVE_INFINITY : limit);
  return {
    budget: budget === undefined ? {} : { micro_usd: budget },
    loop: {
      ...DEFAULT_LOOP_LIMITS,
      maxIdenticalCalls: off(config.GOVERNOR_LOOP_IDENTICAL_CALLS),
      maxStepsWithoutWrite: off(config.GOVERNOR_LOOP_STEPS_WITHOUT_WRITE),
    },
  };
}
