import type { Provider } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventPublisher, provisionEnv } from '@warden/messaging';
import { NATS_CONNECTION, SERVICE_CONFIG, SERVICE_INFO, type ServiceInfo } from '@warden/service';
import type { PolicyDecisionConfig } from './config.js';

/** Token of the service's {@link EventPublisher} for events no consumed event causes (APIs, sweeps). */
export const DECISION_PUBLISHER = Symbol('policy.publisher');

/** The publisher, made once the env's stream exists: the registries replay and publish at start. */
export const decisionPublisherProvider: Provider = {
  provide: DECISION_PUBLISHER,
  inject: [NATS_CONNECTION, SERVICE_CONFIG, SERVICE_INFO],
  useFactory: async (nc: NatsConnection, config: PolicyDecisionConfig, info: ServiceInfo) => {
    await provisionEnv(nc, config.WARDEN_ENV);
    return new EventPublisher(nc, {
      env: config.WARDEN_ENV,
      producer: { service: info.name, instance: info.instance, version: info.version },
    });
  },
};
