import { Module } from '@nestjs/common';
import { brokerPublisherProvider } from './broker-publisher.js';
import { credentialControllers, credentialProviders } from './credentials/index.js';
import { registryControllers, registryProviders } from './registry/index.js';

/**
 * Identity broker: who is this agent? (DESIGN §2 step 2, §6). Two halves meet only through the
 * ports in ports.ts: the registry (agents, humans) and the credentials (keys, tokens,
 * revocations, the authentication stage).
 */
@Module({
  controllers: [...registryControllers, ...credentialControllers],
  providers: [brokerPublisherProvider, ...registryProviders, ...credentialProviders],
})
export class IdentityBrokerModule {}
