import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import {
  apiReply,
  AuditTimelineResult,
  CREDENTIAL_HEADER,
  MAX_OUTPUTS_PER_OPEN,
  OutputsOpenResult,
  subjects,
  type AuditTimelineRequest,
  type OpenedOutput,
  type OutputsOpenRequest,
} from '@warden/contracts';
import type { z } from 'zod';
import { RecordingError } from './errors.js';
import { recordingFromTimeline, withOpenedOutputs, type RunRecording } from './recording.js';

/** The most events one timeline read returns (the audit API's cap). */
const MAX_TIMELINE_EVENTS = 10_000;
/** How long the collector and the executor get to answer one request. */
const REQUEST_TIMEOUT_MS = 30_000;

/** What {@link fetchRecording} needs. */
export interface FetchRecordingRequest {
  /** The env the run belongs to. */
  readonly env: string;
  /** The recorded run. */
  readonly runId: string;
  /**
   * A human token with the `admin` role (`warden login`'s, or WARDEN_TOKEN): the executor opens
   * sealed outputs for admins only. Sent in `Warden-Credential`, never logged.
   */
  readonly token: string;
  /** Why the outputs are opened, for the log (`run.outputs_opened`): `replay with prompt v7`. */
  readonly purpose: string;
}

/**
 * Reads a run's recording over `nc`: its timeline from the trace collector (`audit.timeline`),
 * then its sealed outputs opened by the tool executor (`tools.outputs-open`, which logs
 * `run.outputs_opened` with who and why before it answers). Publishes nothing on the stream.
 *
 * @throws RecordingError `not_found`, `incomplete` (more events than one read returns),
 *   `output_unavailable` (an output's key was erased), `refused` (an API refused or is absent).
 */
export async function fetchRecording(
  nc: NatsConnection,
  request: FetchRecordingRequest,
): Promise<RunRecording> {
  const { env, runId } = request;
  const timeline: AuditTimelineRequest = { run_id: runId, limit: MAX_TIMELINE_EVENTS };
  const { events } = await ask(
    nc,
    subjects.api(env, 'audit', 'timeline'),
    timeline,
    AuditTimelineResult,
    'trace collector',
    env,
  );
  if (events.length >= MAX_TIMELINE_EVENTS) {
    throw new RecordingError(
      'incomplete',
      `run ${runId} has ${MAX_TIMELINE_EVENTS} events or more, more than one timeline read returns: it cannot be recorded whole`,
    );
  }
  const { recording, sealed } = recordingFromTimeline(env, runId, events);
  const opened: OpenedOutput[] = [];
  for (let start = 0; start < sealed.length; start += MAX_OUTPUTS_PER_OPEN) {
    const body: z.input<typeof OutputsOpenRequest> = {
      run_id: runId,
      purpose: request.purpose,
      outputs: sealed.slice(start, start + MAX_OUTPUTS_PER_OPEN),
    };
    const result = await ask(
      nc,
      subjects.api(env, 'tools', 'outputs-open'),
      body,
      OutputsOpenResult,
      'tool executor',
      env,
      { [CREDENTIAL_HEADER]: request.token },
    );
    opened.push(...result.outputs);
  }
  return withOpenedOutputs(recording, opened);
}

/** One request/reply of a Warden API, its answer checked against the contract. */
async function ask<R extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  body: unknown,
  result: R,
  service: string,
  env: string,
  headerValues: Record<string, string> = {},
): Promise<z.infer<R>> {
  const headers = natsHeaders();
  for (const [name, value] of Object.entries(headerValues)) headers.set(name, value);
  let message;
  try {
    message = await nc.request(subject, JSON.stringify(body), {
      timeout: REQUEST_TIMEOUT_MS,
      headers,
    });
  } catch (error) {
    throw new RecordingError(
      'refused',
      `no ${service} answered for env "${env}": start Warden (\`npm start\`, or \`warden up --env ${env}\`)`,
      { cause: error },
    );
  }
  const parsed = apiReply(result).safeParse(message.json());
  if (!parsed.success) {
    throw new RecordingError(
      'refused',
      `the ${service} sent an answer this SDK does not understand`,
    );
  }
  // zod's inferred union does not narrow on `ok` while R is generic: name its two halves.
  const answer = parsed.data as
    { ok: true; result: z.infer<R> } | { ok: false; error: { code: string; message: string } };
  if (!answer.ok) {
    throw new RecordingError(
      'refused',
      `the ${service} refused (${answer.error.code}): ${answer.error.message}${answer.error.code === 'forbidden' || answer.error.code === 'unauthenticated' ? ' — opening sealed outputs needs a human token with the admin role' : ''}`,
    );
  }
  return answer.result;
}
