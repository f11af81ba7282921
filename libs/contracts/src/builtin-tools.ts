/**
 * The tools every Warden deployment has without a registry: the tool executor runs them itself,
 * with no upstream and no credentials. Tests, the bench and the demo use them; the tool registry
 * adds real tools beside them.
 *
 * All four are read-only: running one twice has no effect a caller could see, so the executor
 * may re-run one whose first attempt was interrupted (DESIGN §5).
 */
export const BUILTIN_TOOLS = {
  /** Returns its args as its output. */
  echo: { kind: 'read', description: 'returns its arguments as its output' },
  /** Waits `ms` milliseconds (at most 60 000), then returns `{ slept_ms }`. */
  sleep: { kind: 'read', description: 'waits args.ms milliseconds (at most 60000)' },
  /** Always fails, with `args.message` if given: exercises the failure path. */
  fail: { kind: 'read', description: 'always fails (with args.message)' },
  /** Does nothing and returns `{}`: the bench's tool, so it measures Warden and not the tool. */
  noop: { kind: 'read', description: 'does nothing' },
} as const satisfies Record<string, { kind: 'read' | 'write'; description: string }>;

/** The name of a built-in tool. */
export type BuiltinTool = keyof typeof BUILTIN_TOOLS;

/** Whether `tool` names a built-in tool. */
export function isBuiltinTool(tool: string): tool is BuiltinTool {
  return Object.hasOwn(BUILTIN_TOOLS, tool);
}
