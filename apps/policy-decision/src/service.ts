import { defineService } from '@warden/service';
import { PolicyDecisionConfig } from './config.js';
import { PolicyDecisionModule } from './policy-decision.module.js';

/** The policy decision service, as a process (`main.ts`) and as a component of `warden up`. */
export const service = defineService({
  name: 'policy-decision',
  version: '0.1.0',
  config: PolicyDecisionConfig,
  module: PolicyDecisionModule,
  events: {},
});
