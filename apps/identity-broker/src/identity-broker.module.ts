import { Module } from '@nestjs/common';
import { SERVICE_CONFIG } from '@warden/service';
import type { IdentityBrokerConfig } from './config.js';
import { devSigningKey } from './domain/signing-key.js';
import { AuthenticateIntentHandler } from './handlers/authenticate-intent.handler.js';
import { TokenApiHandler } from './handlers/token-api.handler.js';
import { SIGNING_KEY } from './infra/tokens.js';

/** Identity broker: who is this agent? Tokens out, intents authenticated. (DESIGN §2 step 2, §6) */
@Module({
  controllers: [AuthenticateIntentHandler],
  providers: [
    {
      provide: SIGNING_KEY,
      inject: [SERVICE_CONFIG],
      useFactory: (config: IdentityBrokerConfig) => devSigningKey(config.IDENTITY_DEV_KEY_SEED),
    },
    TokenApiHandler,
  ],
})
export class IdentityBrokerModule {}
