/**
 * The logger messaging writes to: pino's signature (`logger.warn({ subject }, 'message')`), so a
 * pino logger can be passed as is. The object comes first so every line stays structured.
 */
export interface MessagingLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const ignore = (): void => undefined;

/** The default logger: writes nothing. */
export const silentLogger: MessagingLogger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
};
