/**
 * The reason codes the executor puts on `intent.resolved` (and in its execution records). Events
 * carry the same strings, so a dashboard or an agent can switch on them.
 */
export const ExecutorReason = {
  /** No runner knows the tool (policy normally denies it first). */
  unknownTool: 'unknown_tool',
  /** The args fail the tool's schema; `details` lists each problem. */
  invalidArgs: 'invalid_args',
  /** The tool ran and reported a failure (the `fail` built-in, an upstream's error answer). */
  toolFailed: 'tool_failed',
  /** The attempt did not finish within the tool's timeout. */
  timeout: 'timeout',
  /** The runner threw instead of reporting a result (a bug, a dropped connection). */
  toolError: 'tool_error',
  /** The output could not be recorded (not JSON-serialisable). */
  invalidOutput: 'invalid_output',
  /** An attempt was cut short and the tool may not be run again: a human must check (DESIGN §5). */
  interrupted: 'interrupted',
  /** A read-only tool was started this many times and never finished. */
  attemptsExhausted: 'attempts_exhausted',
} as const;

/** One of {@link ExecutorReason}. */
export type ExecutorReason = (typeof ExecutorReason)[keyof typeof ExecutorReason];
