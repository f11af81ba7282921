import { performance } from 'node:perf_hooks';
import { isSpanContextValid, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  buildEvent,
  CREDENTIAL_HEADER,
  deriveEventId,
  formatMicros,
  formatUsd,
  ULID_PATTERN,
  type DataOf,
  type Envelope,
  type EventType,
  type RunCanary,
} from '@warden/contracts';
import { isMessagingError, type EventPublisher, type PublishResult } from '@warden/messaging';
import { decodeTime, ulid } from 'ulid';
import type { CallRegistry, CallScope } from './call-scope.js';
import type { ConnectionWatch } from './connection-watch.js';
import { parseDuration, type Duration } from './duration.js';
import { ApprovalPendingError, WardenConnectionError } from './errors.js';
import { modelCallError, settle, type CallResult } from './outcome.js';
import type { OutcomeListener, OutcomeWaiter } from './outcome-listener.js';
import type { ReplaySummary } from './replay-run.js';
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
  /**
   * When the call needs a human's approval (`approval.requested`), how long to keep waiting for
   * its outcome once the request is seen (`'10m'`, `'1h'`, or ms); past that the call throws
   * {@link ApprovalPendingError}. Without it, the call throws `ApprovalPendingError` at once. The
   * intent stays pending either way: calling again with the same `intentId` waits for it.
   */
  waitForApproval?: Duration;
}

/** The kinds of span a runtime reports (`trace.span`). */
export const SPAN_KINDS = ['model', 'retrieval', 'prompt', 'tool', 'other'] as const;
/** The kind of a reported span. */
export type SpanKindName = (typeof SPAN_KINDS)[number];

/** Options of {@link Run.span}. */
export interface SpanOptions {
  /**
   * What the span is. Default: `attributes.kind` when it is one of {@link SPAN_KINDS}, else the
   * span's name when it is one (`run.span('retrieval', …)`), else `other`.
   */
  kind?: SpanKindName;
}

/** Options of {@link Run.model}. */
export interface ModelOptions {
  /** The task class the routing table knows (`extraction`, `classification`, `drafting`…). */
  taskClass: string;
  /** The prompt's estimated input tokens. */
  estimatedTokens: number;
  /** A tighter output ceiling than the task class's. */
  maxOutputTokens?: number;
  /** How long to wait for the routing, in ms. Default: the client's `callTimeoutMs`. */
  timeoutMs?: number;
}

/** The model Warden chose for a model call ({@link Run.model}), and what it reserved. */
export interface ModelRoute {
  /** The model call's id: pass it to {@link Run.reportModelUsage} (the default is the last one). */
  readonly intentId: string;
  /** The model to call. */
  readonly model: string;
  /** The task class it was routed for. */
  readonly taskClass: string;
  /** The most output tokens the call may produce: what the run's remaining budget pays for. */
  readonly maxOutputTokens: number | undefined;
  /** The estimate reserved against the run's and the day's budgets, in micro-USD… */
  readonly estimatedMicroUsd: number;
  /** …and in USD, as a decimal string (`"0.000150"`). */
  readonly estimatedUsd: string;
  /** The model's tier in the routing table (1 = cheapest). */
  readonly tier: number | undefined;
  /** Why this model: `preferred`, `low_budget` (routed a tier down), `budget_fit`. */
  readonly reason: string | undefined;
  /** The `model.routed` event. */
  readonly event: Envelope<'model.routed'>;
}

/** A model call's route as the SDK answers it, from the `model.routed` event (live or replayed). */
export function modelRouteOf(event: Envelope<'model.routed'>, intentId: string): ModelRoute {
  const { data } = event;
  return {
    intentId,
    model: data.model,
    taskClass: data.task_class,
    maxOutputTokens: data.max_output_tokens,
    estimatedMicroUsd: data.estimated_micro_usd,
    estimatedUsd: formatUsd(data.estimated_micro_usd),
    tier: data.tier,
    reason: data.reason,
    event,
  };
}

/** What a model call used ({@link Run.reportModelUsage}). */
export interface ModelUsageReport {
  /** The model that was called (the routed one). */
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** How long the model took to answer, in ms. */
  latencyMs: number;
  /** The model call ({@link ModelRoute.intentId}). Default: the run's last `run.model` call. */
  intentId?: string;
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
 * budget) Warden enforces. `Warden.startRun` and `Warden.resumeRun` make a live one;
 * `Warden.replay` makes one that serves a recorded run's outcomes instead (`ReplayRun`). Agent code
 * written against this interface runs unchanged against either.
 */
export interface Run {
  /** The run's id: a subject token such as `run-01jd…`. */
  readonly runId: string;
  /** The workflow the run belongs to, if any. */
  readonly workflow: string | undefined;
  /**
   * The release that drives the run — which prompt, model and tool schema to use: the one a
   * canary of the workflow assigned it, else the workflow's promoted release, else the caller's
   * `version`. `undefined` when none of them names one.
   */
  readonly version: string | undefined;
  /** The canary that assigned {@link version}, and on which side the run is. */
  readonly canary: RunCanary | undefined;
  /** The step the next new call will get (1-based). */
  readonly nextStep: number;
  /**
   * Proposes one tool call and resolves with its outcome, or throws the typed error that says
   * why it did not run ({@link DeniedError} and its kinds, {@link ApprovalPendingError},
   * {@link RejectedError}, {@link InDoubtError}, {@link CallTimeoutError}).
   */
  call(tool: string, args: Record<string, unknown>, options?: CallOptions): Promise<CallResult>;
  /** Asks which model to use for a task, within what the run has left. */
  model(options: ModelOptions): Promise<ModelRoute>;
  /** Reports the tokens a routed model call used. */
  reportModelUsage(usage: ModelUsageReport): Promise<void>;
  /** Runs `fn` as a reported span of this run, and returns what it returns. */
  span<T>(
    name: string,
    attributes: Record<string, unknown>,
    fn: () => T | Promise<T>,
    options?: SpanOptions,
  ): Promise<T>;
  /**
   * Ends the run. A live run publishes `run.ended`; a replay publishes nothing and answers a
   * {@link ReplaySummary}: whether the agent asked for every recorded step.
   */
  // A union with void: a live run's `end` answers nothing, and agent code awaiting either must
  // compile unchanged.
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type
  end(options: EndRunOptions): Promise<void | ReplaySummary>;
}

/**
 * A {@link Run} against the live deployment: every call is proposed on the stream and governed.
 * Made by `Warden.startRun` or `Warden.resumeRun`.
 */
export class LiveRun implements Run {
  /** The run's id: a subject token such as `run-01jd…`. */
  readonly runId: string;
  /** The workflow the run belongs to, if any. */
  readonly workflow: string | undefined;
  /** The release that drives the run (see {@link Run.version}). */
  readonly version: string | undefined;
  /** The canary that assigned {@link version}, if any. */
  readonly canary: RunCanary | undefined;
  private lastStep: number;
  private readonly steps = new Map<string, number>();
  private lastModelCall: string | undefined;

  /** @internal Use `Warden.startRun` or `Warden.resumeRun`. */
  constructor(
    private readonly context: RunContext,
    runId: string,
    workflow: string | undefined,
    nextStep = 1,
    release: { readonly version?: string; readonly canary?: RunCanary } = {},
  ) {
    this.runId = runId;
    this.workflow = workflow;
    this.version = release.version;
    this.canary = release.canary;
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
          span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  /**
   * Asks Warden which model to use for a task (`model.requested`) and waits for its answer: the
   * model chosen within what the run has left, and the output ceiling that budget pays for
   * (`model.routed`). Throws {@link BudgetExceededError} when no model fits the run's or the
   * day's budget, {@link RunHaltedError} when the agent or workflow is paused, and
   * {@link CallTimeoutError} without an answer in time. Report what the call used with
   * {@link reportModelUsage}: that books its actual cost.
   *
   * @example
   * const route = await run.model({ taskClass: 'extraction', estimatedTokens: 1200 });
   * // … call route.model with at most route.maxOutputTokens output tokens …
   * await run.reportModelUsage({ model: route.model, inputTokens: 1180, outputTokens: 210, latencyMs: 840 });
   */
  async model(options: ModelOptions): Promise<ModelRoute> {
    const { taskClass, estimatedTokens, maxOutputTokens } = options;
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.context.callTimeoutMs);
    return tracer.startActiveSpan(
      `warden.model ${taskClass}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'warden.task_class': taskClass, 'warden.run_id': this.runId },
      },
      async (span) => {
        try {
          const route = await this.route(taskClass, estimatedTokens, maxOutputTokens, timeoutMs);
          span.setAttributes({ 'warden.intent_id': route.intentId, 'warden.model': route.model });
          return route;
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  /**
   * Reports the tokens a routed model call used (`model.usage`), under the model call's intent id
   * (default: this run's last {@link model} call): the cost governor prices them at the model's
   * rates and books them once on the run and the day (`budget.settled`), releasing the rest of
   * the estimate. Reporting the same call twice books it once.
   *
   * @throws TypeError when there is no model call to report for.
   */
  async reportModelUsage(usage: ModelUsageReport): Promise<void> {
    const { publisher, calls } = this.context;
    if (calls.isClosed) throw WardenConnectionError.closed();
    const intentId = usage.intentId ?? this.lastModelCall;
    if (intentId === undefined) {
      throw new TypeError(
        'reportModelUsage needs an intentId: no run.model call was made on this run',
      );
    }
    await publisher.publish(
      this.runEvent('model.usage', {
        // Derived, so a report sent again is a duplicate JetStream drops (and never the id of the
        // model.requested, which shares the intent id).
        eventId: deriveEventId(intentId, 'model.usage'),
        intentId,
        data: {
          model: usage.model,
          input_tokens: usage.inputTokens,
          output_tokens: usage.outputTokens,
          latency_ms: usage.latencyMs,
        },
      }),
    );
  }

  /**
   * Runs `fn`, measures it and reports it as a `trace.span` of this run (prompts, retrieved
   * context, model calls), so the run's timeline shows what the agent did between its calls; the
   * collector redacts the attributes before they are stored. Returns what `fn` returns. When `fn`
   * throws, the span is reported all the same, with the error's message as attribute `error`, and
   * the error is rethrown.
   *
   * It is also an OpenTelemetry span (active while `fn` runs, so calls made inside are its
   * children); its `trace_id`/`span_id` go on the event when there is a valid trace context (an
   * OpenTelemetry SDK running, or a caller's span). Reporting never breaks the agent: an event
   * that cannot be published is recorded on the OpenTelemetry span and dropped.
   *
   * @example
   * const docs = await run.span('retrieval', { query, top_k: 5 }, () => index.search(query, 5));
   */
  async span<T>(
    name: string,
    attributes: Record<string, unknown>,
    fn: () => T | Promise<T>,
    options: SpanOptions = {},
  ): Promise<T> {
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
      throw new TypeError(`a span name must be 1 to 256 characters, got ${JSON.stringify(name)}`);
    }
    const kind = spanKindOf(name, attributes, options.kind);
    return tracer.startActiveSpan(
      name,
      {
        kind: SpanKind.INTERNAL,
        attributes: { 'warden.run_id': this.runId, 'warden.span_kind': kind },
      },
      async (span) => {
        const startedAt = formatMicros(Date.now() * 1000);
        const started = performance.now();
        let failure: { error: unknown } | undefined;
        try {
          return await fn();
        } catch (error) {
          failure = { error };
          span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
          throw error;
        } finally {
          const durationMs = performance.now() - started;
          const context = span.spanContext();
          const ids = isSpanContextValid(context)
            ? { trace_id: context.traceId, span_id: context.spanId }
            : {};
          await this.reportSpan({
            name,
            kind,
            started_at: startedAt,
            duration_ms: durationMs,
            attributes:
              failure === undefined
                ? attributes
                : { ...attributes, error: messageOf(failure.error) },
            ...ids,
          }).catch((error: unknown) => {
            span.recordException(error instanceof Error ? error : new Error(String(error)));
          });
          span.end();
        }
      },
    );
  }

  /** Ends the run (`run.ended`): Warden stops counting it, and the audit log shows how it ended. */
  async end(options: EndRunOptions): Promise<void> {
    const { publisher, calls } = this.context;
    if (calls.isClosed) throw WardenConnectionError.closed();
    await publisher.publish(
      this.runEvent('run.ended', {
        eventId: ulid(),
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
    const { outcomes, tokens, calls } = this.context;
    const intentId = options.intentId ?? ulid();
    if (!ULID_PATTERN.test(intentId)) {
      throw new TypeError(
        `intentId ${JSON.stringify(intentId)} must be a ULID (26 characters, Crockford base32, e.g. from ulid())`,
      );
    }
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.context.callTimeoutMs);
    const approvalWaitMs =
      options.waitForApproval === undefined
        ? undefined
        : parseDuration(options.waitForApproval, 'waitForApproval');
    const scope = calls.begin(intentId, timeoutMs);
    // The step is taken now, so steps follow the order of the calls however long each waits.
    const step = this.stepOf(intentId);
    let waiter: OutcomeWaiter | undefined;
    try {
      const token = await scope.race(tokens.token());
      const event = this.runEvent('intent.proposed', {
        eventId: intentId,
        intentId,
        data: { tool, args, step },
      });
      // Listen before proposing, so the answer cannot slip past. An intent id the caller brought
      // may belong to an earlier proposal whose outcome is already on the stream: one older than
      // the listener is looked for there at once, a younger one when JetStream says the proposal
      // is a duplicate (the intent was proposed before, by this client or another).
      const brought = options.intentId !== undefined;
      waiter = outcomes.wait(intentId, brought ? decodeTime(intentId) : undefined);
      const { duplicate } = await this.publish(event, { [CREDENTIAL_HEADER]: token }, scope);
      if (duplicate && brought) waiter.lookBack();
      const outcome = await this.outcomeOf(waiter, scope, intentId, approvalWaitMs);
      const settled = settle(outcome, intentId);
      if (!settled.ok) throw settled.error;
      return settled.result;
    } finally {
      waiter?.release();
      scope.finish();
    }
  }

  /**
   * The intent's outcome. When a human is asked first (`approval.requested`): at once an
   * {@link ApprovalPendingError}, or with `approvalWaitMs` the outcome if it comes within that
   * long (the error otherwise). A look back may bring the request of an approval answered long
   * ago: the request counts only once the look back has read the outcomes up to now without
   * finding this one.
   */
  private async outcomeOf(
    waiter: OutcomeWaiter,
    scope: CallScope,
    intentId: string,
    approvalWaitMs: number | undefined,
  ): Promise<Envelope<'intent.resolved'>> {
    const first = await scope.race(Promise.race([waiter.outcome, waiter.approval]));
    if (first.type === 'intent.resolved') return first;
    const outcome = await scope.race(
      Promise.race([waiter.outcome, waiter.caughtUp().then(() => undefined)]),
    );
    if (outcome !== undefined) return outcome;
    if (approvalWaitMs === undefined) throw new ApprovalPendingError(first, intentId);
    scope.restart(approvalWaitMs, () => new ApprovalPendingError(first, intentId));
    return scope.race(waiter.outcome);
  }

  /** `model.requested` → `model.routed`, or the denial of the model call. */
  private async route(
    taskClass: string,
    estimatedTokens: number,
    maxOutputTokens: number | undefined,
    timeoutMs: number,
  ): Promise<ModelRoute> {
    const { outcomes, calls } = this.context;
    const intentId = ulid();
    const scope = calls.begin(intentId, timeoutMs);
    let waiter: OutcomeWaiter | undefined;
    try {
      const event = this.runEvent('model.requested', {
        eventId: intentId,
        intentId,
        data: {
          task_class: taskClass,
          estimated_tokens: estimatedTokens,
          ...(maxOutputTokens === undefined ? {} : { max_output_tokens: maxOutputTokens }),
        },
      });
      // The routing reader opens at the first model call; it must read live before the request.
      await scope.race(outcomes.listen('model.routed'));
      waiter = outcomes.wait(intentId);
      await this.publish(event, undefined, scope);
      const answer = await scope.race(Promise.race([waiter.routed, waiter.outcome]));
      if (answer.type === 'intent.resolved') throw modelCallError(answer, intentId);
      this.lastModelCall = intentId;
      return modelRouteOf(answer, intentId);
    } finally {
      waiter?.release();
      scope.finish();
    }
  }

  /** An event of this run, from this agent: the envelope fields every one of them shares. */
  private runEvent<T extends EventType>(
    type: T,
    fields: { eventId: string; intentId?: string; data: DataOf<T> },
  ): Envelope<T> {
    const { publisher, agentId } = this.context;
    return buildEvent({
      type,
      env: publisher.env,
      runId: this.runId,
      agentId,
      ...(this.workflow === undefined ? {} : { workflow: this.workflow }),
      producer: publisher.producer,
      ...fields,
    });
  }

  private async reportSpan(data: Envelope<'trace.span'>['data']): Promise<void> {
    const { publisher } = this.context;
    await publisher.publish(this.runEvent('trace.span', { eventId: ulid(), data }));
  }

  /**
   * Publishes the proposal, and again while JetStream does not confirm it (a NATS restart), until
   * the call's deadline: the same `Nats-Msg-Id` makes every copy after the first a duplicate that
   * JetStream drops. An attempt still waiting when the connection comes back is not waited out:
   * it is sent again at once.
   */
  private async publish(
    event: Envelope<'intent.proposed'> | Envelope<'model.requested'>,
    headers: Record<string, string> | undefined,
    scope: CallScope,
  ): Promise<PublishResult> {
    const { publisher, connection } = this.context;
    for (let attempt = 1; ; attempt++) {
      const wait = connection.nextReconnect();
      const reconnected = wait.reconnected.then(() => 'again' as const);
      try {
        const published = publisher.publish(event, headers === undefined ? {} : { headers });
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

function checkTimeout(timeoutMs: number): number {
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new TypeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  return timeoutMs;
}

function spanKindOf(
  name: string,
  attributes: Record<string, unknown>,
  kind: SpanKindName | undefined,
): SpanKindName {
  const known = (value: unknown): value is SpanKindName =>
    typeof value === 'string' && (SPAN_KINDS as readonly string[]).includes(value);
  if (kind !== undefined) {
    if (!known(kind))
      throw new TypeError(
        `span kind must be one of ${SPAN_KINDS.join(', ')}, got ${JSON.stringify(kind)}`,
      );
    return kind;
  }
  if (known(attributes.kind)) return attributes.kind;
  return known(name) ? name : 'other';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
