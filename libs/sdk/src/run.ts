import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { buildEvent, CREDENTIAL_HEADER, ULID_PATTERN, type Envelope } from '@warden/contracts';
import { isMessagingError, type EventPublisher, type PublishResult } from '@warden/messaging';
import { decodeTime, ulid } from 'ulid';
import type { CallRegistry, CallScope } from './call-scope.js';
import type { ConnectionWatch } from './connection-watch.js';
import { WardenConnectionError } from './errors.js';
import { settle, type CallResult } from './outcome.js';
import type { OutcomeListener, OutcomeWaiter } from './outcome-listener.js';
import type { TokenSource } from './token-source.js';

const tracer = trace.getTracer('@warden/sdk');

/** Steps of recent intents a run remembers, so a retried intent keeps its step. */
const REMEMBERED_STEPS = 1024;
/** Longest pause between attempts to publish a proposal JetStream did not confirm. */
const MAX_PUBLISH_RETRY_DELAY_MS = 1_000;

/** Options of one {@link Run.call}. */
export interface CallOptions {
  /**
   * The intent's id (a ULID), which is also its idempotency key: calling again with the same id,
   * from this client or another one, returns the first call's outcome and never does the action
   * twice. Default: a new ULID.
   */
  intentId?: string;
  /** How long to wait for the outcome, in ms. Default: the client's `callTimeoutMs`. */
  timeoutMs?: number;
}

/** Options of {@link Run.end}. */
export interface EndRunOptions {
  /** How the run ended, from the agent's point of view. */
  status: 'succeeded' | 'failed' | 'cancelled';
  /** A short summary for the audit log (at most 2,048 characters are kept). */
  outcome?: string;
}

/** @internal What a run needs from the client that made it. */
export interface RunContext {
  readonly agentId: string;
  readonly publisher: EventPublisher;
  readonly outcomes: OutcomeListener;
  readonly tokens: TokenSource;
  readonly calls: CallRegistry;
  readonly connection: ConnectionWatch;
  readonly callTimeoutMs: number;
}

/**
 * One run of an agent: a sequence of governed calls under one `run_id`, whose limits (step cap,
 * budget) Warden enforces. Made by `Warden.startRun` or `Warden.resumeRun`.
 */
export class Run {
  /** The run's id: a subject token such as `run-01jd…`. */
  readonly runId: string;
  /** The workflow the run belongs to, if any. */
  readonly workflow: string | undefined;
  private lastStep: number;
  private readonly steps = new Map<string, number>();

  /** @internal Use `Warden.startRun` or `Warden.resumeRun`. */
  constructor(
    private readonly context: RunContext,
    runId: string,
    workflow: string | undefined,
    nextStep = 1,
  ) {
    this.runId = runId;
    this.workflow = workflow;
    this.lastStep = nextStep - 1;
  }

  /** The step the next new call will get (1-based). */
  get nextStep(): number {
    return this.lastStep + 1;
  }

  /**
   * Proposes one tool call and waits for Warden's answer. Resolves when the tool ran (`executed`,
   * or `failed` when the tool itself failed); throws {@link DeniedError}, {@link RejectedError},
   * {@link InDoubtError} or {@link CallTimeoutError} otherwise, and a `WardenConnectionError` when
   * the client is closed meanwhile.
   *
   * Each call gets the run's next step; a call with the `intentId` of an earlier call of this
   * run keeps that call's step. A tool name or args the `intent.proposed` contract refuses throw
   * a `MessagingError` (`invalid_event`) from `@warden/messaging` before anything is published.
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
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: error instanceof Error ? error.message : String(error),
          });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  /** Ends the run (`run.ended`): Warden stops counting it, and the audit log shows how it ended. */
  async end(options: EndRunOptions): Promise<void> {
    const { publisher, agentId, calls } = this.context;
    if (calls.isClosed) throw WardenConnectionError.closed();
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

  private async propose(
    tool: string,
    args: Record<string, unknown>,
    options: CallOptions,
  ): Promise<CallResult> {
    const { agentId, publisher, outcomes, tokens, calls } = this.context;
    const intentId = options.intentId ?? ulid();
    if (!ULID_PATTERN.test(intentId)) {
      throw new TypeError(
        `intentId ${JSON.stringify(intentId)} must be a ULID (26 characters, Crockford base32, e.g. from ulid())`,
      );
    }
    const timeoutMs = options.timeoutMs ?? this.context.callTimeoutMs;
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new TypeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
    }
    const scope = calls.begin(intentId, timeoutMs);
    // The step is taken now, so steps follow the order of the calls however long each waits.
    const step = this.stepOf(intentId);
    let waiter: OutcomeWaiter | undefined;
    try {
      const token = await scope.race(tokens.token());
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
      // Listen before proposing, so the answer cannot slip past. An intent id the caller brought
      // may belong to an earlier proposal whose outcome is already on the stream: one older than
      // the listener is looked for there at once, a younger one when JetStream says the proposal
      // is a duplicate (the intent was proposed before, by this client or another).
      const brought = options.intentId !== undefined;
      waiter = outcomes.wait(intentId, brought ? decodeTime(intentId) : undefined);
      const { duplicate } = await this.publish(event, token, scope);
      if (duplicate && brought) waiter.lookBack();
      const settled = settle(await scope.race(waiter.outcome), intentId);
      if (!settled.ok) throw settled.error;
      return settled.result;
    } finally {
      waiter?.release();
      scope.finish();
    }
  }

  /**
   * Publishes the proposal, and again while JetStream does not confirm it (a NATS restart), until
   * the call's deadline: the same `Nats-Msg-Id` makes every copy after the first a duplicate that
   * JetStream drops. An attempt still waiting when the connection comes back is not waited out:
   * it is sent again at once.
   */
  private async publish(
    event: Envelope<'intent.proposed'>,
    token: string,
    scope: CallScope,
  ): Promise<PublishResult> {
    const { publisher, connection } = this.context;
    for (let attempt = 1; ; attempt++) {
      const wait = connection.nextReconnect();
      const reconnected = wait.reconnected.then(() => 'again' as const);
      try {
        const published = publisher.publish(event, { headers: { [CREDENTIAL_HEADER]: token } });
        const result = await scope.race(Promise.race([published, reconnected]));
        if (result !== 'again') return result;
      } catch (error) {
        if (!isMessagingError(error) || !error.retryable) throw error;
        const delay = Math.min(MAX_PUBLISH_RETRY_DELAY_MS, 50 * 2 ** attempt);
        await scope.race(
          Promise.race([new Promise((resolve) => setTimeout(resolve, delay)), reconnected]),
        );
      } finally {
        wait.cancel();
      }
    }
  }

  private stepOf(intentId: string): number {
    const known = this.steps.get(intentId);
    if (known !== undefined) return known;
    const step = ++this.lastStep;
    this.steps.set(intentId, step);
    if (this.steps.size > REMEMBERED_STEPS) {
      const oldest = this.steps.keys().next();
      if (!oldest.done) this.steps.delete(oldest.value);
    }
    return step;
  }
}
