import { Module } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKvBuckets } from '@warden/messaging';
import { NATS_CONNECTION, SERVICE_CONFIG } from '@warden/service';
import type { CostGovernorConfig } from './config.js';
import { ReserveStepHandler } from './handlers/reserve-step.handler.js';
import { SettleIntentHandler } from './handlers/settle-intent.handler.js';
import { StartRunHandler } from './handlers/start-run.handler.js';
import { RunStore } from './infra/run-store.js';

/** Cost governor: can this run afford this action? (DESIGN §2 steps 4 and 6: steps and the run's money) */
@Module({
  controllers: [StartRunHandler, ReserveStepHandler, SettleIntentHandler],
  providers: [
    {
      provide: RunStore,
      inject: [NATS_CONNECTION, SERVICE_CONFIG],
      useFactory: async (nc: NatsConnection, config: CostGovernorConfig) => {
        const { runs } = await ensureKvBuckets(nc, config.WARDEN_ENV, ['runs']);
        const budget = config.GOVERNOR_RUN_BUDGET_USD;
        return new RunStore(
          runs,
          config.GOVERNOR_MAX_STEPS,
          budget === undefined ? {} : { micro_usd: budget },
        );
      },
    },
  ],
})
export class CostGovernorModule {}
