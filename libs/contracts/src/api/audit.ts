import { z } from 'zod';
import { SubjectToken } from '../ids.js';
import { apiReply } from './reply.js';

/** `warden.<env>.api.audit.timeline`: one run's events in order. */
export const AuditTimelineRequest = z.strictObject({
  run_id: SubjectToken,
  limit: z.number().int().positive().max(10_000).optional(),
});
export type AuditTimelineRequest = z.infer<typeof AuditTimelineRequest>;

/** One stored event as the audit API returns it (the `events` row, data as redacted JSON text). */
export const AuditEventRow = z.record(z.string(), z.unknown());

/** What `audit.timeline` answers with. */
export const AuditTimelineResult = z.strictObject({ events: z.array(AuditEventRow) });
export const AuditTimelineReply = apiReply(AuditTimelineResult);
export type AuditTimelineReply = z.infer<typeof AuditTimelineReply>;

/** `warden.<env>.api.audit.sql`: one read-only statement with bound parameters. */
export const AuditSqlRequest = z.strictObject({
  sql: z.string().min(1).max(65_536),
  params: z.record(z.string(), z.unknown()).optional(),
  max_rows: z.number().int().positive().max(100_000).optional(),
});
export type AuditSqlRequest = z.infer<typeof AuditSqlRequest>;

/** What `audit.sql` answers with. */
export const AuditSqlResult = z.strictObject({
  columns: z.array(z.strictObject({ name: z.string(), type: z.string() })),
  rows: z.array(z.record(z.string(), z.unknown())),
  /** Whether rows were cut to fit `max_rows` or the reply size limit. */
  truncated: z.boolean(),
});
export const AuditSqlReply = apiReply(AuditSqlResult);
export type AuditSqlReply = z.infer<typeof AuditSqlReply>;

/**
 * `warden.<env>.api.audit.verify`: check the log's tamper evidence (the `checkpoints` chain the
 * trace collector writes) from the start, or from the checkpoints created at or after `since`.
 */
export const AuditVerifyRequest = z.strictObject({
  /** RFC 3339 (e.g. `2026-11-01T00:00:00Z`); the whole chain when left out. */
  since: z.iso.datetime({ offset: true, local: false }).optional(),
});
export type AuditVerifyRequest = z.infer<typeof AuditVerifyRequest>;

/** Why verification failed. */
export const VerifyFailureKind = {
  /** A stored row's digest differs from its checkpoint's: a column was edited (or a copy added). */
  RowChanged: 'row_changed',
  /** A row a checkpoint covers is no longer stored (and is not past the log's retention). */
  RowMissing: 'row_missing',
  /** A stored row that no checkpoint covers (inserted around the collector). */
  RowUncovered: 'row_uncovered',
  /** A checkpoint's fields no longer match its digest. */
  CheckpointAltered: 'checkpoint_altered',
  /** A checkpoint's signature does not verify, or its key was never published. */
  SignatureBad: 'signature_bad',
  /** A checkpoint does not follow the one before it (missing, repeated or re-linked). */
  ChainBroken: 'chain_broken',
} as const;
export type VerifyFailureKind = (typeof VerifyFailureKind)[keyof typeof VerifyFailureKind];

/** An event named by a verification failure. */
export const VerifiedEventRef = z.strictObject({
  event_id: z.string(),
  type: z.string(),
  run_id: z.string(),
  /** RFC 3339 with microseconds. */
  occurred_at: z.string(),
});
export type VerifiedEventRef = z.infer<typeof VerifiedEventRef>;

/** The first thing that did not verify. */
export const VerifyFailure = z.strictObject({
  kind: z.enum(VerifyFailureKind),
  /** One sentence: what differs. */
  message: z.string(),
  /** The checkpoint involved (the one covering the row, for row failures). */
  checkpoint_seq: z.number().int().optional(),
  /** The row involved, for row failures. */
  event: VerifiedEventRef.optional(),
});
export type VerifyFailure = z.infer<typeof VerifyFailure>;

/** What `audit.verify` answers with: a failed verification is an answer, not an API error. */
export const AuditVerifyResult = z.strictObject({
  ok: z.boolean(),
  /** Checkpoints whose digest, signature, link and rows all verified. */
  checkpoints: z.number().int(),
  /** Event ids those checkpoints cover whose rows verified. */
  events: z.number().int(),
  /** Covered rows no longer stored because they are past the log's retention (not a failure). */
  expired: z.number().int(),
  /** The first and last checkpoint verified; the first links to one not checked (before `since`). */
  first_seq: z.number().int().optional(),
  last_seq: z.number().int().optional(),
  /** The window checked: checkpoints from `since`, rows stored up to `until` (RFC 3339). */
  since: z.string().optional(),
  until: z.string(),
  failure: VerifyFailure.optional(),
});
export type AuditVerifyResult = z.infer<typeof AuditVerifyResult>;
export const AuditVerifyReply = apiReply(AuditVerifyResult);
export type AuditVerifyReply = z.infer<typeof AuditVerifyReply>;
