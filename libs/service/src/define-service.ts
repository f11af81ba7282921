import type { z } from 'zod';
import { parseConfig } from './config.js';
import {
  exitOnStartupFailure,
  runService,
  type RunServiceOptions,
  type RunningService,
  type ServiceProcessConfig,
} from './run-service.js';
import type { ShutdownCoordinator } from './shutdown-coordinator.js';

type Env = Readonly<Record<string, string | undefined>>;

/** How an embedding host starts a service: see {@link ServiceEntry.start}. */
export interface StartOptions {
  /**
   * Who stops it on SIGTERM/SIGINT. Default `false`: the host calls `stop()` itself. Pass the
   * process's coordinator (`processShutdownCoordinator`) to share one graceful shutdown instead.
   */
  shutdown?: ShutdownCoordinator | false;
}

/**
 * One service as both a process and a component: what an app exports from `src/service.ts`, so
 * its `main.ts` is one line and the embedded `warden up` can start it in its own process.
 */
export interface ServiceEntry<C> {
  readonly name: string;
  /** Parses this service's configuration; throws `ConfigError` listing every problem. */
  config(env: Env): C;
  /** Starts it inside a host process, which owns the signals unless told otherwise. */
  start(config: C, options?: StartOptions): Promise<RunningService>;
  /**
   * Runs it as the process: configuration from `process.env`, signal handling, exit codes (a
   * failed start logs why and exits 1).
   */
  main(): Promise<RunningService>;
}

/** Options of {@link defineService}: those of `runService`, with a schema instead of a config. */
export type DefineServiceOptions<S extends z.ZodObject> = Omit<
  RunServiceOptions<z.output<S> & ServiceProcessConfig>,
  'config' | 'shutdown' | 'logger'
> & {
  /** The service's environment schema, usually `z.object({ ...baseEnv, ...own })`. */
  config: S;
};

/**
 * Declares a service once, for both ways it runs.
 *
 * @example
 * // apps/trace-collector/src/service.ts
 * export const service = defineService({
 *   name: 'trace-collector', version: '0.1.0', config: CollectorConfig, module: TraceCollectorModule,
 * });
 * // apps/trace-collector/src/main.ts
 * import 'reflect-metadata';
 * import { service } from './service.js';
 * await service.main();
 */
export function defineService<S extends z.ZodObject>(
  options: DefineServiceOptions<S>,
): ServiceEntry<z.output<S> & ServiceProcessConfig> {
  type C = z.output<S> & ServiceProcessConfig;
  const { config: schema, ...rest } = options;
  const config = (env: Env): C => parseConfig(schema, env, options.name) as C;
  return {
    name: options.name,
    config,
    start: (parsed, startOptions = {}) =>
      runService({ ...rest, config: parsed, shutdown: startOptions.shutdown ?? false }),
    main: async () => {
      try {
        return await runService({ ...rest, config: config(process.env) });
      } catch (error) {
        exitOnStartupFailure(options.name, error);
      }
    },
  };
}
