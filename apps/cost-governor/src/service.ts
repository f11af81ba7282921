import { defineService } from '@warden/service';
import { CostGovernorConfig } from './config.js';
import { CostGovernorModule } from './cost-governor.module.js';

/** The cost governor, as a process (`main.ts`) and as a component of `warden up`. */
export const service = defineService({
  name: 'cost-governor',
  version: '0.1.0',
  config: CostGovernorConfig,
  module: CostGovernorModule,
  events: {},
});
