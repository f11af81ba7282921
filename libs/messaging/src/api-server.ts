import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';
import { describeIssues, subjects, type ApiError } from '@warden/contracts';
import type { MessagingLogger } from './logger.js';
import type { z } from 'zod';

/**
 * A refusal an API handler throws on purpose: its code and message go back to the caller as they
 * are. Anything else a handler throws is answered with code `internal` and a generic message,
 * so no stack, secret or internal detail leaks through a reply.
 */
export class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
  constructor(
    readonly code: string,
    message: string,
    /** Every individual problem, when there are several (each declaration or policy error). */
    readonly details?: NonNullable<ApiError['details']>,
  ) {
    super(message);
  }
}

/** What a handler gets besides the validated body. */
export interface ApiRequestContext {
  /** The request's headers, names as the caller wrote them (use {@link headerOf} to read one). */
  readonly headers: Readonly<Record<string, string>>;
  /** Where the answer goes: the caller's inbox (`_INBOX.…`, `_INBOX_bootstrap.…`, …). */
  readonly reply: string;
}

/** One op: its request schema and the handler that answers a valid request. */
export interface ApiOp<S extends z.ZodType> {
  readonly request: S;
  handle(request: z.output<S>, context: ApiRequestContext): Promise<unknown>;
}

/** The value of header `name`, matched ignoring case (NATS keeps the case a client wrote). */
export function headerOf(
  headers: Readonly<Record<string, string>>,
  name: string,
): string | undefined {
  const exact = headers[name];
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === lower) return value;
  }
  return undefined;
}

/**
 * Serves request/reply APIs on `warden.<env>.api.<service>.<op>` (DESIGN §4): every replica
 * subscribes in one queue group, so each request is answered once; each body is validated with
 * the op's zod schema, and every answer is `{ ok: true, result }` or `{ ok: false, error }`.
 * Requests of one op are answered concurrently; a handler that fails never stops the server.
 */
export class ApiServer {
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxInFlight: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: {
      env: string;
      service: string;
      logger: MessagingLogger;
      /**
       * Requests answered at once per op (default {@link DEFAULT_MAX_IN_FLIGHT}); beyond it a
       * request is refused with `busy` at once, so a flood of expensive requests (each token
       * refusal costs a scrypt) cannot queue without bound and starve everyone's refreshes.
       */
      maxInFlight?: number;
    },
  ) {
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  }

  /** Starts answering `op`. */
  serve<S extends z.ZodType>(op: string, definition: ApiOp<S>): void {
    const { env, service, logger } = this.options;
    const subscription = this.nc.subscribe(subjects.api(env, service, op), { queue: service });
    this.subscriptions.push(subscription);
    const answering = new Set<Promise<void>>();
    void (async () => {
      for await (const message of subscription) {
        if (answering.size >= this.maxInFlight) {
          refuseBusy(message, op, logger);
          continue;
        }
        const answer = this.answer(op, message, definition).catch((error: unknown) => {
          logger.error({ op, err: error }, 'api answer failed');
        });
        answering.add(answer);
        this.inFlight.add(answer);
        void answer.finally(() => {
          answering.delete(answer);
          this.inFlight.delete(answer);
        });
      }
    })().catch((error: unknown) => {
      // The subscription itself failed (a permission violation, the connection closed).
      logger.error({ op, err: error }, 'api subscription ended');
    });
  }

  /** Stops taking requests and waits for the ones being answered. */
  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((subscription) => subscription.drain()));
    this.subscriptions.length = 0;
    await Promise.allSettled([...this.inFlight]);
  }

  private async answer<S extends z.ZodType>(
    op: string,
    message: Msg,
    definition: ApiOp<S>,
  ): Promise<void> {
    // A reply goes only to an inbox: with `allow_responses` a service may publish to whatever
    // reply subject the caller set, so a caller could otherwise aim an answer at an event subject
    // (deploy/nats/README.md). Such a request is dropped unanswered: there is nowhere safe to say so.
    if (!message.reply || !isInbox(message.reply)) {
      this.options.logger.warn(
        { op, reply: message.reply ?? null },
        'api request without an inbox reply subject dropped',
      );
      return;
    }
    let reply: { ok: true; result: unknown } | { ok: false; error: ApiError };
    try {
      const parsed = definition.request.safeParse(parseBody(message));
      if (!parsed.success) throw new ApiFailure('invalid_request', describeIssues(parsed.error));
      const result = await definition.handle(parsed.data, {
        headers: headersOf(message.headers),
        reply: message.reply,
      });
      reply = { ok: true, result };
    } catch (error) {
      if (error instanceof ApiFailure) {
        const { code, message, details } = error;
        reply = { ok: false, error: { code, message, ...(details && { details }) } };
        this.options.logger.info({ op, code: error.code }, 'api request refused');
      } else {
        reply = {
          ok: false,
          error: { code: 'internal', message: `the ${this.options.service} failed; retry` },
        };
        this.options.logger.error({ op, err: error }, 'api request failed');
      }
    }
    message.respond(JSON.stringify(reply));
  }
}

/** Requests one op answers at once by default. */
export const DEFAULT_MAX_IN_FLIGHT = 64;

function refuseBusy(message: Msg, op: string, logger: MessagingLogger): void {
  if (!message.reply || !isInbox(message.reply)) return;
  logger.warn({ op }, 'api request refused: too many in flight');
  const error: ApiError = { code: 'busy', message: 'too many requests at once: retry in a moment' };
  try {
    message.respond(JSON.stringify({ ok: false, error }));
  } catch {
    // The connection is closing: the caller's request times out instead.
  }
}

/** `_INBOX.…` (nats.js's default) or a per-user prefix such as `_INBOX_agent_.<id>.…`. */
function isInbox(subject: string): boolean {
  return /^_INBOX[._]/.test(subject);
}

function parseBody(message: Msg): unknown {
  if (message.data.length === 0) return {};
  try {
    return message.json();
  } catch {
    throw new ApiFailure('invalid_request', 'the request body is not JSON');
  }
}

function headersOf(headers: MsgHdrs | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (!headers) return result;
  for (const [name, values] of headers) {
    const [first] = values;
    if (first !== undefined) result[name] = first;
  }
  return result;
}
