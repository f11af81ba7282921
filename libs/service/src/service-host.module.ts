import { type DynamicModule, Module, type Type } from '@nestjs/common';
import type { Logger } from '@warden/telemetry';
import { HealthModule, type HealthModuleOptions } from './health.module.js';

/** Token of the service's parsed configuration (the object given to `runService`). */
export const SERVICE_CONFIG = Symbol.for('warden.service.config');
/** Token of the service's pino {@link Logger}. */
export const SERVICE_LOGGER = Symbol.for('warden.service.logger');
/** Token of {@link ServiceInfo}. */
export const SERVICE_INFO = Symbol.for('warden.service.info');

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
      ],
      exports: [SERVICE_CONFIG, SERVICE_LOGGER, SERVICE_INFO],
    };
  }
}
