import { defineService } from '@warden/service';
import { IdentityBrokerConfig } from './config.js';
import { IdentityBrokerModule } from './identity-broker.module.js';

/** The identity broker, as a process (`main.ts`) and as a component of `warden up`. */
export const service = defineService({
  name: 'identity-broker',
  version: '0.1.0',
  config: IdentityBrokerConfig,
  module: IdentityBrokerModule,
  events: {},
});
