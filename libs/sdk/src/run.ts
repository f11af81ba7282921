import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { buildEvent, CREDENTIAL_HEADER, type Envelope } from '@warden/contracts';
import type { EventPublisher } from '@warden/messaging';
import { decodeTime, ulid } from 'ulid';
import { CallTimeoutError, errorOf } from './errors.js';
import type { OutcomeListener } from './outcome-listener.js';
import type { TokenSource } from './token-source.js';

const tracer = trace.getTracer('warden-sdk');

/** What a governed call that ran returns: `executed`, or `failed` (the tool ran and failed). */
export interface CallResult {
  readonly intentId: string;
  readonly status: 'executed' | 'failed';
  /** The tool's output (redacted in the audit log, not here). */
  readonly output?: unknown;
  readonly durationMs?: number;
  /** Why it failed, as a stable code. */
  readonly reason?: string;
  readonly message?: string;
  /** The `intent.resolved` event itself. */
  readonly event: Envelope<'intent.resolved'>;
}

/** Options of one {@link Run.call}. */
export interface CallOptions {
  /**
   * The intent's id (a ULID), which is also its idempotency key: calling again with the same id
   * returns the first call's outcome and never does the action twice. Default: a new ULID.
   */
  intentId?: string;
  /** How long to wait for the outcome. Default: the client's `callTimeoutMs`. */
  timeoutMs?: number;
}

/** Options of {@link Run.end}. */
export interface EndRunOptions {
  status: 'succeeded' | 'failed' | 'cancelled';
  /** A short summary for the audit log. */
  outcome?: string;
}

/** What a run needs from the client that made it. */
export interface RunContext {
  readonly agentId: string;
  readonly publisher: EventPublisher;
  readonly outcomes: OutcomeListener;
  readonly tokens: TokenSource;
  readonly callTimeoutMs: number;
  /** Rejects every pending call when the client closes. */
  readonly closed: AbortSignal;
}

/**
 * One run of an agent: a sequence of governed calls under one `run_id`, whose limits (step cap,
 * budget) Warden enforces. Made by `Warden.startRun` or `Warden.resumeRun`.
 */
export class Run {
  private step: number;

  /** @internal Use `Warden.startRun` or `Warden.resumeRun`. */
  constructor(
    private readonly context: RunContext,
    /** The run's id: a subject token such as `run-01jd…`. */
    readonly runId: string,
    /** The workflow the run belongs to, if any. */
    readonly workflow: string | undefined,
    nextStep = 1,
  ) {
    this.step = nextStep - 1;
  }

  /**
   * Proposes one tool call and waits for Warden's answer. Resolves when the tool ran (`executed`
   * or `failed`); throws {@link DeniedError}, {@link RejectedError}, {@link InDoubtError} or
   * {@link CallTimeoutError} otherwise.
   *
   * @example
   * const { output } = await run.call('echo', { text: 'hi' });
   */
  async call(
    tool: string,
    args: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<CallResult> {
    // One span per call, the parent of every service's span for this intent when the agent runs
    // an OpenTelemetry SDK: `traceparent` rides on the proposal (a no-op otherwise).
    return tracer.startActiveSpan(
      `warden.call ${tool}`,
      { kind: SpanKind.CLIENT, attributes: { 'warden.tool': tool, 'warden.run_id': this.runId } },
      async (span) => {
        try {
          const result = await this.propose(tool, args, options);
          span.setAttribute('warden.intent_id', result.intentId);
          return result;
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  private async propose(
    tool: string,
    args: Record<string, unknown>,
    options: CallOptions,
  ): Promise<CallResult> {
    const { agentId, publisher, outcomes, tokens } = this.context;
    const intentId = options.intentId ?? ulid();
    const timeoutMs = options.timeoutMs ?? this.context.callTimeoutMs;
    const step = ++this.step;
    const event = buildEvent({
      type: 'intent.proposed',
      env: publisher.env,
      eventId: intentId,
      intentId,
      runId: this.runId,
      agentId,
      ...(this.workflow === undefined ? {} : { workflow: this.workflow }),
      producer: publisher.producer,
      data: { tool, args, step },
    });
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([timeout, this.context.closed]);
    // Listen before proposing, so the answer cannot slip past.
    const outcome = outcomes.wait(intentId, decodeTime(intentId), signal);
    outcome.catch(() => undefined);
    const token = await tokens.token();
    await publisher.publish(event, { headers: { [CREDENTIAL_HEADER]: token } });
    let resolved: Envelope<'intent.resolved'>;
    try {
      resolved = await outcome;
    } catch (error) {
      if (timeout.aborted) throw new CallTimeoutError(intentId, timeoutMs);
      throw error;
    }
    const failure = errorOf(resolved, intentId);
    if (failure) throw failure;
    const { data } = resolved;
    return {
      intentId,
      status: data.status as 'executed' | 'failed',
      event: resolved,
      ...(data.output === undefined ? {} : { output: data.output }),
      ...(data.duration_ms === undefined ? {} : { durationMs: data.duration_ms }),
      ...(data.reason === undefined ? {} : { reason: data.reason }),
      ...(data.message === undefined ? {} : { message: data.message }),
    };
  }

  /** Ends the run (`run.ended`): Warden stops counting it, and the audit log shows how it ended. */
  async end(options: EndRunOptions): Promise<void> {
    const { publisher, agentId } = this.context;
    await publisher.publish(
      buildEvent({
        type: 'run.ended',
        env: publisher.env,
        eventId: ulid(),
        runId: this.runId,
        agentId,
        ...(this.workflow === undefined ? {} : { workflow: this.workflow }),
        producer: publisher.producer,
        data: {
          status: options.status,
          ...(options.outcome ? { outcome: options.outcome.slice(0, 2048) } : {}),
        },
      }),
    );
  }
}
