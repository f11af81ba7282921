import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  AuditSqlRequest,
  AuditTimelineRequest,
  AuditVerifyRequest,
  describeIssues,
  subjects,
  type ApiError,
} from '@warden/contracts';
import { EventStoreError, type EventStore } from '@warden/event-store';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { AuditVerifier } from '../infra/audit-verifier.js';

/** Core NATS caps a message at 1 MiB by default: stay under it with room for the envelope. */
const MAX_REPLY_BYTES = 900 * 1024;

/** All collectors of an env answer as one queue group, so each request is answered once. */
const QUEUE = 'trace-collector';

/**
 * Answers `warden.<env>.api.audit.*`: clients read the log through the collector because chDB
 * lets one process own the data directory.
 */
export class AuditApiHandler {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly store: EventStore,
    private readonly env: string,
    private readonly logger: Logger,
    private readonly verifier: AuditVerifier,
  ) {}

  start(): void {
    this.serve('timeline', AuditTimelineRequest, async (request) => ({
      events: await this.store.timeline(this.env, request.run_id, { limit: request.limit ?? 1000 }),
    }));
    this.serve('sql', AuditSqlRequest, async (request) => {
      const result = await this.store.readOnlyQuery(request.sql, request.params ?? {}, {
        maxRows: request.max_rows ?? 1000,
      });
      return fitReply(result.columns, result.rows);
    });
    // A chain that does not verify is an answer (ok: true, result.ok: false), not a refusal.
    this.serve('verify', AuditVerifyRequest, (request) => this.verifier.verify(request.since));
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((subscription) => subscription.drain()));
    this.subscriptions.length = 0;
  }

  private serve<S extends z.ZodType>(
    op: string,
    schema: S,
    answer: (request: z.infer<S>) => Promise<object>,
  ): void {
    const subscription = this.nc.subscribe(subjects.api(this.env, 'audit', op), { queue: QUEUE });
    this.subscriptions.push(subscription);
    void (async () => {
      for await (const message of subscription) {
        // Requests are answered one at a time per op: chDB runs one query at a time anyway.
        await this.respond(op, message, schema, answer);
      }
    })();
  }

  private async respond<S extends z.ZodType>(
    op: string,
    message: Msg,
    schema: S,
    answer: (request: z.infer<S>) => Promise<object>,
  ): Promise<void> {
    let reply: object;
    try {
      const parsed = schema.safeParse(message.json());
      reply = parsed.success
        ? { ok: true, result: await answer(parsed.data) }
        : failure({ code: 'invalid_request', message: describeIssues(parsed.error) });
    } catch (error) {
      reply = failure(toApiError(error));
      this.logger.info({ op, err: error }, 'audit request refused');
    }
    let text = JSON.stringify(reply);
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_REPLY_BYTES) {
      text = JSON.stringify(
        failure({
          code: 'reply_too_large',
          message: `the answer is ${bytes} bytes, over the ${MAX_REPLY_BYTES} one reply may carry: ask for fewer rows (limit)`,
        }),
      );
    }
    try {
      message.respond(text);
    } catch (error) {
      // A reply that cannot be sent must not end this op's subscription: the next request is
      // answered all the same.
      this.logger.warn({ op, err: error }, 'audit reply not sent');
    }
  }
}

function failure(error: ApiError): object {
  return { ok: false, error };
}

function toApiError(error: unknown): ApiError {
  if (error instanceof EventStoreError) {
    return {
      code: error.code === 'not_read_only' ? 'not_read_only' : 'query_failed',
      message: error.message,
    };
  }
  if (error instanceof SyntaxError)
    return { code: 'invalid_request', message: 'the request body is not JSON' };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}

/** Drops trailing rows until the reply fits in one NATS message, and says so. */
function fitReply(
  columns: readonly { name: string; type: string }[],
  rows: readonly Record<string, unknown>[],
) {
  let kept = [...rows];
  let truncated = false;
  while (kept.length > 0 && Buffer.byteLength(JSON.stringify(kept)) > MAX_REPLY_BYTES) {
    kept = kept.slice(0, Math.floor(kept.length / 2));
    truncated = true;
  }
  return { columns, rows: kept, truncated };
}
