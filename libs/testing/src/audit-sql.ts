import type { NatsConnection } from '@nats-io/transport-node';
import { AuditSqlReply, subjects } from '@warden/contracts';

/** Runs one read through the trace collector's audit API, as `warden audit sql` does; throws on an error reply. */
export async function auditSql(
  nc: NatsConnection,
  env: string,
  sql: string,
  params: Record<string, unknown> = {},
): Promise<Record<string, unknown>[]> {
  const message = await nc.request(
    subjects.api(env, 'audit', 'sql'),
    JSON.stringify({ sql, params }),
    { timeout: 30_000 },
  );
  const reply = AuditSqlReply.parse(message.json());
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result.rows;
}
