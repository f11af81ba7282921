import type { Provider } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventPublisher, provisionEnv } from '@warden/messaging';
import { NATS_CONNECTION, SERVICE_CONFIG, SERVICE_INFO, type ServiceInfo } from '@warden/service';
import type { IdentityBrokerConfig } from './config.js';

/** Token of the broker's one {@link EventPublisher}, shared by the registry and the credentials. */
export const BROKER_PUBLISHER = Symbol('identity.publisher');

/**
 * The broker's publisher, made once the env's stream exists: both halves publish at start (the
 * first signing key, a repaired or bootstrap registry record), before the event transport would
 * provision the stream itself.
 */
export const brokerPublisherProvider: Provider = {
  provide: BROKER_PUBLISHER,
  inject: [NATS_CONNECTION, SERVICE_CONFIG, SERVICE_INFO],
  useFactory: async (nc: NatsConnection, config: IdentityBrokerConfig, info: ServiceInfo) => {
    await provisionEnv(nc, config.WARDEN_ENV);
    return new EventPublisher(nc, {
      env: config.WARDEN_ENV,
      producer: { service: info.name, instance: info.instance, version: info.version },
    });
  },
};
