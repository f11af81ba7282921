import type { Server } from 'node:http';
import type { DynamicModule, INestApplication, NestApplicationOptions, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, JetStreamTransport, type EventConsumerSettings } from '@warden/messaging';
import {
  createLogger,
  defaultInstanceId,
  type Logger,
  type LogLevel,
  NestJsonLogger,
  startTelemetry,
} from '@warden/telemetry';
import type { HealthModuleOptions } from './health.module.js';
import { trackShutdownHooks } from './lifecycle-tracker.js';
import { ReadinessRegistry } from './readiness-registry.js';
import { serviceConnectOptions } from './nats-connect-options.js';
import { isConfigError } from './service.errors.js';
import { type ServiceInfo, ServiceHostModule } from './service-host.module.js';
import {
  processShutdownCoordinator,
  type ShutdownCoordinator,
  type ShutdownSignal,
} from './shutdown-coordinator.js';

const startedByName = new Map<string, number>();

/**
 * `<host>:<pid>`, with `#n` for the n-th replica of one service in this process (tests, a host
 * that runs two), so each replica's events and logs say which one it was.
 */
function nextInstanceId(name: string): string {
  const n = (startedByName.get(name) ?? 0) + 1;
  startedByName.set(name, n);
  return n === 1 ? defaultInstanceId() : `${defaultInstanceId()}#${n}`;
}

/** A Nest root module, static or dynamic. */
export type ServiceModule = Type<unknown> | DynamicModule;

/** The part of a service's configuration `runService` itself reads (all of `baseEnv` fits). */
export interface ServiceProcessConfig {
  /** Port of `/healthz`, `/readyz` and any HTTP API; 0 picks a free one. */
  HTTP_PORT: number;
  /** The address to listen on (see `HttpHostVar`); default every interface. */
  HTTP_HOST?: string | undefined;
  WARDEN_ENV?: string;
  LOG_LEVEL?: LogLevel;
  /** Needed by a service with `events`. */
  NATS_URL?: string;
  /** The service's `.creds` file on a server with scoped access (deploy/nats). */
  NATS_CREDS?: string | undefined;
  /** Consumer settings of a service with `events` (see `eventConsumerEnv`). */
  EVENT_ACK_WAIT_MS?: number;
  EVENT_MAX_DELIVER?: number;
  EVENT_CONCURRENCY?: number;
}

/** Options of {@link runService}. */
export interface RunServiceOptions<C extends ServiceProcessConfig> {
  /** The service's name, as in logs, spans and events: `trace-collector`. */
  name: string;
  /** The service's version; default `0.0.0`. */
  version?: string;
  /**
   * The service's root module. Its providers can inject `SERVICE_CONFIG` (e.g. in a `useFactory`
   * that builds a connection from it), `SERVICE_LOGGER`, `SERVICE_INFO` and `ReadinessRegistry`.
   */
  module: ServiceModule;
  /** The parsed configuration (see `parseConfig`), provided under `SERVICE_CONFIG`. */
  config: C;
  /** Default: a JSON logger for `name` at `config.LOG_LEVEL`. */
  logger?: Logger;
  /** Interface to listen on; default `config.HTTP_HOST`, else all. */
  host?: string;
  /**
   * Bound on the whole shutdown; default 15 000 ms. With several services in one process the
   * largest requested bound applies.
   */
  shutdownTimeoutMs?: number;
  /**
   * Who stops this service on SIGTERM/SIGINT. Default: the process's coordinator, shared by every
   * service of the process. `false`: nobody, the caller closes it (tests, or a host that manages
   * its own lifecycle).
   */
  shutdown?: ShutdownCoordinator | false;
  /** Start OpenTelemetry (default `true`; a no-op if the process already did). */
  telemetry?: boolean;
  /** Options of the health endpoints. */
  health?: HealthModuleOptions;
  /**
   * Make the service an event handler: connect to NATS (`NATS_URL`), provide the connection under
   * `NATS_CONNECTION`, and consume every `@OnEvent(type)` method of the module's controllers
   * through a {@link JetStreamTransport} (one durable per type, shared by replicas). Consumer
   * settings come from `EVENT_*` in the config; `consumer` overrides them. On stop the transport
   * drains first (running handlers publish and ack), then the connection.
   */
  events?: { consumer?: EventConsumerSettings };
  /** Last changes to the app before it listens (global prefix, extra middleware…). */
  configure?: (app: INestApplication<Server>) => void | Promise<void>;
}

/** A service started by {@link runService}. */
export interface RunningService {
  readonly name: string;
  readonly app: INestApplication<Server>;
  readonly logger: Logger;
  readonly readiness: ReadinessRegistry;
  /** The port actually bound (useful with `HTTP_PORT=0`). */
  readonly port: number;
  /** Base URL of the health endpoints: `http://127.0.0.1:<port>` unless bound to one host. */
  readonly url: string;
  /**
   * Stops the service as a signal would, minus the process exit: not ready first, then Nest's
   * destroy and shutdown hooks, then the HTTP server. Idempotent.
   */
  stop(signal?: ShutdownSignal): Promise<void>;
}

/**
 * Starts one Warden service process (or one service of the embedded process): a Nest application
 * around `module` with the JSON logger, `/healthz` and `/readyz`, OpenTelemetry, and a graceful
 * shutdown on SIGTERM/SIGINT through the process's {@link ShutdownCoordinator}.
 *
 * Several calls in one process share one set of signal handlers: on a signal, every service turns
 * not ready, then all are closed concurrently, then the process exits once.
 *
 * Nest's own `enableShutdownHooks()` is deliberately not used: it installs handlers per app and
 * re-raises the signal when done (so the process dies by signal rather than exiting 0), and it has
 * no bound on a hook that never returns. The coordinator calls `app.close(signal)`, which runs the
 * same hooks: `onModuleDestroy`, `beforeApplicationShutdown(signal)`, `onApplicationShutdown(signal)`.
 *
 * Rejects if the app cannot start (after closing what it had opened); see `exitOnStartupFailure`.
 */
export async function runService<C extends ServiceProcessConfig>(
  options: RunServiceOptions<C>,
): Promise<RunningService> {
  const { name, config } = options;
  const version = options.version ?? '0.0.0';
  const env = config.WARDEN_ENV;
  const logger =
    options.logger ??
    createLogger({ service: name, level: config.LOG_LEVEL ?? 'info', ...(env ? { env } : {}) });
  const info: ServiceInfo = { name, version, instance: nextInstanceId(name), env };
  const timeoutMs = options.shutdownTimeoutMs;
  const coordinator =
    options.shutdown === false
      ? undefined
      : (options.shutdown ??
        processShutdownCoordinator({ logger, ...(timeoutMs === undefined ? {} : { timeoutMs }) }));
  // Only an explicit bound raises a shared coordinator's; the default does not override its own.
  if (timeoutMs !== undefined) coordinator?.requireTimeout(timeoutMs);

  if (options.telemetry !== false) {
    const telemetry = startTelemetry({
      serviceName: name,
      serviceVersion: version,
      ...(env ? { env } : {}),
      logger,
    });
    coordinator?.addFinalizer('telemetry', () => telemetry.shutdown());
  }

  const nc = options.events ? await connectForEvents(name, config) : undefined;

  // Nest declares its options as a class, but documents (and only reads) a plain object.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  const appOptions: NestApplicationOptions = {
    logger: new NestJsonLogger(logger),
    // Nest's default on a failed bootstrap is process.abort(): a core dump, no log line, and
    // every other service of an embedded process gone with it. Rethrow instead.
    abortOnError: false,
    // Keep-alive probe connections would otherwise hold `close()` open until they time out.
    forceCloseConnections: true,
  };
  const app = await NestFactory.create<INestApplication<Server>>(
    ServiceHostModule.forRoot({
      module: options.module,
      config,
      logger,
      info,
      ...(options.health ? { health: options.health } : {}),
      ...(nc ? { nats: nc } : {}),
    }),
    new ExpressAdapter(),
    appOptions,
  ).catch(async (error: unknown) => {
    await nc?.close();
    throw error;
  });
  const readiness = app.get(ReadinessRegistry);
  const pendingHooks = trackShutdownHooks(app);

  let stopping: Promise<void> | undefined;
  let unregister: (() => void) | undefined;
  const stop = (signal?: ShutdownSignal): Promise<void> => {
    stopping ??= (async () => {
      readiness.markShuttingDown();
      logger.info({ signal }, 'stopping');
      try {
        // The implementation passes the signal on to `beforeApplicationShutdown(signal)` and
        // `onApplicationShutdown(signal)`; the public interface just does not declare it.
        await (app as { close(signal?: string): Promise<void> }).close(signal);
      } finally {
        // After the app: its transport has drained its consumers, and its shutdown hooks ran.
        if (nc && !nc.isClosed()) await nc.drain().catch(() => undefined);
        unregister?.();
      }
      logger.info('stopped');
    })();
    return stopping;
  };

  try {
    // Before listening, so a signal that arrives during start-up still closes the app.
    unregister = coordinator?.register({
      name,
      markNotReady: () => {
        readiness.markShuttingDown();
      },
      close: stop,
      pending: pendingHooks,
    });
    if (nc && options.events) {
      readiness.register('nats', () => ({ ok: !nc.isClosed(), detail: nc.getServer() }));
      await startEventHandlers(app, nc, name, info, config, options.events.consumer, logger);
    }
    await options.configure?.(app);
    const listenHost = options.host ?? config.HTTP_HOST;
    await (listenHost === undefined
      ? app.listen(config.HTTP_PORT)
      : app.listen(config.HTTP_PORT, listenHost));
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address !== null ? address.port : config.HTTP_PORT;
    const host =
      listenHost === undefined || listenHost === '0.0.0.0' || listenHost === '::'
        ? '127.0.0.1'
        : listenHost.includes(':')
          ? `[${listenHost}]`
          : listenHost;
    const url = `http://${host}:${port}`;
    logger.info({ version, port, url }, 'started');
    return { name, app, logger, readiness, port, url, stop };
  } catch (error) {
    logger.error({ err: error }, 'failed to start');
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * The end of a `main.ts` whose start-up failed: logs the error as one JSON line (a configuration
 * error with its list of problems) and exits 1, so the orchestrator sees a failed start rather
 * than a process hanging on half-open connections.
 *
 * @example
 * runService({ ... }).catch((error: unknown) => exitOnStartupFailure('trace-collector', error));
 */
export function exitOnStartupFailure(name: string, error: unknown, logger?: Logger): never {
  const log = logger ?? createLogger({ service: name });
  if (isConfigError(error)) {
    // The message already lists every problem; a stack trace would only bury it.
    log.fatal({ code: error.code, issues: error.issues }, error.message);
  } else {
    log.fatal({ err: error }, 'failed to start');
  }
  log.flush();
  process.exit(1);
}

async function connectForEvents(
  name: string,
  config: ServiceProcessConfig,
): Promise<NatsConnection> {
  if (config.NATS_URL === undefined || config.WARDEN_ENV === undefined) {
    throw new TypeError(
      `${name}: a service with events needs NATS_URL and WARDEN_ENV in its config`,
    );
  }
  return connectNats(serviceConnectOptions(name, config.NATS_URL, config.NATS_CREDS));
}

/** Consumes the module's `@OnEvent` handlers through a JetStream transport on `nc`. */
async function startEventHandlers(
  app: INestApplication<Server>,
  nc: NatsConnection,
  name: string,
  info: ServiceInfo,
  config: ServiceProcessConfig,
  overrides: EventConsumerSettings | undefined,
  logger: Logger,
): Promise<void> {
  const consumer: EventConsumerSettings = {
    ...(config.EVENT_ACK_WAIT_MS === undefined ? {} : { ackWaitMs: config.EVENT_ACK_WAIT_MS }),
    ...(config.EVENT_MAX_DELIVER === undefined ? {} : { maxDeliver: config.EVENT_MAX_DELIVER }),
    ...(config.EVENT_CONCURRENCY === undefined ? {} : { concurrency: config.EVENT_CONCURRENCY }),
    ...overrides,
  };
  const strategy = new JetStreamTransport({
    connection: nc,
    env: info.env ?? '',
    service: name,
    producer: { instance: info.instance, version: info.version },
    consumer,
    logger,
  });
  // Nest closes connected microservices when the app closes, after the shutdown-before hooks.
  app.connectMicroservice({ strategy }, { inheritAppConfig: true });
  await app.startAllMicroservices();
}
