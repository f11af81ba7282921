import { SUBJECT_TOKEN_PATTERN } from '@warden/contracts';
import { LOG_LEVELS } from '@warden/telemetry';
import { z } from 'zod';

/**
 * Attaches an example value to an environment variable's schema; {@link parseConfig} prints it
 * next to the variable when it is missing or invalid.
 *
 * @example
 * const Config = z.object({ ...baseEnv, CLICKHOUSE_URL: withExample(z.url(), 'http://127.0.0.1:8123') });
 */
export function withExample<T extends z.ZodType>(schema: T, example: string): T {
  return schema.meta({ example });
}

/** `WARDEN_ENV`: the env this deployment serves; it becomes a subject token (DESIGN §3), so it follows that rule. */
export const WardenEnvVar = withExample(
  z.string().regex(SUBJECT_TOKEN_PATTERN, { error: `must match ${SUBJECT_TOKEN_PATTERN.source}` }),
  'dev',
);

/** The NATS URL used when `NATS_URL` is not set: a local server on the default port. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

const NATS_SCHEMES = new Set(['nats:', 'tls:', 'ws:', 'wss:']);
function isNatsServerList(value: string): boolean {
  return value.split(',').every((entry) => {
    try {
      return NATS_SCHEMES.has(new URL(entry.trim()).protocol);
    } catch {
      return false;
    }
  });
}

/**
 * `NATS_URL`: one server URL, or several separated by commas (a cluster); `nats://`, `tls://`,
 * `ws://` or `wss://`. Default {@link DEFAULT_NATS_URL}.
 */
export const NatsUrlVar = withExample(
  z.string().refine(isNatsServerList, {
    error: 'must be nats://, tls://, ws:// or wss:// URLs, separated by commas',
  }),
  DEFAULT_NATS_URL,
).default(DEFAULT_NATS_URL);

/**
 * `NATS_CREDS`: the service's own `.creds` file on a NATS server with scoped access
 * (`warden nats setup`, deploy/nats). Unset: connect without credentials (a local dev server).
 */
export const NatsCredsVar = withExample(
  z.string().min(1),
  'deploy/nats/generated/creds/policy-decision.creds',
).optional();

/** `HTTP_PORT`: where `/healthz`, `/readyz` (and any HTTP API) are served; `0` picks a free port. */
export const HttpPortVar = withExample(
  z
    .string()
    .regex(/^\d{1,5}$/, { error: 'must be an integer from 0 to 65535 (0 = any free port)' })
    .transform(Number)
    .pipe(
      z.number().max(65_535, { error: 'must be an integer from 0 to 65535 (0 = any free port)' }),
    ),
  '8080',
);

/**
 * `HTTP_HOST`: the address `/healthz` and `/readyz` listen on. Unset: every interface, as an
 * orchestrator's probes need; `warden up` sets `127.0.0.1` so a laptop's stack is not reachable.
 */
export const HttpHostVar = withExample(z.string().min(1), '127.0.0.1').optional();

/** `LOG_LEVEL`: minimum level of the JSON logs; default `info`. */
export const LogLevelVar = withExample(
  z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
  'info',
).default('info');

/**
 * The variables every Warden service reads. Spread it into a service's own schema, which then
 * lists only what is specific to that service.
 *
 * @example
 * export const TraceCollectorConfig = z.object({ ...baseEnv, BATCH_SIZE: withExample(z.coerce.number().int().positive(), '5000') });
 */
export const baseEnv = {
  WARDEN_ENV: WardenEnvVar,
  NATS_URL: NatsUrlVar,
  NATS_CREDS: NatsCredsVar,
  HTTP_PORT: HttpPortVar,
  HTTP_HOST: HttpHostVar,
  LOG_LEVEL: LogLevelVar,
};

const positiveInt = (example: string, fallback: number) =>
  withExample(z.coerce.number().int().positive(), example).default(fallback);

/**
 * How a service with `events` consumes them (see `runService`). Spread beside {@link baseEnv}.
 * AckWait bounds how long a crashed replica's messages wait before another gets them.
 */
export const eventConsumerEnv = {
  /** Unacked messages are redelivered after this long (a crashed replica's work). */
  EVENT_ACK_WAIT_MS: positiveInt('30000', 30_000),
  /** Attempts per event before it is dead-lettered. */
  EVENT_MAX_DELIVER: positiveInt('5', 5),
  /** Handlers running at once per event type in this process. */
  EVENT_CONCURRENCY: positiveInt('64', 64),
};

/** The configuration of a service that needs nothing beyond {@link baseEnv}. */
export const BaseServiceConfig = z.object(baseEnv);
/** Parsed {@link BaseServiceConfig}. */
export type BaseServiceConfig = z.infer<typeof BaseServiceConfig>;
