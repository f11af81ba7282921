import { digestArgs } from '@warden/contracts';

/**
 * Loop breaking (issue 6 §4). Two rules, each a bound on "the run is spinning":
 *
 * - `repeated_call`: the same tool with the same args digest more than `maxIdenticalCalls` times
 *   in one run. With the default 3, calls 1–3 pass and **the fourth identical call halts the
 *   run** (the must-hold line); that fourth call is denied, not counted.
 * - `no_write_progress`: more than `maxStepsWithoutWrite` steps since the latest write that
 *   succeeded (or since the run began). With M = 20, the 21st such step halts the run.
 *
 * Once halted, a run stays halted: every later intent gets the same `loop` answer.
 */
export interface LoopLimits {
  /** Identical calls (same tool, same args digest) allowed per run; the next one halts. `Infinity`: off. */
  readonly maxIdenticalCalls: number;
  /** Steps allowed since the latest successful write; the next one halts. `Infinity`: off. */
  readonly maxStepsWithoutWrite: number;
  /**
   * Distinct digests remembered per run (least recently used evicted). A loop cycling through
   * more distinct calls than this escapes `repeated_call`, and is left to `no_write_progress`.
   */
  readonly trackedDigests: number;
  /**
   * Counted intents remembered per run, for idempotency and to place a successful write in the
   * run. At least `maxStepsWithoutWrite + 1` is always kept (see {@link recordWriteSucceeded}).
   */
  readonly rememberedIntents: number;
}

/** The defaults: the N = 3; M, K and R sized so the state stays a few KB. */
export const DEFAULT_LOOP_LIMITS: LoopLimits = {
  maxIdenticalCalls: 3,
  maxStepsWithoutWrite: 25,
  trackedDigests: 32,
  rememberedIntents: 64,
};

/** Which loop rule fired. */
export type LoopRule = 'repeated_call' | 'no_write_progress';

/** Why and where a run was halted; kept in the state so every later answer is the same. */
export interface LoopHalt {
  readonly rule: LoopRule;
  /** The intent that tripped the rule (denied, not counted as a step). */
  readonly intent_id: string;
  readonly tool: string;
  readonly digest: string;
  /** For `repeated_call`: identical calls including the one that halted; otherwise the steps without a write, likewise. */
  readonly count: number;
  /** The limit that was exceeded. */
  readonly limit: number;
}

/** One digest's identical calls so far (never above `maxIdenticalCalls`: the next one halts). */
export interface DigestCount {
  readonly digest: string;
  readonly count: number;
}

/** One counted intent and the answer it was given (repeated as is on redelivery). */
export interface CountedIntent {
  readonly intent_id: string;
  /** Its run-local step number. */
  readonly step: number;
  readonly identical_calls: number;
  readonly steps_without_write: number;
}

/**
 * A run's loop-detection state (one KV value per run, updated by compare-and-set). Bounded:
 * `calls` ≤ `trackedDigests` entries, each count ≤ `maxIdenticalCalls`; `recent` ≤
 * `max(rememberedIntents, maxStepsWithoutWrite + 1)` entries; two integers; one halt.
 */
export interface LoopState {
  /** Intents counted so far (monotone): the step number of the next one is `steps + 1`. */
  readonly steps: number;
  /** Step number of the latest successful write (0: none yet). Only grows. */
  readonly last_write_step: number;
  /** Identical-call counts of the last distinct digests, least recently used first. */
  readonly calls: readonly DigestCount[];
  /** The last counted intents, oldest first. */
  readonly recent: readonly CountedIntent[];
  readonly halted?: LoopHalt;
}

/** An intent as the loop detector sees it. */
export interface LoopCall {
  readonly intentId: string;
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** The loop detector's answer for one intent. */
export type LoopVerdict =
  | {
      readonly kind: 'continue';
      /** The intent's run-local step number. */
      readonly step: number;
      /** Identical calls so far, this one included. */
      readonly identicalCalls: number;
      /** Steps since the latest successful write, this one included. */
      readonly stepsWithoutWrite: number;
    }
  | {
      readonly kind: 'loop';
      readonly halt: LoopHalt;
      /** True for the intent that tripped the rule: publish `run.halted` for this one. */
      readonly halting: boolean;
    };

/** A new state, or `undefined` when nothing changes, and the answer. */
export interface LoopDecision {
  readonly next: LoopState | undefined;
  readonly verdict: LoopVerdict;
}

/** The state of a run seen for the first time. */
export function newLoopState(): LoopState {
  return { steps: 0, last_write_step: 0, calls: [], recent: [] };
}

/**
 * Counts `call` as a step of the run, or halts the run when it trips a loop rule.
 *
 * Idempotent: an intent already counted gets its earlier `continue` answer (even once the run
 * has halted since) and nothing is written; the intent that halted the run gets `loop` with
 * `halting: true` again. Intents after the halt get `loop` with `halting: false`, and nothing is
 * written for them.
 *
 * The redelivery check looks at the last `rememberedIntents` counted intents: a redelivery comes
 * within the consumer's AckWait, long before that many later steps of the same run.
 */
export function countCall(state: LoopState, call: LoopCall, limits: LoopLimits): LoopDecision {
  // A counted intent first: its answer was `continue` and stays so, even after a later halt, so a
  // redelivery never publishes a denial beside the reservation already published for it.
  const seen = state.recent.find((entry) => entry.intent_id === call.intentId);
  if (seen !== undefined) {
    return {
      next: undefined,
      verdict: {
        kind: 'continue',
        step: seen.step,
        identicalCalls: seen.identical_calls,
        stepsWithoutWrite: seen.steps_without_write,
      },
    };
  }
  const { halted } = state;
  if (halted !== undefined) {
    return {
      next: undefined,
      verdict: { kind: 'loop', halt: halted, halting: halted.intent_id === call.intentId },
    };
  }

  const digest = digestArgs(call.tool, call.args);
  const identicalCalls = (state.calls.find((entry) => entry.digest === digest)?.count ?? 0) + 1;
  const step = state.steps + 1;
  const stepsWithoutWrite = step - state.last_write_step;
  const halt = (rule: LoopRule, count: number, limit: number): LoopDecision => {
    const record: LoopHalt = {
      rule,
      intent_id: call.intentId,
      tool: call.tool,
      digest,
      count,
      limit,
    };
    return {
      next: { ...state, halted: record },
      verdict: { kind: 'loop', halt: record, halting: true },
    };
  };
  // `repeated_call` first: when both fire, the more specific reason is the more useful one.
  if (identicalCalls > limits.maxIdenticalCalls) {
    return halt('repeated_call', identicalCalls, limits.maxIdenticalCalls);
  }
  if (stepsWithoutWrite > limits.maxStepsWithoutWrite) {
    return halt('no_write_progress', stepsWithoutWrite, limits.maxStepsWithoutWrite);
  }

  // Move the digest to the most recently used end; evict from the other end past the bound.
  const calls = [
    ...state.calls.filter((entry) => entry.digest !== digest),
    { digest, count: identicalCalls },
  ].slice(-Math.max(1, limits.trackedDigests));
  const counted: CountedIntent = {
    intent_id: call.intentId,
    step,
    identical_calls: identicalCalls,
    steps_without_write: stepsWithoutWrite,
  };
  const recent = [...state.recent, counted].slice(-rememberedIntents(limits));
  return {
    next: { ...state, steps: step, calls, recent },
    verdict: { kind: 'continue', step, identicalCalls, stepsWithoutWrite },
  };
}

/**
 * Records that the write intent `intentId` succeeded (its `intent.resolved{executed}` for a tool
 * whose risk has `write`). Steps are then measured from that write's own step, not from when the
 * news arrived: steps counted while the write was in flight still count as "after" it only if
 * they came after it in the run. Taking the maximum makes a redelivery, or writes reported out
 * of order, change nothing.
 *
 * Returns `undefined` (nothing to write) when the intent is not among the remembered ones: it
 * was then counted more than `maxStepsWithoutWrite` steps ago, so the run has had more steps
 * since it than the rule allows and the halt, which is final, has already happened. Also
 * `undefined` once halted: a late success does not un-halt a run.
 */
export function recordWriteSucceeded(state: LoopState, intentId: string): LoopState | undefined {
  if (state.halted !== undefined) return undefined;
  const counted = state.recent.find((entry) => entry.intent_id === intentId);
  if (counted === undefined || counted.step <= state.last_write_step) return undefined;
  return { ...state, last_write_step: counted.step };
}

/** How many counted intents are kept: enough to place any write that can still matter. */
function rememberedIntents(limits: LoopLimits): number {
  // An infinite limit turns the rule off; it then needs no memory of past steps.
  if (!Number.isFinite(limits.maxStepsWithoutWrite)) return limits.rememberedIntents;
  return Math.max(limits.rememberedIntents, limits.maxStepsWithoutWrite + 1);
}
