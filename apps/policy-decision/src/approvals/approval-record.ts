import {
  ApprovalView,
  SubjectToken,
  Ulid,
  type EnvelopeBase,
  type Producer,
  type Timestamp,
} from '@warden/contracts';
import { z } from 'zod';

/** An approval's lifecycle: `pending` until a human answers or it expires; the rest are final. */
export type ApprovalStatus = ApprovalView['status'];

/**
 * The `approval.requested` envelope's ids and context: what the answer events need as their
 * cause, so their ids derive from it and a republish is a JetStream duplicate.
 */
export const RequestRef = z.strictObject({
  event_id: Ulid,
  env: SubjectToken,
  /** The `intent.authenticated` event the request answered. */
  causation_id: Ulid,
  correlation_id: z.string().min(1).max(128),
  run_id: SubjectToken.optional(),
  intent_id: Ulid,
  agent_id: SubjectToken,
  workflow: SubjectToken.optional(),
});
export type RequestRef = z.infer<typeof RequestRef>;

/** KV `approvals/<approval_id>`: what humans see, plus what building its events later needs. */
export const ApprovalRecord = ApprovalView.extend({
  /** The registered tool version whose schema validated `args`, when known. */
  tool_version: z.number().int().positive().optional(),
  /** The tool's price of one call when requested: the grant carries it to the cost governor. */
  cost_micro_usd: z.number().int().nonnegative().optional(),
  request: RequestRef,
  /**
   * Whether the events of the final status are on the stream. False between the compare-and-set
   * that answered (or expired) the approval and the publish: the sweeper publishes them again.
   */
  published: z.boolean(),
});
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

/** The record as the API shows it (without the bookkeeping). */
export function viewOf(record: ApprovalRecord): ApprovalView {
  const {
    request: _request,
    published: _published,
    tool_version: _version,
    cost_micro_usd: _cost,
    ...view
  } = record;
  return view;
}

/**
 * The `approval.requested` envelope as a cause for `buildEvent`. `buildEvent` reads only a cause's
 * ids and context (event, run, intent, agent, workflow, correlation), so `occurred_at` (the
 * request time) and `producer` only fill the shape.
 */
export function requestCause(record: ApprovalRecord, producer: Producer): EnvelopeBase {
  const { request } = record;
  return {
    event_id: request.event_id,
    env: request.env,
    occurred_at: record.requested_at,
    producer,
    causation_id: request.causation_id,
    correlation_id: request.correlation_id,
    intent_id: request.intent_id,
    agent_id: request.agent_id,
    ...(request.run_id === undefined ? {} : { run_id: request.run_id }),
    ...(request.workflow === undefined ? {} : { workflow: request.workflow }),
  };
}

/** Parses a stored value; an unreadable one is reported, never taken for an approval. */
export function parseRecord(value: unknown): ApprovalRecord | { error: string } {
  const parsed = ApprovalRecord.safeParse(value);
  return parsed.success ? parsed.data : { error: z.prettifyError(parsed.error) };
}

/** Epoch milliseconds of an event timestamp (`2026-11-26T16:20:05.123456Z`). */
export function timestampMs(timestamp: z.infer<typeof Timestamp>): number {
  // Date.parse is only specified for milliseconds: drop the microseconds.
  return Date.parse(`${timestamp.slice(0, 23)}Z`);
}
