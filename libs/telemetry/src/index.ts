/**
 * `@warden/telemetry`: how a Warden process reports what it does. Structured JSON logs (pino) with
 * credential redaction, Nest's logger over them, the OpenTelemetry SDK set-up, and W3C trace
 * context over plain message headers. Transport-agnostic: nothing here imports NATS or Nest at
 * runtime.
 */
export { REDACT_PATHS, REDACTED, scrubCredentials } from './credential-keys.js';
export { type ExportPlan, resolveExportPlan } from './export-plan.js';
export {
  createLogger,
  type CreateLoggerOptions,
  defaultInstanceId,
  LOG_LEVELS,
  type LogContext,
  logContextOf,
  type Logger,
  type LogLevel,
  withLogContext,
} from './logger.js';
export { NestJsonLogger } from './nest-logger.js';
export {
  type SpanProcessor,
  startTelemetry,
  type StartTelemetryOptions,
  type TelemetryHandle,
} from './telemetry.js';
export {
  currentTraceparent,
  extractContext,
  formatTraceparent,
  type HeaderCarrier,
  type HeaderGetter,
  injectTraceparent,
  parseTraceparent,
  TRACEPARENT_HEADER,
  TRACER_NAME,
  TRACESTATE_HEADER,
  withSpan,
  type WithSpanOptions,
} from './trace-context.js';
// Re-exported so callers of `withSpan` need no direct dependency on the OTel API.
export { type Attributes, type Context, type Span, SpanKind } from '@opentelemetry/api';
export { type MemoryDestination, memoryDestination } from './memory-destination.js';
