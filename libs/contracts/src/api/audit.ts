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
