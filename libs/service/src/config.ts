import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './service.errors.js';

type Env = Readonly<Record<string, string | undefined>>;

interface SchemaInternals {
  _zod: { def: { innerType?: unknown; in?: unknown } };
  meta?: () => Record<string, unknown> | undefined;
}

// The example may sit on the variable's schema or on one it wraps (`.default()`, `.optional()`,
// `.transform()` make new schemas around the one that carries the metadata).
function exampleOf(schema: unknown, depth = 0): string | undefined {
  if (depth > 8 || typeof schema !== 'object' || schema === null) return undefined;
  const internals = schema as SchemaInternals;
  const meta = internals.meta?.();
  const example = meta?.['example'] ?? (meta?.['examples'] as unknown[] | undefined)?.[0];
  if (typeof example === 'string' || typeof example === 'number') return String(example);
  const def = internals._zod.def;
  return exampleOf(def.innerType, depth + 1) ?? exampleOf(def.in, depth + 1);
}

/**
 * Parses a service's configuration from environment variables, before Nest starts.
 *
 * Only the variables the schema names are read. An empty value counts as unset (so `NATS_URL=` in
 * a compose file falls back to the default instead of failing as an invalid URL). On failure it
 * throws one {@link ConfigError} listing every missing or invalid variable, its reason, and an
 * example value when the schema has one (see `withExample`); values themselves are never printed.
 *
 * @param schema the service's `z.object` of variables, usually `{ ...baseEnv, ...own }`
 * @param env where to read from; default `process.env` (tests pass a plain object)
 * @param serviceName prefix of the error message
 * @example
 * const config = parseConfig(TraceCollectorConfig, process.env, 'trace-collector');
 */
export function parseConfig<S extends z.ZodObject>(
  schema: S,
  env: Env = process.env,
  serviceName = 'warden',
): z.output<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    input[key] = value === '' ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;

  const byVariable = new Map<string, { reasons: string[]; example: string | undefined }>();
  for (const issue of result.error.issues) {
    const variable = issue.path.length > 0 ? String(issue.path[0]) : '(configuration)';
    const missing = issue.code === 'invalid_type' && input[variable] === undefined;
    const reason = missing ? 'required' : issue.message;
    const entry = byVariable.get(variable) ?? {
      reasons: [],
      example: exampleOf(schema.shape[variable]),
    };
    if (!entry.reasons.includes(reason)) entry.reasons.push(reason);
    byVariable.set(variable, entry);
  }
  const issues: ConfigIssue[] = [...byVariable].map(([variable, { reasons, example }]) => ({
    variable,
    reason: reasons.join('; '),
    ...(example === undefined ? {} : { example }),
  }));
  throw new ConfigError(serviceName, issues);
}
