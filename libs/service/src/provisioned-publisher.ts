import type { Provider } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventPublisher, provisionEnv } from '@warden/messaging';
import type { BaseServiceConfig } from './env-vars.js';
import {
  NATS_CONNECTION,
  SERVICE_CONFIG,
  SERVICE_INFO,
  type ServiceInfo,
} from './service-host.module.js';

/**
 * A provider of the service's own {@link EventPublisher} under `token`, for events no consumed
 * event causes (admin APIs, sweeps, start-up repairs). It is made once the env's stream exists:
 * such a service publishes at start, before its event transport would provision the stream.
 */
export function provisionedPublisherProvider(token: symbol): Provider {
  return {
    provide: token,
    inject: [NATS_CONNECTION, SERVICE_CONFIG, SERVICE_INFO],
    useFactory: async (nc: NatsConnection, config: BaseServiceConfig, info: ServiceInfo) => {
      await provisionEnv(nc, config.WARDEN_ENV);
      return new EventPublisher(nc, {
        env: config.WARDEN_ENV,
        producer: { service: info.name, instance: info.instance, version: info.version },
      });
    },
  };
}
