/** Where log lines go: one JSON object per line, newline included. Default: stdout. */
export type LogSink = (line: string) => void;

/** Structured JSON logs. Callers pass fields, never headers: a token must not reach a log. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const stdout: LogSink = (line) => {
  process.stdout.write(line);
};

export function createLogger(sink: LogSink = stdout): Logger {
  const write = (level: string, msg: string, fields: Record<string, unknown> = {}) => {
    sink(
      `${JSON.stringify({ time: new Date().toISOString(), level, service: 'helpdesk', msg, ...fields })}\n`,
    );
  };
  return {
    info: (msg, fields) => {
      write('info', msg, fields);
    },
    error: (msg, fields) => {
      write('error', msg, fields);
    },
  };
}
