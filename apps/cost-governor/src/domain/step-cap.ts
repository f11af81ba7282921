import type { LoopState } from './guards/index.js';
import type { RoutedCall } from './model-call.js';
import type { BudgetAccount } from './ledger/index.js';

/**
 * A run as the governor keeps it (KV `runs/<run_id>`). Steps only grow and the cap only
 * tightens, so every answer below is stable: the same intent asked about again (a redelivery, a
 * second replica) gets the same answer and is never counted twice.
 */
export interface RunRecord {
  readonly max_steps: number;
  /** Ids of the intents counted as steps, in the order they were counted. */
  readonly counted: readonly string[];
  readonly agent_id?: string;
  readonly workflow?: string;
  /** When `run.started` was seen; absent while only intents have arrived. */
  readonly started_at?: string;
  /**
   * The run's money account (run-budget.ts), kept in the same record as its steps so that one
   * compare-and-set decides both: one intent, one answer, across replicas.
   */
  readonly budget?: BudgetAccount;
  /** Loop breaking (guards/loop-detector.ts): the run's calls, and its halt once it loops. */
  readonly loop?: LoopState;
  /** Counted intents of write tools not settled yet: a success among them is write progress. */
  readonly writes?: readonly string[];
  /** Model calls routed and not yet settled by their usage (model-call.ts), by intent id. */
  readonly models?: Readonly<Record<string, RoutedCall>>;
  /**
   * The pause or open breaker (its event id) that last halted the run, per reason: the run is
   * announced halted (`run.halted`) once per pause, not once per refused intent.
   */
  readonly halts?: Readonly<Partial<Record<'paused' | 'upstream_degraded', string>>>;
  /** When the run's wall-clock time runs out (epoch ms), when it has a limit. */
  readonly deadline?: number;
}

/** The governor's answer for one allowed intent. */
export type StepVerdict =
  | { readonly kind: 'reserved'; readonly runSteps: number; readonly maxSteps: number }
  | { readonly kind: 'step_cap'; readonly maxSteps: number };

/** A new record, or `undefined` when nothing changes, and the answer. */
export interface StepDecision {
  readonly next: RunRecord | undefined;
  readonly verdict: StepVerdict;
}

/** A record for a run seen for the first time, with the configured cap. */
export function newRun(configuredMax: number): RunRecord {
  return { max_steps: configuredMax, counted: [] };
}

/**
 * Counts `intentId` as a step of the run if it fits under the cap. Already counted: the same
 * `reserved` answer, nothing written. Over the cap: `step_cap`, nothing written (steps never
 * shrink, so it stays over).
 */
export function reserveStep(record: RunRecord, intentId: string): StepDecision {
  const position = record.counted.indexOf(intentId);
  if (position >= 0) {
    return {
      next: undefined,
      verdict: { kind: 'reserved', runSteps: position + 1, maxSteps: record.max_steps },
    };
  }
  if (record.counted.length >= record.max_steps) {
    return { next: undefined, verdict: { kind: 'step_cap', maxSteps: record.max_steps } };
  }
  const counted = [...record.counted, intentId];
  return {
    next: { ...record, counted },
    verdict: { kind: 'reserved', runSteps: counted.length, maxSteps: record.max_steps },
  };
}

/** What `run.started` says about a run. */
export interface RunStart {
  readonly declaredMaxSteps?: number | undefined;
  readonly agentId?: string | undefined;
  readonly workflow?: string | undefined;
  readonly at: string;
}

/**
 * Applies `run.started`: the run's own limit can only tighten the cap, never loosen it. Steps
 * already counted (intents that raced ahead of `run.started`) stay counted. Returns `undefined`
 * when the record already reflects it.
 */
export function startRun(record: RunRecord, start: RunStart): RunRecord | undefined {
  if (record.started_at !== undefined) return undefined;
  const declared = start.declaredMaxSteps;
  return {
    ...record,
    max_steps: declared === undefined ? record.max_steps : Math.min(record.max_steps, declared),
    started_at: start.at,
    ...(start.agentId === undefined ? {} : { agent_id: start.agentId }),
    ...(start.workflow === undefined ? {} : { workflow: start.workflow }),
  };
}
