import { BUILTIN_TOOLS, type BuiltinTool } from '@warden/contracts';
import { z } from 'zod';
import type { ToolArgs, ToolSpec } from './tools.js';

/** The longest `sleep` (contracts: `BUILTIN_TOOLS.sleep`). */
export const MAX_SLEEP_MS = 60_000;

/**
 * Time budget of the built-ins that answer at once. Their lease is this plus the grace, which
 * bounds how long a copy of an intent waits for a replica that died mid-call.
 */
export const INSTANT_TOOL_TIMEOUT_MS = 1_000;

/** Argument schemas of the built-in tools; unknown fields are rejected where args mean something. */
export const BUILTIN_ARGS = {
  /** Anything: echo returns it. */
  echo: z.record(z.string(), z.unknown()),
  sleep: z.strictObject({ ms: z.number().int().min(0).max(MAX_SLEEP_MS) }),
  fail: z.strictObject({ message: z.string().max(2048).optional() }),
  noop: z.strictObject({}),
} as const satisfies Record<BuiltinTool, z.ZodType<ToolArgs>>;

/** The parsed args of built-in `T`. */
export type BuiltinArgs<T extends BuiltinTool> = z.output<(typeof BUILTIN_ARGS)[T]>;

/** A `ToolSpec.validate` from a zod schema: its issues become the violations, by path. */
export function validateWith(schema: z.ZodType<ToolArgs>): ToolSpec['validate'] {
  return (args) => {
    const parsed = schema.safeParse(args);
    return parsed.success
      ? { ok: true, args: parsed.data }
      : {
          ok: false,
          violations: parsed.error.issues.map((issue) => ({
            path: issue.path.map(String).join('.'),
            message: issue.message,
          })),
        };
  };
}

function builtin<T extends BuiltinTool>(
  tool: T,
  timeoutMs: (args: BuiltinArgs<T>) => number,
): ToolSpec {
  return {
    // All four are read-only (contracts): re-running one after an interruption is safe.
    traits: { kind: BUILTIN_TOOLS[tool].kind, honoursIdempotencyKey: false },
    validate: validateWith(BUILTIN_ARGS[tool]),
    // Only called with args this schema parsed (see `admit`).
    timeoutMs: (args) => timeoutMs(args as BuiltinArgs<T>),
  };
}

/** How the executor sees each built-in: read-only, its schema, its time budget. */
export const BUILTIN_SPECS: Readonly<Record<BuiltinTool, ToolSpec>> = {
  echo: builtin('echo', () => INSTANT_TOOL_TIMEOUT_MS),
  sleep: builtin('sleep', (args) => args.ms + INSTANT_TOOL_TIMEOUT_MS),
  fail: builtin('fail', () => INSTANT_TOOL_TIMEOUT_MS),
  noop: builtin('noop', () => INSTANT_TOOL_TIMEOUT_MS),
};

/** The message of the `fail` built-in when its args give none. */
export const DEFAULT_FAIL_MESSAGE = 'the fail tool always fails';
