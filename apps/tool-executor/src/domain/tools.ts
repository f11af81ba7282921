import type { ExecutionOutcome } from './execution-record.js';
import { ExecutorReason } from './reasons.js';

/** A tool's arguments as they arrive in `budget.reserved`. */
export type ToolArgs = Record<string, unknown>;

/** What the executor must know about a tool to decide whether running it again is safe. */
export interface ToolTraits {
  /** `read`: running it twice has no effect anyone could see. */
  readonly kind: 'read' | 'write';
  /** The upstream applies a request carrying an idempotency key (the intent id) at most once. */
  readonly honoursIdempotencyKey: boolean;
}

/** Args checked against a tool's schema: the (possibly normalised) args, or every problem. */
export type ArgsCheck =
  | { readonly ok: true; readonly args: ToolArgs }
  | { readonly ok: false; readonly violations: readonly { path: string; message: string }[] };

/** A tool as a runner describes it: traits, argument schema and time budget. */
export interface ToolSpec {
  readonly traits: ToolTraits;
  /** Checks args against the tool's schema (unknown fields rejected). Never throws. */
  validate(args: ToolArgs): ArgsCheck;
  /** How long one attempt with these (valid) args may take before it counts as timed out. */
  timeoutMs(args: ToolArgs): number;
  /** Keep the raw output sealed with the run's key beside the published one (`seal_output`). */
  readonly sealOutput?: boolean;
}

/**
 * What running a tool gave. A failure says whether its side effect may have happened anyway
 * (`maybeApplied`): a write that timed out might have landed upstream, a validation error did not.
 */
export type ToolResult = (
  | { readonly ok: true; readonly output: unknown }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly message: string;
      readonly maybeApplied: boolean;
    }
) & {
  /** The upstream's own status (HTTP), when one answered: `intent.resolved{upstream_status}`. */
  readonly upstreamStatus?: number;
};

/**
 * Whether an attempt that was cut short (its executor died, its lease ran out) may simply be run
 * again (DESIGN §5): only when doing so cannot apply the side effect twice.
 */
export function mayRunAgain(traits: ToolTraits): boolean {
  return traits.kind === 'read' || traits.honoursIdempotencyKey;
}

/**
 * The result of an attempt that ended without an answer from the tool (timeout, a throw): for a
 * tool that writes, nobody knows whether the write happened.
 */
export function unansweredResult(
  traits: ToolTraits,
  reason: typeof ExecutorReason.timeout | typeof ExecutorReason.toolError,
  message: string,
): ToolResult {
  return { ok: false, reason, message, maybeApplied: traits.kind === 'write' };
}

/** Whether (and how) an intent's tool may run: its args parsed and its time budget, or why not. */
export type Admission =
  | {
      readonly admitted: true;
      readonly traits: ToolTraits;
      readonly args: ToolArgs;
      readonly timeoutMs: number;
      readonly sealOutput: boolean;
    }
  | {
      readonly admitted: false;
      readonly traits: ToolTraits | undefined;
      readonly outcome: ExecutionOutcome;
    };

/** At most this many argument problems are reported: enough to fix them, small in an event. */
const MAX_DETAILS = 20;

/**
 * Re-validates the args against the tool's schema before anything runs (DESIGN §2 step 5): an
 * unknown tool or invalid args resolve the intent `failed` without starting the tool. The timeout
 * is the tool's own, capped by `maxTimeoutMs`.
 */
export function admit(
  tool: string,
  args: ToolArgs,
  spec: ToolSpec | undefined,
  maxTimeoutMs: number,
): Admission {
  if (spec === undefined) {
    return {
      admitted: false,
      traits: undefined,
      outcome: {
        status: 'failed',
        reason: ExecutorReason.unknownTool,
        message: `no tool named ${tool} is known to this executor`,
      },
    };
  }
  const parsed = spec.validate(args);
  if (!parsed.ok) {
    const details = parsed.violations.slice(0, MAX_DETAILS).map((violation) => ({
      path: violation.path === '' ? 'args' : `args.${violation.path}`,
      message: violation.message.slice(0, 512),
    }));
    const summary = details.map((detail) => `${detail.path}: ${detail.message}`).join('; ');
    return {
      admitted: false,
      traits: spec.traits,
      outcome: {
        status: 'failed',
        reason: ExecutorReason.invalidArgs,
        message: `invalid args for ${tool}: ${summary}`.slice(0, 2048),
        details,
      },
    };
  }
  return {
    admitted: true,
    traits: spec.traits,
    args: parsed.args,
    timeoutMs: Math.min(spec.timeoutMs(parsed.args), maxTimeoutMs),
    sealOutput: spec.sealOutput === true,
  };
}
