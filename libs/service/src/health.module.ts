import { type DynamicModule, Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { type ReadinessOptions, ReadinessRegistry } from './readiness-registry.js';

/** Options of {@link HealthModule.forRoot}. */
export type HealthModuleOptions = ReadinessOptions;

/**
 * `GET /healthz` and `GET /readyz`, and the {@link ReadinessRegistry} behind them. Global, so any
 * module of the application can inject the registry and add its checks without importing this.
 * `runService` imports it for you.
 */
@Module({})
export class HealthModule {
  static forRoot(options: HealthModuleOptions = {}): DynamicModule {
    return {
      module: HealthModule,
      global: true,
      controllers: [HealthController],
      providers: [{ provide: ReadinessRegistry, useFactory: () => new ReadinessRegistry(options) }],
      exports: [ReadinessRegistry],
    };
  }
}
