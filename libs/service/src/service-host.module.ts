import { type DynamicModule, Module, type Type } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@warden/telemetry';
import { HealthModule, type HealthModuleOptions } from './health.module.js';

/** Token of the service's parsed configuration (the object given to `runService`). */
export const SERVICE_CONFIG = Symbol.for('warden.service.config');
/** Token of the service's pino {@link Logger}. */
export const SERVICE_LOGGER = Symbol.for('warden.service.logger');
/** Token of {@link ServiceInfo}. */
export const SERVICE_INFO = Symbol.for('warden.service.info');
/**
 * Token of the service's NATS connection, for a service started with `events` (see
 * `runService`): its handlers inject it for KV buckets and request/reply APIs. The connection is
 * drained after the app closed, so shutdown hooks may still use it.
 */
export const NATS_CONNECTION = Symbol.for('warden.service.nats');

/** Who this process is, e.g. for the `producer` of the events it publishes. */
export interface ServiceInfo {
  readonly name: string;
  readonly version: string;
  readonly instance: string;
  readonly env: string | undefined;
}

/** Options of {@link ServiceHostModule.forRoot}. */
export interface ServiceHostOptions {
  /** The service's own root module. */
  module: Type<unknown> | DynamicModule;
  config: object;
  logger: Logger;
  info: ServiceInfo;
  health?: HealthModuleOptions;
  /** The service's NATS connection, provided under {@link NATS_CONNECTION} when given. */
  nats?: NatsConnection;
}

/**
 * The root module `runService` builds around a service's module: health endpoints, and the
 * process-level values under tokens, global so any provider can `@Inject(SERVICE_CONFIG)`. Tests
 * that build a service module with `Test.createTestingModule` provide the same tokens themselves.
 */
@Module({})
export class ServiceHostModule {
  static forRoot(options: ServiceHostOptions): DynamicModule {
    return {
      module: ServiceHostModule,
      global: true,
      imports: [HealthModule.forRoot(options.health), options.module],
      providers: [
        { provide: SERVICE_CONFIG, useValue: options.config },
        { provide: SERVICE_LOGGER, useValue: options.logger },
        { provide: SERVICE_INFO, useValue: options.info },
        ...(options.nats ? [{ provide: NATS_CONNECTION, useValue: options.nats }] : []),
      ],
      exports: [
        SERVICE_CONFIG,
        SERVICE_LOGGER,
        SERVICE_INFO,
        ...(options.nats ? [NATS_CONNECTION] : []),
      ],
    };
  }
}
