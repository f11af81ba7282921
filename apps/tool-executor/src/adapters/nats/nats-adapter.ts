import {
  headers as natsHeaders,
  RequestError,
  TimeoutError,
  type Msg,
  type NatsConnection,
} from '@nats-io/transport-node';
import { subjects, ToolTarget } from '@warden/contracts';
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
 * The nats adapter's executor section. `target` is relative (`crm.lookup`): the request goes to
 * `tools.<env>.<target>`, the only subjects the executor's scoped NATS user may publish requests
 * to, so a declaration cannot lend the executor's connection to Warden's own subjects either.
 */
export const NatsSection = z.strictObject({
  adapter: z.literal('nats'),
  target: ToolTarget,
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
 * The `nats` adapter (issue 7 §2): a request to `tools.<env>.<target>` with the args as JSON and
 * `Idempotency-Key`, answered by a service replying `{ok: true, output}` or `{ok: false, reason, message}`.
 *
 * No responders → `upstream_unavailable`, `maybeApplied: false` (nobody got the request). No reply
 * in time, or a reply that is no result → throws `OutcomeUnknownError`: the adapter does not know
 * whether the tool writes, and the executor maps a throw to `unansweredResult` with the tool's
 * kind (a write may have landed; a read simply failed). So `prepare` needs no `write` flag.
 */
export class NatsAdapter implements ToolAdapter {
  readonly kind = 'nats';

  /** `env`: the executor's `WARDEN_ENV`, the second token of every tool request subject. */
  constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
  ) {
    // Checked once here, so an env that is no subject token fails at start, not on a call.
    subjects.toolRequests(env);
  }

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
    const subject = subjects.toolRequest(this.env, target);
    return {
      ok: true,
      timeoutMs,
      call: (call) => requestTool(nc, tool, subject, timeoutMs, call),
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
