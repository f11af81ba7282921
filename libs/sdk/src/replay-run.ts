import { ULID_PATTERN, type RunCanary } from '@warden/contracts';
import { ApprovalPendingError, CallTimeoutError, NonDeterminismError } from './errors.js';
import { modelCallError, settle, type CallResult } from './outcome.js';
import { argsDifference } from './replay-match.js';
import type { RecordedModelCall, RecordedStep, RunRecording } from './recording.js';
import {
  modelRouteOf,
  type CallOptions,
  type EndRunOptions,
  type ModelOptions,
  type ModelRoute,
  type ModelUsageReport,
  type Run,
  type SpanOptions,
} from './run.js';

/** What the recording's default timeout is when a step never got an answer, in ms. */
const UNANSWERED_TIMEOUT_MS = 30_000;

/** What {@link ReplayRun.end} reports. */
export interface ReplaySummary {
  /** Whether the agent asked for every recorded step, in order (and no more). */
  readonly complete: boolean;
  /** The recorded steps the agent asked for. */
  readonly consumed: number;
  /** The steps in the recording. */
  readonly recorded: number;
  /** The recorded steps the agent never asked for: `<step> <tool>`. */
  readonly remaining: readonly string[];
  /** How the agent said the run ended (`run.end`'s status). */
  readonly status: EndRunOptions['status'] | undefined;
}

/**
 * A {@link Run} that serves a recorded run instead of acting (`Warden.replay`): step N of the
 * agent must ask for the recording's step N — the same tool, with args equal once redacted as
 * the audit log redacts them — and gets its recorded answer: the output (the raw one, for a tool
 * that seals it), or the same typed error the live call threw (a denial, a halt, an approval to
 * wait for, a rejection, a timeout). Anything else throws a {@link NonDeterminismError} naming
 * the step. Nothing is published: no stage sees a replay, and no tool runs.
 */
export class ReplayRun implements Run {
  /** The recorded run's id. */
  readonly runId: string;
  /** The recorded run's workflow. */
  readonly workflow: string | undefined;
  /** The recorded run's release, as `run.started` logged it. */
  readonly version: string | undefined;
  /** The canary that assigned it, as logged. */
  readonly canary: RunCanary | undefined;
  /** The recording this run serves. */
  readonly recording: RunRecording;
  private cursor = 0;
  /** Recorded steps by every intent id the agent knows them by (recorded, or its own). */
  private readonly byIntent = new Map<string, RecordedStep>();
  private readonly modelCursor = new Map<string, number>();
  private modelCalls = 0;
  private lastModelCall: string | undefined;
  private endStatus: EndRunOptions['status'] | undefined;

  /** @internal Use `Warden.replay`. */
  constructor(recording: RunRecording) {
    this.recording = recording;
    this.runId = recording.run_id;
    this.workflow = recording.workflow;
    this.version = recording.version;
    this.canary = recording.canary;
  }

  /** The step the next new call will get: the recording's next step. */
  get nextStep(): number {
    const { steps } = this.recording;
    return steps[this.cursor]?.step ?? (steps[steps.length - 1]?.step ?? 0) + 1;
  }

  /**
   * The recorded answer of the next step, when it is the call the agent makes now. Called with
   * the `intentId` of a step already served (its recorded id, or the one the agent gave), it
   * answers that step again, as a live call with the same intent id would; then a recorded
   * approval's outcome is served if the recording has one.
   *
   * @throws NonDeterminismError when the tool or args differ from the step's, or the recording
   *   has no more steps.
   */
  call(
    tool: string,
    args: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<CallResult> {
    return Promise.resolve().then(() => this.serve(tool, args, options));
  }

  /**
   * The routing the recording has for the agent's next model call of this task class (model
   * calls of different classes may interleave differently: only their order within a class is
   * held), or the same error the live call threw.
   *
   * @throws NonDeterminismError when the recording has no more model calls of this class.
   */
  model(options: ModelOptions): Promise<ModelRoute> {
    return Promise.resolve().then(() => this.route(options));
  }

  /** Accepts the report and books nothing: a replay spends no money. */
  reportModelUsage(usage: ModelUsageReport): Promise<void> {
    if ((usage.intentId ?? this.lastModelCall) === undefined) {
      return Promise.reject(
        new TypeError('reportModelUsage needs an intentId: no run.model call was made on this run'),
      );
    }
    return Promise.resolve();
  }

  /** Runs `fn` and returns what it returns; nothing is reported. */
  async span<T>(
    _name: string,
    _attributes: Record<string, unknown>,
    fn: () => T | Promise<T>,
    _options?: SpanOptions,
  ): Promise<T> {
    return await fn();
  }

  /** Ends the replay (nothing is published) and says whether every recorded step was asked for. */
  end(options: EndRunOptions): Promise<ReplaySummary> {
    this.endStatus = options.status;
    return Promise.resolve(this.summary());
  }

  /** Where the replay stands: which recorded steps the agent has asked for so far. */
  summary(): ReplaySummary {
    const { steps } = this.recording;
    const remaining = steps.slice(this.cursor).map((step) => `${step.step} ${step.tool}`);
    return {
      complete: remaining.length === 0,
      consumed: this.cursor,
      recorded: steps.length,
      remaining,
      status: this.endStatus,
    };
  }

  private serve(tool: string, args: Record<string, unknown>, options: CallOptions): CallResult {
    const asked = { kind: 'tool', name: tool, args } as const;
    const given = options.intentId;
    if (given !== undefined && !ULID_PATTERN.test(given)) {
      throw new TypeError(
        `intentId ${JSON.stringify(given)} must be a ULID (26 characters, Crockford base32, e.g. from ulid())`,
      );
    }
    const known = given === undefined ? undefined : this.byIntent.get(given);
    if (known !== undefined) {
      this.check(known, asked);
      return this.answer(known, given ?? known.intent_id, true, options);
    }
    const step = this.recording.steps[this.cursor];
    if (step === undefined) {
      throw new NonDeterminismError(this.nextStep, undefined, asked, undefined);
    }
    this.check(step, asked);
    this.cursor++;
    this.byIntent.set(step.intent_id, step);
    if (given !== undefined) this.byIntent.set(given, step);
    return this.answer(step, given ?? step.intent_id, false, options);
  }

  private check(step: RecordedStep, asked: NonDeterminismError['asked']): void {
    const recorded = { kind: 'tool', name: step.tool, args: step.args } as const;
    const difference =
      step.tool === asked.name
        ? argsDifference(step.args, { ...asked.args })
        : `tool: recorded ${step.tool}, asked ${asked.name}`;
    if (difference !== undefined) {
      throw new NonDeterminismError(step.step, recorded, asked, difference);
    }
  }

  /**
   * The step's recorded answer as the live call gave it. A human was asked first: the first call
   * is told to wait (as live, unless it said it would wait and the recording has the outcome); a
   * call again with the same intent id gets the outcome once there is one.
   */
  private answer(
    step: RecordedStep,
    intentId: string,
    again: boolean,
    options: CallOptions,
  ): CallResult {
    const { approval, resolved } = step;
    if (approval !== undefined && (resolved === undefined || !(again || options.waitForApproval))) {
      throw new ApprovalPendingError(approval, intentId);
    }
    if (resolved === undefined) {
      throw new CallTimeoutError(intentId, options.timeoutMs ?? UNANSWERED_TIMEOUT_MS);
    }
    const settled = settle(resolved, intentId);
    if (!settled.ok) throw settled.error;
    return settled.result;
  }

  private route(options: ModelOptions): ModelRoute {
    const { taskClass } = options;
    this.modelCalls++;
    const ofClass = this.recording.model_calls.filter((call) => call.task_class === taskClass);
    const position = this.modelCursor.get(taskClass) ?? 0;
    const call: RecordedModelCall | undefined = ofClass[position];
    if (call === undefined) {
      throw new NonDeterminismError(
        this.modelCalls,
        undefined,
        { kind: 'model', name: taskClass, args: {} },
        undefined,
      );
    }
    this.modelCursor.set(taskClass, position + 1);
    const { routed, resolved } = call;
    if (routed === undefined) {
      if (resolved === undefined) {
        throw new CallTimeoutError(call.intent_id, options.timeoutMs ?? UNANSWERED_TIMEOUT_MS);
      }
      throw modelCallError(resolved, call.intent_id);
    }
    this.lastModelCall = call.intent_id;
    return modelRouteOf(routed, call.intent_id);
  }
}
