import {
  headers as natsHeaders,
  RequestError,
  TimeoutError,
  type Msg,
  type NatsConnection,
} from '@nats-io/transport-node';
import { z } from 'zod';
import { AdapterReason, OutcomeUnknownError } from '../adapter-errors.js';
import type {
  AdapterCall,
  AdapterResult,
  PreparedTool,
  SectionProblems,
  ToolAdapter,
} from '../tool-adapter.js';
import { problemsOf } from '../upstreams.js';

export const NATS_DEFAULT_TIMEOUT_MS = 10_000;
export const NATS_MAX_TIMEOUT_MS = 60_000;

/**
 * A subject a tool's service answers on: dot-separated tokens of letters, digits, `_` and `-`.
 * No wildcards, and none of the namespaces the executor's own connection must not be lent to:
 * Warden's events and APIs (`warden.…`), the server's (`$…`) and reply inboxes (`_INBOX.…`).
 */
const ToolSubject = z
  .string()
  .max(256)
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, {
    error: 'must be dot-separated tokens of letters, digits, "_" or "-" (no wildcards or spaces)',
  })
  .refine((subject) => !/^(warden|_INBOX)(\.|$)/i.test(subject), {
    error: "must not be in Warden's own namespace (warden.…) or a reply inbox (_INBOX.…)",
  });

/** The nats adapter's executor section. */
export const NatsSection = z.strictObject({
  adapter: z.literal('nats'),
  target: ToolSubject,
  timeout_ms: z.number().int().min(1).max(NATS_MAX_TIMEOUT_MS).default(NATS_DEFAULT_TIMEOUT_MS),
});
export type NatsSection = z.output<typeof NatsSection>;

/** What a tool's service replies: its result, in JSON. */
const NatsReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), output: z.unknown().optional() }),
  z.object({
    ok: z.literal(false),
    reason: z.string().min(1).max(64),
    message: z.string().max(4096),
    /** The service may say its failure left something applied; by default it did not. */
    maybe_applied: z.boolean().optional(),
  }),
]);

/**
 * The `nats` adapter (issue 7 §2): a request with the args as JSON and `Idempotency-Key`, answered
 * by a service replying `{ok: true, output}` or `{ok: false, reason, message}`.
 *
 * No responders → `upstream_unavailable`, `maybeApplied: false` (nobody got the request). No reply
 * in time, or a reply that is no result → throws `OutcomeUnknownError`: the adapter does not know
 * whether the tool writes, and the executor maps a throw to `unansweredResult` with the tool's
 * kind (a write may have landed; a read simply failed). So `prepare` needs no `write` flag.
 */
export class NatsAdapter implements ToolAdapter {
  readonly kind = 'nats';

  constructor(private readonly nc: NatsConnection) {}

  prepare(
    tool: string,
    section: Readonly<Record<string, unknown>>,
  ): PreparedTool | SectionProblems {
    const parsed = NatsSection.safeParse(section);
    if (!parsed.success) {
      const problems = problemsOf(parsed.error).map((problem) =>
        problem.startsWith('(root): Unrecognized key') && 'secret_ref' in section
          ? `${problem} (a nats tool gets no secret: its service trusts the NATS account)`
          : problem,
      );
      return { ok: false, problems };
    }
    const { target, timeout_ms: timeoutMs } = parsed.data;
    const nc = this.nc;
    return {
      ok: true,
      timeoutMs,
      call: (call) => requestTool(nc, tool, target, timeoutMs, call),
    };
  }
}

async function requestTool(
  nc: NatsConnection,
  tool: string,
  subject: string,
  timeoutMs: number,
  call: AdapterCall,
): Promise<AdapterResult> {
  const label = `${tool} (nats ${subject})`;
  if (call.signal.aborted) throw OutcomeUnknownError.timeout(label, timeoutMs);
  const headers = natsHeaders();
  headers.set('Idempotency-Key', call.intentId);
  let reply: Msg;
  try {
    // The request takes no AbortSignal: race it, so an aborted call stops waiting at once.
    reply = await untilAborted(
      nc.request(subject, JSON.stringify(call.args), { timeout: timeoutMs, headers }),
      call.signal,
    );
  } catch (error) {
    if (error instanceof RequestError && error.isNoResponders()) {
      return {
        ok: false,
        reason: AdapterReason.upstreamUnavailable,
        message: `${label}: no service is listening`,
        maybeApplied: false,
      };
    }
    if (error instanceof TimeoutError || (error as Error).cause instanceof TimeoutError) {
      throw OutcomeUnknownError.timeout(label, timeoutMs);
    }
    throw OutcomeUnknownError.connectionLost(label, (error as Error).name);
  }
  let json: unknown;
  try {
    json = reply.json();
  } catch {
    throw OutcomeUnknownError.invalidReply(label, 'the reply is not JSON');
  }
  const parsed = NatsReply.safeParse(json);
  if (!parsed.success) {
    throw OutcomeUnknownError.invalidReply(label, problemsOf(parsed.error).slice(0, 3).join('; '));
  }
  const result = parsed.data;
  if (result.ok) return { ok: true, output: result.output ?? null };
  return {
    ok: false,
    reason: result.reason,
    message: result.message,
    maybeApplied: result.maybe_applied ?? false,
  };
}

/** `promise`, or a rejection with a `TimeoutError` as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(new TimeoutError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed through as thrown
        reject(error);
      },
    );
  });
}
