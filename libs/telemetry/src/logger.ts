import { hostname } from 'node:os';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { REDACTED, REDACT_PATHS, scrubCredentials } from './credential-keys.js';

/** The log levels a Warden process accepts (pino's, plus `silent`), most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The structured JSON logger every Warden process uses (a pino logger). Derive per-handler loggers
 * with `logger.child({ run_id, intent_id })` or {@link withLogContext}.
 */
export type Logger = PinoLogger;

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The service name, bound as `service` on every line (e.g. `trace-collector`). */
  service: string;
  /** Minimum level written; default `info`. */
  level?: LogLevel;
  /** Where lines go; default stdout, written synchronously so nothing is lost on `process.exit`. */
  destination?: DestinationStream;
  /** This process, bound as `instance`; default `<hostname>:<pid>`. */
  instance?: string;
  /** The Warden env (`dev`, `prod`…), bound as `env`; default `$WARDEN_ENV`, omitted when unset. */
  env?: string;
  /** Extra pino redaction paths, added to {@link REDACT_PATHS}. */
  redact?: readonly string[];
}

/** The default `instance` binding: unique per process on a host, readable in a log viewer. */
export function defaultInstanceId(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Creates the structured JSON logger of one service. Every line carries `level` (as a word),
 * `time` (ISO 8601), `service`, `instance`, `env`, and `trace_id`/`span_id` when a span is active,
 * so a log line can be joined to its trace. Fields named like a credential are written as
 * `[REDACTED]`, at any depth.
 *
 * @example
 * const logger = createLogger({ service: 'policy-decision', level: config.LOG_LEVEL });
 * logger.child({ run_id, intent_id }).info({ effect }, 'decided');
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const env = options.env ?? process.env['WARDEN_ENV'];
  return pino(
    {
      level: options.level ?? 'info',
      base: {
        service: options.service,
        instance: options.instance ?? defaultInstanceId(),
        ...(env === undefined ? {} : { env }),
      },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        // A word is easier to filter on than pino's numbers in a log pipeline that is not pino-aware.
        level: (label) => ({ level: label }),
        log: (object) => scrubCredentials(object),
      },
      redact: { paths: [...REDACT_PATHS, ...(options.redact ?? [])], censor: REDACTED },
      mixin: traceFields,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

// Called for every line written, so it stays cheap. It must return a fresh object: pino merges the
// line's own fields INTO it (Object.assign), so a shared or frozen object would break.
function traceFields(): object {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/**
 * The correlation fields a handler binds to its logger (DESIGN §9: logs carry `run_id` and
 * `intent_id`). Names are the envelope's, snake_case, so a log query and a ClickHouse query use the
 * same words.
 */
export interface LogContext {
  event_id?: string | undefined;
  type?: string | undefined;
  run_id?: string | undefined;
  intent_id?: string | undefined;
  agent_id?: string | undefined;
  correlation_id?: string | undefined;
  causation_id?: string | undefined;
}

const LOG_CONTEXT_KEYS = [
  'event_id',
  'type',
  'run_id',
  'intent_id',
  'agent_id',
  'correlation_id',
  'causation_id',
] as const satisfies readonly (keyof LogContext)[];

/**
 * Picks the {@link LogContext} fields from any object that has them, typically an event envelope,
 * ignoring everything else (so `data`, which may be large or sensitive, is never bound).
 */
export function logContextOf(source: Readonly<Record<string, unknown>>): LogContext {
  const context: LogContext = {};
  for (const key of LOG_CONTEXT_KEYS) {
    const value = source[key];
    if (typeof value === 'string') context[key] = value;
  }
  return context;
}

/**
 * A child logger bound to a run, intent or event; fields that are `undefined` are left out.
 *
 * @example
 * const log = withLogContext(logger, logContextOf(event));
 * log.info('budget reserved');
 */
export function withLogContext(logger: Logger, context: LogContext): Logger {
  const bindings: Record<string, string> = {};
  for (const key of LOG_CONTEXT_KEYS) {
    const value = context[key];
    if (value !== undefined) bindings[key] = value;
  }
  return logger.child(bindings);
}
