import { createRequire } from 'node:module';
import {
  context,
  type DiagLogger,
  diag,
  DiagLogLevel,
  metrics,
  propagation,
  trace,
} from '@opentelemetry/api';
import type * as SdkNode from '@opentelemetry/sdk-node';
import { type ExportPlan, resolveExportPlan } from './export-plan.js';
import { defaultInstanceId, type Logger } from './logger.js';

/** A span processor as the OTel SDK defines it (`@opentelemetry/sdk-trace`'s `SpanProcessor`). */
export type SpanProcessor = NonNullable<SdkNode.NodeSDKConfiguration['spanProcessors']>[number];

/** Options of {@link startTelemetry}. */
export interface StartTelemetryOptions {
  /** `service.name` of the resource: the service, or `warden` for the embedded all-in-one process. */
  serviceName: string;
  /** `service.version` of the resource. */
  serviceVersion: string;
  /** `deployment.environment.name`; default `$WARDEN_ENV`. */
  env?: string;
  /** `service.instance.id`; default `<hostname>:<pid>`, as in the logs. */
  instance?: string;
  /** Receives the SDK's own warnings and errors (e.g. an unreachable collector) at `warn`. */
  logger?: Logger;
  /**
   * Span processors to use instead of the ones OTEL_* variables select: for tests (an in-memory
   * exporter) and custom set-ups. When given, OTEL_TRACES_EXPORTER and the endpoints are ignored
   * for traces.
   */
  spanProcessors?: SpanProcessor[];
  /** Upper bound on {@link TelemetryHandle.shutdown}; default 5000 ms. */
  shutdownTimeoutMs?: number;
}

/** What {@link startTelemetry} returns. */
export interface TelemetryHandle {
  /** What this process exports; both false means spans are created but stay in the process. */
  readonly exporting: Readonly<ExportPlan>;
  /**
   * Flushes and stops the SDK. Never rejects and never takes longer than `shutdownTimeoutMs`: a
   * collector that is down must not hold a process that is shutting down. Idempotent.
   */
  shutdown(): Promise<void>;
}

// On globalThis rather than in a module variable: the embedded process may load this library twice
// (sources in dev, dist when built) and must still have one SDK.
const HANDLE_KEY = Symbol.for('warden.telemetry.handle');
type GlobalWithHandle = typeof globalThis & { [HANDLE_KEY]?: TelemetryHandle };

// The SDK and its exporters cost ~250 ms and ~25 MB to load. Requiring it on first use (it is a CJS
// package) keeps that off code that only needs the propagation helpers or the logger, such as the
// CLI, while keeping `startTelemetry` synchronous.
const requireFromHere = createRequire(import.meta.url);
function loadSdk(): typeof SdkNode {
  return requireFromHere('@opentelemetry/sdk-node') as typeof SdkNode;
}

/**
 * Keeps spans in the process. Registered when nothing is exported, because the SDK only installs a
 * TracerProvider when it has at least one processor, and without one every span would be the API's
 * no-op span with all-zero ids: nothing to put in `traceparent`, so traces would break at this hop.
 */
class DiscardingSpanProcessor implements SpanProcessor {
  onStart(): void {
    // Nothing to record: the span exists for its ids and its context.
  }
  onEnd(): void {
    // Nothing to export.
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function diagToLogger(logger: Logger): DiagLogger {
  const otel = logger.child({ component: 'otel' });
  const write =
    (level: 'error' | 'warn' | 'info' | 'debug' | 'trace') =>
    (message: string, ...args: unknown[]) => {
      const err = args.find((arg) => arg instanceof Error);
      otel[level](err === undefined ? { details: args } : { err }, message);
    };
  return {
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    verbose: write('trace'),
  };
}

/**
 * Starts OpenTelemetry for this process and registers it with `@opentelemetry/api`, so
 * {@link withSpan} creates real spans (valid ids, propagated in `traceparent`) from then on.
 *
 * - Exports only when asked to (see {@link resolveExportPlan}): `OTEL_EXPORTER_OTLP_ENDPOINT`, a
 *   per-signal endpoint, or `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` other than `none`.
 *   Otherwise spans are created and dropped, and nothing connects anywhere.
 * - An unreachable collector is logged (through `logger`), never thrown.
 * - Logs are not exported through OTel: they go to stdout as JSON (see `createLogger`).
 * - Safe to call more than once: the embedded process runs several services in one process, and
 *   later calls return the first handle unchanged (call it first with `serviceName: 'warden'`
 *   there). `OTEL_SDK_DISABLED=true` is honoured: spans are then no-ops.
 *
 * Call it before creating the Nest app. No auto-instrumentation is installed: Warden's spans come
 * from {@link withSpan} around message handling and tool calls.
 */
export function startTelemetry(options: StartTelemetryOptions): TelemetryHandle {
  const global = globalThis as GlobalWithHandle;
  const existing = global[HANDLE_KEY];
  if (existing !== undefined) return existing;

  const plan = resolveExportPlan(process.env);
  if (options.logger !== undefined && process.env['OTEL_LOG_LEVEL'] === undefined) {
    // With OTEL_LOG_LEVEL set, the SDK installs its console logger itself: the operator asked.
    diag.setLogger(diagToLogger(options.logger), {
      logLevel: DiagLogLevel.WARN,
      suppressOverrideMessage: true,
    });
  }

  const { NodeSDK, resources } = loadSdk();
  const environment = options.env ?? process.env['WARDEN_ENV'];
  const resource = resources.defaultResource().merge(
    resources.resourceFromAttributes({
      'service.name': options.serviceName,
      'service.version': options.serviceVersion,
      'service.instance.id': options.instance ?? defaultInstanceId(),
      ...(environment === undefined ? {} : { 'deployment.environment.name': environment }),
    }),
  );
  const exportsSomething = plan.traces || plan.metrics;
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    resource,
    // Host and process attributes only matter to a backend; skip the detection when there is none.
    autoDetectResources: exportsSomething,
    instrumentations: [],
    // Undefined lets the SDK build processors from OTEL_* (plan.traces is true then).
    spanProcessors:
      options.spanProcessors ?? (plan.traces ? undefined : [new DiscardingSpanProcessor()]),
    // An empty list means no MeterProvider, instead of the SDK's default OTLP reader.
    ...(plan.metrics ? {} : { metricReaders: [] }),
    logRecordProcessors: [],
  });
  sdk.start();

  const timeoutMs = options.shutdownTimeoutMs ?? 5_000;
  let stopping: Promise<void> | undefined;
  const handle: TelemetryHandle = {
    exporting: {
      traces: options.spanProcessors === undefined && plan.traces,
      metrics: plan.metrics,
    },
    shutdown() {
      stopping ??= boundedShutdown(sdk, timeoutMs).finally(() => {
        // A later call may start a new SDK (tests do; a process normally exits right after).
        if (global[HANDLE_KEY] === handle) global[HANDLE_KEY] = undefined;
      });
      return stopping;
    },
  };
  global[HANDLE_KEY] = handle;
  return handle;
}

async function boundedShutdown(sdk: SdkNode.NodeSDK, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      resolve('timeout');
    }, timeoutMs);
    timer.unref();
  });
  try {
    const outcome = await Promise.race([sdk.shutdown().then(() => 'done' as const), timeout]);
    if (outcome === 'timeout') {
      diag.warn(`OpenTelemetry shutdown did not finish within ${timeoutMs} ms; spans may be lost`);
    }
  } catch (error) {
    diag.error('OpenTelemetry shutdown failed', error);
  } finally {
    clearTimeout(timer);
    // Unregister what the SDK registered, so a later startTelemetry (tests) starts from scratch
    // instead of failing with "duplicate registration". Spans after this point are no-ops.
    trace.disable();
    metrics.disable();
    propagation.disable();
    context.disable();
  }
}
