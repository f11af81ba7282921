import {
  buildEvent,
  nowMicros,
  type Envelope,
  type EnvelopeBase,
  type SealedOutput,
} from '@warden/contracts';
import { Outcome, type EventContext } from '@warden/messaging';
import type { Logger } from '@warden/telemetry';
import {
  digestArgs,
  finishedRecord,
  rejectedRecord,
  restartedRecord,
  startedRecord,
  type DoneRecord,
  type RecordIdentity,
  type StartedRecord,
} from '../domain/execution-record.js';
import { resolutionOf, settle } from '../domain/outcome.js';
import { ExecutorReason } from '../domain/reasons.js';
import { decideRedelivery } from '../domain/redelivery.js';
import { admit, unansweredResult, type Admission, type ToolResult } from '../domain/tools.js';
import type { ExecutionStore, StoredRecord } from '../infra/execution-store.js';
import type { ToolRunner } from '../infra/tool-runner.js';
import type { OutputSealer } from '../sealing/output-sealer.js';

/** Limits of the executor (from its configuration). */
export interface ExecuteToolSettings {
  /** Cap on the JSON of an output in `intent.resolved` (see `capOutput`). */
  readonly maxOutputBytes: number;
  /** Cap on any tool's own timeout. */
  readonly maxTimeoutMs: number;
  /** Added to an attempt's timeout to make its lease: covers clock skew and the record writes. */
  readonly leaseGraceMs: number;
  /** Attempts of one intent before it is given up (see `decideRedelivery`). */
  readonly maxAttempts: number;
}

/**
 * The points of an attempt where the crash drill (issue 7) kills the executor:
 * - `before_call`: `tool.started` is published, the tool is not called yet;
 * - `after_call`: the tool returned (a write has landed upstream), `done` is not recorded yet;
 * - `after_done`: `done` is recorded, `intent.resolved` is not published (nor the event acked).
 */
export const FAIL_POINTS = ['before_call', 'after_call', 'after_done'] as const;
export type FailPoint = (typeof FAIL_POINTS)[number];

/** What {@link ExecuteTool} is built from: its ports, its logger, its limits. */
export interface ExecuteToolDeps {
  readonly store: ExecutionStore;
  readonly runner: ToolRunner;
  readonly logger: Logger;
  readonly settings: ExecuteToolSettings;
  /** Epoch milliseconds, for leases. Default `Date.now`. */
  readonly now?: () => number;
  /** Seals raw outputs of tools that declare `seal_output` (absent: none are sealed). */
  readonly sealer?: Pick<OutputSealer, 'seal'>;
  /**
   * Called at each {@link FailPoint} of an attempt. Does nothing, except in the crash drill, where
   * it SIGKILLs the process (`EXECUTOR_FAILPOINT`): nothing after the point may run then.
   */
  readonly crash?: (point: FailPoint, intentId: string) => void;
}

/** The part of the handler's context the use case needs. */
export type ExecutionContext = Pick<EventContext, 'producer' | 'publish' | 'deliveryCount'>;

/** One `budget.reserved` being handled, with what is known about its tool. */
interface Job {
  readonly event: Envelope<'budget.reserved'>;
  readonly ctx: ExecutionContext;
  readonly intentId: string;
  readonly tool: string;
  readonly argsDigest: string;
  readonly admission: Admission;
}

/** Re-reads of a record that keeps changing under this handler before it gives up and throws. */
const MAX_ROUNDS = 5;

/**
 * Runs the tool of a `budget.reserved` intent under the execution-record protocol (DESIGN §5):
 *
 * 1. claim `executions/<intent_id>` with a compare-and-set create: `started`, attempt 1, a lease
 *    (or straight `done` when the tool is unknown or its args invalid: nothing runs);
 * 2. publish `tool.started`, run the tool under its timeout;
 * 3. record `done` with the outcome and the output's digest (compare-and-set on the revision);
 * 4. publish `intent.resolved`.
 *
 * An intent already claimed goes to `decideRedelivery`: republish the recorded resolution, wait for
 * a live lease, re-run a safe tool, or resolve `in_doubt`. Every output derives its id from the
 * event that claimed the intent (recorded as `cause_event_id`), so any replay, by any replica, of
 * any copy of the intent publishes the same ids and JetStream keeps one of each.
 */
export class ExecuteTool {
  private readonly now: () => number;
  private readonly crash: (point: FailPoint, intentId: string) => void;

  constructor(private readonly deps: ExecuteToolDeps) {
    this.now = deps.now ?? Date.now;
    this.crash = deps.crash ?? noCrash;
  }

  async execute(event: Envelope<'budget.reserved'>, ctx: ExecutionContext): Promise<Outcome> {
    const { tool, args } = event.data;
    const intentId = event.intent_id;
    if (intentId === undefined) {
      this.deps.logger.warn(
        { event_id: event.event_id, run_id: event.run_id, tool },
        'budget.reserved without an intent_id: nothing to execute',
      );
      return Outcome.skipped;
    }
    const { runner, settings, store } = this.deps;
    const spec = await runner.describe(tool, event.data.tool_version);
    const job: Job = {
      event,
      ctx,
      intentId,
      tool,
      argsDigest: digestArgs(tool, args),
      admission: admit(tool, args, spec, settings.maxTimeoutMs),
    };
    const identity: RecordIdentity = {
      intentId,
      tool,
      argsDigest: job.argsDigest,
      causeEventId: event.event_id,
      owner: ctx.producer.instance,
      runId: event.run_id,
      agentId: event.agent_id,
      workflow: event.workflow,
    };
    const { admission } = job;
    if (!admission.admitted) {
      // Nothing runs, but the resolution is recorded all the same: a copy of this intent must
      // republish it, not compute its own under another id.
      const record = rejectedRecord(identity, admission.outcome, nowMicros());
      const claim = await store.create(intentId, record);
      return claim.created
        ? this.publishResolution(job, record, false)
        : this.resume(job, claim.existing);
    }
    const record = startedRecord(identity, {
      now: this.now(),
      leaseMs: admission.timeoutMs + settings.leaseGraceMs,
    });
    const claim = await store.create(intentId, record);
    return claim.created
      ? this.run(job, admission, record, claim.revision)
      : this.resume(job, claim.existing);
  }

  /** The intent was claimed before: decide from its record, again after each lost write. */
  private async resume(job: Job, first: StoredRecord | undefined): Promise<Outcome> {
    const { store, settings, logger } = this.deps;
    const { admission } = job;
    let current = first;
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      if (current === undefined) {
        throw new Error(`the execution record of intent ${job.intentId} vanished while in use`);
      }
      const decision = decideRedelivery(current.record, {
        argsDigest: job.argsDigest,
        traits: admission.traits,
        rejection: admission.admitted ? undefined : admission.outcome,
        now: this.now(),
        maxAttempts: settings.maxAttempts,
      });
      switch (decision.action) {
        case 'republish':
          return this.publishResolution(job, decision.record, true);
        case 'wait':
          logger.debug(
            { ...this.logFields(job), retry_ms: decision.retryMs, owner: current.record.owner },
            'execution under way elsewhere: retrying after its lease',
          );
          return Outcome.retry(decision.retryMs);
        case 'refuse':
          logger.warn(
            { ...this.logFields(job), event_id: job.event.event_id },
            `refused: ${decision.message}`,
          );
          return Outcome.skipped;
        case 're_execute': {
          // decideRedelivery re-executes only what `admit` would start today.
          if (!admission.admitted) throw new Error('re_execute of an intent that is not admitted');
          const next = restartedRecord(decision.record, {
            now: this.now(),
            leaseMs: admission.timeoutMs + settings.leaseGraceMs,
            owner: job.ctx.producer.instance,
          });
          const revision = await store.update(job.intentId, next, current.revision);
          if (revision !== undefined) {
            logger.info(
              { ...this.logFields(job), attempt: next.attempt },
              'interrupted execution of a read-only tool: running it again',
            );
            return this.run(job, admission, next, revision);
          }
          break;
        }
        case 'resolve': {
          const done = finishedRecord(decision.record, {
            outcome: decision.outcome,
            resolvedAt: nowMicros(),
            owner: job.ctx.producer.instance,
          });
          const revision = await store.update(job.intentId, done, current.revision);
          if (revision !== undefined) return this.publishResolution(job, done, false);
          break;
        }
      }
      current = await store.get(job.intentId);
    }
    throw new Error(
      `the execution record of intent ${job.intentId} changed under this handler ${MAX_ROUNDS} times`,
    );
  }

  /** One attempt: `tool.started`, the tool, the `done` record, `intent.resolved`. */
  private async run(
    job: Job,
    admission: Extract<Admission, { admitted: true }>,
    record: StartedRecord,
    revision: number,
  ): Promise<Outcome> {
    const { ctx } = job;
    await ctx.publish(
      buildEvent({
        type: 'tool.started',
        cause: causeOf(job.event, record.cause_event_id),
        producer: ctx.producer,
        // One tool.started per attempt: a re-execution is a new event, a replay of one is not.
        discriminator: String(record.attempt),
        data: { tool: job.tool, attempt: record.attempt },
      }),
    );
    this.crash('before_call', job.intentId);
    const started = performance.now();
    const result = await this.invoke(job, admission);
    this.crash('after_call', job.intentId);
    const settlement = settle(
      result,
      performance.now() - started,
      this.deps.settings.maxOutputBytes,
    );
    const sealed =
      admission.sealOutput && result.ok ? await this.seal(job, result.output) : undefined;
    const done = finishedRecord(record, {
      outcome:
        sealed === undefined
          ? settlement.outcome
          : { ...settlement.outcome, sealed_output: sealed },
      ...(settlement.resultDigest === undefined ? {} : { resultDigest: settlement.resultDigest }),
      resolvedAt: nowMicros(),
      owner: ctx.producer.instance,
    });
    const written = await this.deps.store.update(job.intentId, done, revision);
    if (written === undefined) {
      // The lease ran out before the tool did and another replica took the intent over: its
      // record, not this attempt's result, is the intent's resolution.
      this.deps.logger.warn(
        { ...this.logFields(job), attempt: record.attempt },
        'execution record changed during the attempt: its result is dropped for the recorded one',
      );
      return this.resume(job, await this.deps.store.get(job.intentId));
    }
    if (settlement.truncated) {
      this.deps.logger.info(
        { ...this.logFields(job), max_bytes: this.deps.settings.maxOutputBytes },
        'output over the cap: intent.resolved carries { truncated, bytes } instead',
      );
    }
    this.crash('after_done', job.intentId);
    return this.publishResolution(job, done, false);
  }

  /**
   * The raw output sealed with the run's key (`seal_output`), for replay. Skipped, with a log
   * line, when it cannot be: no sealer or master key, an intent outside a run, an output over the
   * event cap, or a failure — the tool has run, and its resolution must not wait on a copy.
   */
  private async seal(job: Job, output: unknown): Promise<SealedOutput | undefined> {
    const { sealer, logger, settings } = this.deps;
    const runId = job.event.run_id;
    const json = JSON.stringify(output) as string | undefined;
    if (sealer === undefined || runId === undefined || json === undefined) return undefined;
    if (Buffer.byteLength(json) > settings.maxOutputBytes) {
      logger.info(this.logFields(job), 'output over the cap: not sealed');
      return undefined;
    }
    try {
      const sealed = await sealer.seal(runId, job.intentId, output);
      if (sealed === undefined)
        logger.warn(this.logFields(job), 'no master key: output not sealed');
      return sealed;
    } catch (error) {
      logger.error({ ...this.logFields(job), err: error }, 'sealing the output failed');
      return undefined;
    }
  }

  /** Runs the tool under its timeout; a timeout or a throw becomes a result, never an exception. */
  private async invoke(
    job: Job,
    admission: Extract<Admission, { admitted: true }>,
  ): Promise<ToolResult> {
    const { timeoutMs, traits } = admission;
    const controller = new AbortController();
    const timedOut = new Promise<'timed_out'>((resolve) => {
      controller.signal.addEventListener(
        'abort',
        () => {
          resolve('timed_out');
        },
        { once: true },
      );
    });
    const timer = setTimeout(() => {
      controller.abort();
    }, timeoutMs);
    try {
      // Raced, not just signalled: a runner that ignores the signal still cannot hold the
      // attempt past its lease.
      const result = await Promise.race([
        this.deps.runner.run(job.tool, admission.args, {
          signal: controller.signal,
          idempotencyKey: job.intentId,
          ...(job.event.data.tool_version === undefined
            ? {}
            : { version: job.event.data.tool_version }),
        }),
        timedOut,
      ]);
      if (result !== 'timed_out') return result;
      return unansweredResult(
        traits,
        ExecutorReason.timeout,
        `${job.tool} did not finish within ${timeoutMs} ms`,
      );
    } catch (error) {
      return unansweredResult(
        traits,
        ExecutorReason.toolError,
        `${job.tool} could not be run: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Publishes the recorded resolution: built from the record alone, so a replay is identical. */
  private async publishResolution(
    job: Job,
    record: DoneRecord,
    republished: boolean,
  ): Promise<Outcome> {
    const { ctx } = job;
    await ctx.publish(
      buildEvent({
        type: 'intent.resolved',
        cause: causeOf(job.event, record.cause_event_id),
        producer: ctx.producer,
        occurredAt: record.resolved_at,
        data: resolutionOf(record.tool, record.outcome),
      }),
    );
    this.logResolution(job, record, republished);
    return Outcome.processed;
  }

  private logResolution(job: Job, record: DoneRecord, republished: boolean): void {
    const { outcome } = record;
    const fields = {
      ...this.logFields(job),
      status: outcome.status,
      duration_ms: outcome.duration_ms,
      attempt: record.attempt,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      ...(republished ? { republished, delivery: job.ctx.deliveryCount } : {}),
    };
    const { logger } = this.deps;
    if (republished) logger.debug(fields, 'recorded resolution republished');
    else if (outcome.status === 'executed') logger.debug(fields, 'tool executed');
    else if (outcome.status === 'failed') logger.info(fields, 'tool call failed');
    // In doubt: a person has to look at the target system.
    else logger.warn(fields, 'tool call in doubt');
  }

  private logFields(job: Job): Record<string, unknown> {
    return { run_id: job.event.run_id, intent_id: job.intentId, tool: job.tool };
  }
}

function noCrash(): void {
  // Only the crash drill stops here.
}

/**
 * The event whose id every output of the execution derives from: the one that claimed the intent,
 * with this event's context (run, intent, agent are the same for any copy).
 */
function causeOf(event: EnvelopeBase, causeEventId: string): EnvelopeBase {
  return { ...event, event_id: causeEventId };
}
