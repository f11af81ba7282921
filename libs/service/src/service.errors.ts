/** Stable codes of the errors this library throws; reason strings in logs use the same words. */
export type ServiceErrorCode = 'config_invalid' | 'readiness_check_exists' | 'shutdown_in_progress';

/** Base of the process-level errors of `@warden/service`: a stable `code`, never retryable. */
export abstract class ServiceError extends Error {
  abstract readonly code: ServiceErrorCode;
  /** Process concerns are fixed by an operator, not by trying again. */
  readonly retryable = false;
}

/** One missing or invalid environment variable, as reported by {@link ConfigError}. */
export interface ConfigIssue {
  /** The variable's name, e.g. `NATS_URL`. */
  readonly variable: string;
  /** Why it was refused: `required`, or the rule it broke. Never echoes the value (it may be a secret). */
  readonly reason: string;
  /** A value that would be accepted, when the schema declares one. */
  readonly example?: string;
}

/**
 * The environment does not satisfy a service's configuration schema. Thrown once, listing every
 * problem, so an operator fixes them all in one go instead of one restart per variable.
 */
export class ConfigError extends ServiceError {
  override readonly name = 'ConfigError';
  readonly code = 'config_invalid';

  constructor(
    /** The service whose configuration was refused. */
    readonly service: string,
    /** Every problem found, in schema order. */
    readonly issues: readonly ConfigIssue[],
  ) {
    super(ConfigError.format(service, issues));
  }

  /** `<service>: invalid configuration:` then one `  - VAR: reason (example: …)` line per issue. */
  static format(service: string, issues: readonly ConfigIssue[]): string {
    const lines = issues.map(
      (issue) =>
        `  - ${issue.variable}: ${issue.reason}` +
        (issue.example === undefined ? '' : ` (example: ${issue.example})`),
    );
    return [`${service}: invalid configuration:`, ...lines].join('\n');
  }
}

/** Whether `error` is a {@link ConfigError} (also across two copies of this library). */
export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof Error && (error as Partial<ConfigError>).code === 'config_invalid';
}

/** A readiness check was registered twice under one name: two components would hide each other. */
export class ReadinessCheckExistsError extends ServiceError {
  override readonly name = 'ReadinessCheckExistsError';
  readonly code = 'readiness_check_exists';

  constructor(readonly check: string) {
    super(`readiness check "${check}" is already registered`);
  }
}

/** A service tried to join a process that is already shutting down. */
export class ShutdownInProgressError extends ServiceError {
  override readonly name = 'ShutdownInProgressError';
  readonly code = 'shutdown_in_progress';

  constructor(readonly participant: string) {
    super(`cannot register "${participant}": the process is shutting down`);
  }
}
