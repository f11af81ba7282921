import { ReasonCode, sha256, type DataOf } from '@warden/contracts';
import type { ExecutionOutcome } from './execution-record.js';
import { ExecutorReason } from './reasons.js';
import type { ToolResult } from './tools.js';

/**
 * The default cap on the JSON of an output carried by `intent.resolved`: 64 KiB keeps the event
 * well under the 256 KiB event limit (DESIGN §3) with room for the envelope and a message.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;

/** An output as it is recorded and published: the original if small enough, else a marker. */
export interface CappedOutput {
  /** The output, or `{ truncated: true, bytes }` when its JSON is over the cap. */
  readonly output: unknown;
  /** Whether the output was replaced. */
  readonly truncated: boolean;
  /** UTF-8 bytes of the original output's JSON. */
  readonly bytes: number;
  /** sha256 of the original output's JSON: proof of what the tool returned, whatever the cap. */
  readonly digest: string;
}

/**
 * Caps an output for an event: one whose JSON is over `maxBytes` is replaced by
 * `{ truncated: true, bytes }`. Returns `undefined` for no output; throws if the output has no
 * JSON form (a BigInt, a cycle).
 */
export function capOutput(output: unknown, maxBytes: number): CappedOutput | undefined {
  // JSON.stringify returns undefined (despite its type) for undefined and functions.
  const json = JSON.stringify(output) as string | undefined;
  if (json === undefined) return undefined;
  const bytes = Buffer.byteLength(json);
  const digest = sha256(json);
  if (bytes <= maxBytes)
    return { output: JSON.parse(json) as unknown, truncated: false, bytes, digest };
  return { output: { truncated: true, bytes }, truncated: true, bytes, digest };
}

/** How a finished attempt is recorded: its outcome and the digest of its full output. */
export interface Settlement {
  readonly outcome: ExecutionOutcome;
  readonly resultDigest?: string;
  /** Whether the output was too big and replaced by a marker (for the log). */
  readonly truncated: boolean;
}

/**
 * Turns what the tool gave into the outcome recorded and published: `executed` with the (capped)
 * output, `failed` when the tool reported a failure that changed nothing, `in_doubt` when a write
 * may have happened without an answer (DESIGN §5: a human checks, nothing retries it).
 */
export function settle(result: ToolResult, durationMs: number, maxOutputBytes: number): Settlement {
  const duration_ms = Math.round(durationMs * 1000) / 1000;
  const upstream =
    result.upstreamStatus === undefined ? {} : { upstream_status: result.upstreamStatus };
  if (!result.ok) {
    return {
      outcome: {
        status: result.maybeApplied ? 'in_doubt' : 'failed',
        duration_ms,
        ...upstream,
        // A runner's own code is kept only if it is a valid reason code.
        reason: ReasonCode.safeParse(result.reason).success
          ? result.reason
          : ExecutorReason.toolFailed,
        message: result.message.slice(0, 2048),
      },
      truncated: false,
    };
  }
  let capped: CappedOutput | undefined;
  try {
    capped = capOutput(result.output, maxOutputBytes);
  } catch (error) {
    return {
      outcome: {
        status: 'failed',
        duration_ms,
        reason: ExecutorReason.invalidOutput,
        message:
          `the output has no JSON form: ${error instanceof Error ? error.message : String(error)}`.slice(
            0,
            2048,
          ),
      },
      truncated: false,
    };
  }
  if (capped === undefined)
    return { outcome: { status: 'executed', duration_ms, ...upstream }, truncated: false };
  return {
    outcome: { status: 'executed', output: capped.output, duration_ms, ...upstream },
    resultDigest: capped.digest,
    truncated: capped.truncated,
  };
}

/** The `intent.resolved` data of an execution's outcome. */
export function resolutionOf(tool: string, outcome: ExecutionOutcome): DataOf<'intent.resolved'> {
  return { ...outcome, stage: 'executor', tool };
}
