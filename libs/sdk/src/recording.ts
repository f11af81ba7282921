import {
  ENVELOPES,
  ReleaseVersion,
  RunCanary,
  SealedOutput,
  SubjectToken,
  ToolName,
  Ulid,
  type OpenedOutput,
} from '@warden/contracts';
import { z } from 'zod';
import { RecordingError } from './errors.js';

/** The `format` of a recording this SDK writes and reads. */
export const RECORDING_FORMAT = 'warden.run-recording/1';

/**
 * One tool call of a recorded run: what the agent asked (`tool`, `args` as the audit log stores
 * them, redacted) and what Warden answered — `resolved` (the `intent.resolved` event, whose
 * `data.output` is the raw output when the tool sealed it), and `approval` when a human was asked
 * first. A step with neither never got an answer (a replay throws `CallTimeoutError`).
 */
export const RecordedStep = z.strictObject({
  /** The step the run gave the call (1-based). */
  step: z.number().int().positive(),
  intent_id: Ulid,
  tool: ToolName,
  args: z.record(z.string(), z.unknown()),
  /**
   * Where `resolved.data.output` comes from: `sealed` (opened through the executor: the raw
   * output the agent saw) or `log` (the log's copy: the tool does not seal, so this is what was
   * stored, redacted).
   */
  output_from: z.enum(['sealed', 'log']),
  approval: ENVELOPES['approval.requested'].optional(),
  resolved: ENVELOPES['intent.resolved'].optional(),
});
/** One tool call of a {@link RunRecording}. */
export type RecordedStep = z.infer<typeof RecordedStep>;

/** One model call of a recorded run: the task class asked for and the routing, or its denial. */
export const RecordedModelCall = z.strictObject({
  intent_id: Ulid,
  task_class: z.string().min(1),
  routed: ENVELOPES['model.routed'].optional(),
  resolved: ENVELOPES['intent.resolved'].optional(),
});
/** One model call of a {@link RunRecording}. */
export type RecordedModelCall = z.infer<typeof RecordedModelCall>;

/**
 * A recorded run, what `Warden.replay` serves: the run's tool calls in step order with their
 * outcomes, and its model routings. Written as JSON by `warden runs recording <run> --purpose …`
 * (or fetched by `Warden.replay({ runId, … })`); it holds raw outputs, so keep it as carefully as
 * the sealed outputs it came from.
 */
export const RunRecording = z.strictObject({
  format: z.literal(RECORDING_FORMAT),
  env: SubjectToken,
  run_id: SubjectToken,
  agent_id: SubjectToken.optional(),
  workflow: SubjectToken.optional(),
  /** The release that drove the run and the canary that assigned it, as `run.started` logged them. */
  version: ReleaseVersion.optional(),
  canary: RunCanary.optional(),
  steps: z.array(RecordedStep),
  model_calls: z.array(RecordedModelCall),
});
/** A recorded run ({@link RunRecording}). */
export type RunRecording = z.infer<typeof RunRecording>;

/** An event of type `T` as a recording holds it. */
type Stored<T extends keyof typeof ENVELOPES> = z.infer<(typeof ENVELOPES)[T]>;

/** A sealed output still to be opened, for the executor's `outputs-open`. */
export interface SealedStepOutput {
  readonly intent_id: string;
  readonly sealed: SealedOutput;
}

/**
 * Reads a recording (e.g. the parsed JSON file of `warden runs recording`).
 *
 * @throws RecordingError `invalid`, saying which field is wrong.
 */
export function parseRecording(value: unknown): RunRecording {
  const parsed = RunRecording.safeParse(value);
  if (!parsed.success) {
    throw new RecordingError(
      'invalid',
      `not a run recording (${RECORDING_FORMAT}): ${z.prettifyError(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/**
 * Builds a run's recording from its timeline (the rows of the audit API's `timeline`, in order),
 * and lists the sealed outputs that still have to be opened ({@link withOpenedOutputs}): until
 * then their steps carry the log's redacted copy. Steps are ordered by the step the run gave
 * them, ties by when they were proposed.
 *
 * @throws RecordingError `not_found` when the run has no call, `invalid` when a stored event does
 *   not read back as its contract.
 */
export function recordingFromTimeline(
  env: string,
  runId: string,
  rows: readonly Record<string, unknown>[],
): { recording: RunRecording; sealed: SealedStepOutput[] } {
  const proposed: {
    intentId: string;
    tool: string;
    args: Record<string, unknown>;
    step: number;
  }[] = [];
  const approvals = new Map<string, Stored<'approval.requested'>>();
  const resolutions = new Map<string, Stored<'intent.resolved'>>();
  const sealedOf = new Map<string, SealedOutput>();
  const models: { intentId: string; taskClass: string }[] = [];
  const routings = new Map<string, Stored<'model.routed'>>();
  let agentId: string | undefined;
  let workflow: string | undefined;
  let release: Pick<Stored<'run.started'>['data'], 'version' | 'canary'> = {};

  for (const row of rows) {
    const intentId = text(row.intent_id);
    agentId ??= text(row.agent_id);
    workflow ??= text(row.workflow);
    if (row.type === 'run.started') {
      const { version, canary } = envelope(row, 'run.started').data;
      release = {
        ...(version === undefined ? {} : { version }),
        ...(canary === undefined ? {} : { canary }),
      };
    }
    if (intentId === undefined) continue;
    switch (row.type) {
      case 'intent.proposed': {
        const data = envelope(row, 'intent.proposed').data;
        proposed.push({ intentId, tool: data.tool, args: data.args, step: data.step });
        break;
      }
      case 'model.requested':
        models.push({ intentId, taskClass: envelope(row, 'model.requested').data.task_class });
        break;
      case 'approval.requested':
        if (!approvals.has(intentId)) approvals.set(intentId, envelope(row, 'approval.requested'));
        break;
      case 'model.routed':
        if (!routings.has(intentId)) routings.set(intentId, envelope(row, 'model.routed'));
        break;
      case 'intent.resolved': {
        // The first answer counts: a republished one (executor redelivery) is the same answer.
        if (resolutions.has(intentId)) break;
        resolutions.set(intentId, envelope(row, 'intent.resolved'));
        const sealed = text(row.sealed);
        if (sealed !== undefined) sealedOf.set(intentId, sealedOutput(intentId, sealed));
        break;
      }
      default:
        break;
    }
  }
  if (proposed.length === 0 && models.length === 0) {
    throw new RecordingError(
      'not_found',
      `the audit log of env ${env} has no call of run ${runId}: check the run id and env (\`warden runs list\`); events reach the log a moment after they happen`,
    );
  }

  // A stable sort: calls sharing a step (a run resumed from step 1) keep the order proposed.
  const steps: RecordedStep[] = [...proposed]
    .sort((a, b) => a.step - b.step)
    .map((call) => {
      const approval = approvals.get(call.intentId);
      const resolved = resolutions.get(call.intentId);
      return {
        step: call.step,
        intent_id: call.intentId,
        tool: call.tool,
        args: call.args,
        output_from: 'log',
        ...(approval === undefined ? {} : { approval }),
        ...(resolved === undefined ? {} : { resolved }),
      };
    });
  const modelCalls: RecordedModelCall[] = models.map(({ intentId, taskClass }) => {
    const routed = routings.get(intentId);
    const resolved = resolutions.get(intentId);
    return {
      intent_id: intentId,
      task_class: taskClass,
      ...(routed === undefined ? {} : { routed }),
      ...(resolved === undefined ? {} : { resolved }),
    };
  });
  const sealed = steps.flatMap((step) => {
    const output = sealedOf.get(step.intent_id);
    return output === undefined ? [] : [{ intent_id: step.intent_id, sealed: output }];
  });
  return {
    recording: {
      format: RECORDING_FORMAT,
      env,
      run_id: runId,
      ...(agentId === undefined ? {} : { agent_id: agentId }),
      ...(workflow === undefined ? {} : { workflow }),
      ...release,
      steps,
      model_calls: modelCalls,
    },
    sealed,
  };
}

/**
 * The recording with the raw outputs the executor opened (`outputs-open`, one per sealed step)
 * in place of the log's redacted copies.
 *
 * @throws RecordingError `output_unavailable` when one did not open: serving its redacted copy
 *   instead would feed the agent a world it never saw.
 */
export function withOpenedOutputs(
  recording: RunRecording,
  opened: readonly OpenedOutput[],
): RunRecording {
  const byIntent = new Map(opened.map((output) => [output.intent_id, output]));
  const steps = recording.steps.map((step): RecordedStep => {
    const output = byIntent.get(step.intent_id);
    if (output === undefined || step.resolved === undefined) return step;
    if (output.status !== 'opened') {
      throw new RecordingError(
        'output_unavailable',
        `the sealed output of step ${step.step} (${step.tool}, intent ${step.intent_id}) is ${output.status === 'erased' ? "erased (the run's key is gone)" : "unreadable with the run's key"}: this run cannot be replayed as the agent saw it`,
      );
    }
    const resolved = {
      ...step.resolved,
      data: { ...step.resolved.data, output: output.output },
    };
    return { ...step, output_from: 'sealed', resolved };
  });
  return { ...recording, steps };
}

/**
 * A stored row as the event it was: the envelope's columns put back together, `data` parsed
 * from its (redacted) JSON, checked against the type's contract.
 */
function envelope<T extends keyof typeof ENVELOPES>(
  row: Record<string, unknown>,
  type: T,
): Stored<T> {
  const candidate = {
    event_id: row.event_id,
    type,
    env: row.env,
    occurred_at: row.occurred_at,
    producer: {
      service: row.producer_service,
      // Empty only on rows the collector wrote itself (rejections), never on a run's events.
      instance: text(row.producer_instance) ?? 'unknown',
      version: text(row.producer_version) ?? 'unknown',
    },
    ...optionalColumns(row, ['run_id', 'intent_id', 'agent_id', 'workflow']),
    causation_id: row.causation_id,
    correlation_id: row.correlation_id,
    data: typeof row.data === 'string' ? (JSON.parse(row.data) as unknown) : row.data,
  };
  const parsed = ENVELOPES[type].safeParse(candidate);
  if (!parsed.success) {
    throw new RecordingError(
      'invalid',
      `the stored ${type} of intent ${String(row.intent_id)} does not read back as the contract says: ${z.prettifyError(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

function optionalColumns(row: Record<string, unknown>, columns: readonly string[]) {
  return Object.fromEntries(
    columns.flatMap((column) => {
      const value = text(row[column]);
      return value === undefined ? [] : [[column, value]];
    }),
  );
}

function sealedOutput(intentId: string, stored: string): SealedOutput {
  const parsed = SealedOutput.safeParse(JSON.parse(stored));
  if (!parsed.success) {
    throw new RecordingError(
      'invalid',
      `the stored sealed output of intent ${intentId} is not a sealed output: the row changed after the collector stored it`,
    );
  }
  return parsed.data;
}

/** A non-empty string column, else `undefined` (ClickHouse stores absent text as `''`). */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
