import {
  formatMicros,
  ReasonCode,
  SealedOutput,
  SubjectToken,
  Timestamp,
  ToolName,
  Ulid,
} from '@warden/contracts';
import { z } from 'zod';

/** How an execution ended: what `intent.resolved` says, minus the fields every resolution shares. */
export const ExecutionOutcome = z.object({
  status: z.enum(['executed', 'failed', 'in_doubt']),
  /** The tool's output, capped (see `capOutput`). */
  output: z.unknown().optional(),
  /** The full output sealed with the run's key, when the tool declares `seal_output`. */
  sealed_output: SealedOutput.optional(),
  duration_ms: z.number().nonnegative().optional(),
  /** The upstream's own status (HTTP), when it answered. */
  upstream_status: z.number().int().optional(),
  reason: ReasonCode.optional(),
  message: z.string().max(2048).optional(),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ExecutionOutcome = z.infer<typeof ExecutionOutcome>;

// Not strict: a newer replica may add fields during a rolling upgrade, and an older one reading
// the record must still be able to act on what it knows.
const recordFields = {
  intent_id: Ulid,
  tool: ToolName,
  /** sha256 of the canonical JSON of `{ tool, args }`: the same intent id with other args is refused. */
  args_digest: z.string().min(1),
  /**
   * The `budget.reserved` event that claimed the intent. Every output of the execution derives
   * its id from it, so a copy of that event (another id, same intent) republishes the same ids.
   */
  cause_event_id: Ulid,
  /** 1 for the first run, +1 per re-execution; 0 when the tool never started (rejected args). */
  attempt: z.number().int().nonnegative(),
  /** The executor instance that wrote the record last. */
  owner: z.string().min(1),
  /**
   * Whose intent it was, from the envelope: a review of it (`execution.reviewed`) is logged in
   * the same run. Optional: records written before they were kept have none.
   */
  run_id: SubjectToken.optional(),
  agent_id: SubjectToken.optional(),
  workflow: SubjectToken.optional(),
};

/** `started`: an attempt is (or was, if its executor died) running. */
export const StartedRecord = z.object({
  state: z.literal('started'),
  ...recordFields,
  started_at: Timestamp,
  /** Until then the attempt belongs to `owner`: nobody else runs it (its timeout plus a grace). */
  lease_until: Timestamp,
});
export type StartedRecord = z.infer<typeof StartedRecord>;

/** `done`: the intent is resolved; its resolution is republished, never recomputed. */
export const DoneRecord = z.object({
  state: z.literal('done'),
  ...recordFields,
  started_at: Timestamp.optional(),
  /** The `occurred_at` of the `intent.resolved`, so a republished one is the same event. */
  resolved_at: Timestamp,
  outcome: ExecutionOutcome,
  /** sha256 of the tool's full output JSON (before any cap), when it returned one. */
  result_digest: z.string().optional(),
  /** For an `in_doubt` outcome: what the person who checked the upstream found. */
  review: z
    .object({
      verdict: z.enum(['applied', 'not_applied']),
      by: z.string(),
      at: Timestamp,
      note: z.string(),
    })
    .optional(),
});
export type DoneRecord = z.infer<typeof DoneRecord>;

/** `executions/<intent_id>` (DESIGN §5): written before the side effect and after it. */
export const ExecutionRecord = z.discriminatedUnion('state', [StartedRecord, DoneRecord]);
export type ExecutionRecord = z.infer<typeof ExecutionRecord>;

/** An epoch-milliseconds instant as a record (and event) timestamp. */
export function timestampOf(epochMs: number): string {
  return formatMicros(Math.round(epochMs * 1000));
}

/** What every record of one intent shares. */
export interface RecordIdentity {
  intentId: string;
  tool: string;
  argsDigest: string;
  causeEventId: string;
  owner: string;
  runId?: string | undefined;
  agentId?: string | undefined;
  workflow?: string | undefined;
}

/** The record fields every record of one intent shares. */
function identityFields(identity: RecordIdentity) {
  return {
    intent_id: identity.intentId,
    tool: identity.tool,
    args_digest: identity.argsDigest,
    cause_event_id: identity.causeEventId,
    owner: identity.owner,
    ...(identity.runId === undefined ? {} : { run_id: identity.runId }),
    ...(identity.agentId === undefined ? {} : { agent_id: identity.agentId }),
    ...(identity.workflow === undefined ? {} : { workflow: identity.workflow }),
  };
}

/** The record written (with create) before the first attempt. */
export function startedRecord(
  identity: RecordIdentity,
  at: { now: number; leaseMs: number },
): StartedRecord {
  return {
    state: 'started',
    ...identityFields(identity),
    attempt: 1,
    started_at: timestampOf(at.now),
    lease_until: timestampOf(at.now + at.leaseMs),
  };
}

/** The record of a re-execution: the next attempt, a fresh lease, the new owner. */
export function restartedRecord(
  previous: StartedRecord,
  at: { now: number; leaseMs: number; owner: string },
): StartedRecord {
  return {
    ...previous,
    attempt: previous.attempt + 1,
    owner: at.owner,
    started_at: timestampOf(at.now),
    lease_until: timestampOf(at.now + at.leaseMs),
  };
}

/** The record of an intent resolved without running its tool (unknown tool, invalid args). */
export function rejectedRecord(
  identity: RecordIdentity,
  outcome: ExecutionOutcome,
  resolvedAt: string,
): DoneRecord {
  return {
    state: 'done',
    ...identityFields(identity),
    attempt: 0,
    resolved_at: resolvedAt,
    outcome,
  };
}

/** A started record, finished with `outcome`. */
export function finishedRecord(
  started: StartedRecord,
  finish: { outcome: ExecutionOutcome; resultDigest?: string; resolvedAt: string; owner: string },
): DoneRecord {
  const { lease_until: _lease, ...rest } = started;
  return {
    ...rest,
    state: 'done',
    owner: finish.owner,
    resolved_at: finish.resolvedAt,
    outcome: finish.outcome,
    ...(finish.resultDigest === undefined ? {} : { result_digest: finish.resultDigest }),
  };
}

/** Milliseconds left on a started record's lease (0 or less: expired). */
export function leaseRemainingMs(record: StartedRecord, now: number): number {
  return Date.parse(record.lease_until) - now;
}

export { digestArgs } from '@warden/contracts';
