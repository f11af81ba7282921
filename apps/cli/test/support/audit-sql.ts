import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { AuditSqlRequest, subjects } from '@warden/contracts';
import type { EventStore } from '@warden/event-store';

/**
 * Answers `audit.sql` of `env` from `store` as the trace collector does (AuditApiHandler:
 * readOnlyQuery), so the CLI's reports run against a real chDB without a collector process.
 * Unsubscribe the returned subscription to stop.
 */
export function answerAuditSql(nc: NatsConnection, env: string, store: EventStore): Subscription {
  const subscription = nc.subscribe(subjects.api(env, 'audit', 'sql'));
  void (async () => {
    for await (const message of subscription) {
      try {
        const request = AuditSqlRequest.parse(message.json());
        const result = await store.readOnlyQuery(request.sql, request.params ?? {}, {
          maxRows: request.max_rows ?? 1000,
        });
        message.respond(JSON.stringify({ ok: true, result }));
      } catch (error) {
        message.respond(
          JSON.stringify({
            ok: false,
            error: { code: 'query_failed', message: (error as Error).message },
          }),
        );
      }
    }
  })();
  return subscription;
}
