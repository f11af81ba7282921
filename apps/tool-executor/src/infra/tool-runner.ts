import type { ToolArgs, ToolResult, ToolSpec } from '../domain/tools.js';

/** Nest token of the {@link ToolRunner}. */
export const TOOL_RUNNER = Symbol('tool-executor.tool-runner');

/** What a runner gets besides the args. */
export interface RunOptions {
  /** Aborted when the attempt's timeout passes: stop waiting, cancel the request. */
  readonly signal: AbortSignal;
  /** The intent id: sent upstream so a retried request is applied at most once. */
  readonly idempotencyKey: string;
  /** The registered version policy decided against (absent: the latest). */
  readonly version?: number;
}

/**
 * The port through which tools run. One adapter per kind of tool: the built-ins
 * (`builtin-tools.runner.ts`), and later HTTP upstreams and NATS request/reply services, each a new
 * file, combined by a runner that asks each in turn which knows the tool.
 */
export interface ToolRunner {
  /**
   * The tool's traits, schema and time budget, or `undefined` if this runner cannot run it.
   * `version`: the registered version policy decided against (absent: the latest).
   */
  describe(tool: string, version?: number): Promise<ToolSpec | undefined>;
  /**
   * Runs a tool `describe` knows, with args its schema parsed. A failure of the tool is a
   * result (`ok: false`), not a throw; a throw means the runner itself broke.
   */
  run(tool: string, args: ToolArgs, options: RunOptions): Promise<ToolResult>;
}
