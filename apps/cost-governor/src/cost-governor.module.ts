import { Module } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKvBuckets } from '@warden/messaging';
import { NATS_CONNECTION, SERVICE_CONFIG } from '@warden/service';
import type { CostGovernorConfig } from './config.js';
import { ReserveStepHandler } from './handlers/reserve-step.handler.js';
import { StartRunHandler } from './handlers/start-run.handler.js';
import { RunStore } from './infra/run-store.js';

/** Cost governor: can this run afford this action? (DESIGN §2 step 4; a step cap for now) */
@Module({
  controllers: [StartRunHandler, ReserveStepHandler],
  providers: [
    {
      provide: RunStore,
      inject: [NATS_CONNECTION, SERVICE_CONFIG],
      useFactory: async (nc: NatsConnection, config: CostGovernorConfig) => {
        const { runs } = await ensureKvBuckets(nc, config.WARDEN_ENV, ['runs']);
        return new RunStore(runs, config.GOVERNOR_MAX_STEPS);
      },
    },
  ],
})
export class CostGovernorModule {}
