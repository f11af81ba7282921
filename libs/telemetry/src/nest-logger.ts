import type { LoggerService, LogLevel as NestLogLevel } from '@nestjs/common';
import type { LogLevel, Logger } from './logger.js';

// Nest's own level names, in pino terms. Nest's `log` is the everyday level, `verbose` the chattiest.
const NEST_TO_PINO = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
} as const satisfies Record<NestLogLevel, LogLevel>;

const PINO_ORDER: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

// Nest passes a stack trace as a plain string argument to `error()`; this is how ConsoleLogger
// tells it apart from a context name.
const STACK_LINE = /\n\s+at /;

/**
 * Nest's `LoggerService` over a Warden pino logger, so the framework's own lines (module
 * initialisation, route mapping, errors thrown by lifecycle hooks) are JSON like everything else.
 * Nest's context name (`RoutesResolver`, `NestFactory`…) is written as the `context` field.
 *
 * Type-only dependency on `@nestjs/common`: importing this file does not load Nest.
 *
 * @example
 * const app = await NestFactory.create(AppModule, { logger: new NestJsonLogger(logger) });
 */
export class NestJsonLogger implements LoggerService {
  // Its own child, so `setLogLevels` from Nest changes Nest's verbosity and not the service's.
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger.child({ component: 'nest' });
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest lists the levels it wants; pino has a threshold: the most verbose listed one wins. */
  setLogLevels(levels: NestLogLevel[]): void {
    const wanted = new Set<LogLevel>(levels.map((level) => NEST_TO_PINO[level]));
    this.logger.level = PINO_ORDER.find((level) => wanted.has(level)) ?? 'silent';
  }

  private write(
    level: Exclude<LogLevel, 'silent'>,
    message: unknown,
    params: readonly unknown[],
  ): void {
    if (!this.logger.isLevelEnabled(level)) return;
    // `Logger#error` pads a missing stack with `undefined` before the context: drop the padding.
    const rest = params.filter((p) => p !== undefined);
    const fields: Record<string, unknown> = {};
    // Nest appends the context name as the last string argument when it has one.
    if (
      rest.length > 0 &&
      typeof rest.at(-1) === 'string' &&
      !STACK_LINE.test(rest.at(-1) as string)
    ) {
      fields['context'] = rest.pop();
    }
    if (level === 'error' || level === 'fatal') {
      const stackIndex = rest.findIndex((p) => typeof p === 'string' && STACK_LINE.test(p));
      if (stackIndex >= 0) fields['stack'] = rest.splice(stackIndex, 1)[0];
    }
    if (rest.length > 0) fields['details'] = rest;

    if (message instanceof Error) {
      this.logger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'string') {
      this.logger[level](fields, message);
    } else {
      // Objects logged by Nest or by code using Nest's Logger: keep them structured.
      this.logger[level]({ ...fields, data: message }, '');
    }
  }
}
