import {
  deriveEventId,
  formatMicros,
  type Envelope,
  type EventRejected,
  type RejectionReason,
} from '@warden/contracts';
import type { EventRow } from '@warden/event-store';
import { redact, redactText } from '@warden/redaction';
import type { z } from 'zod';

/** The longest excerpt of a rejected message kept for a person to inspect. */
const EXCERPT_BYTES = 4096;

/** Where a message sat in the stream: enough to name it when it is not a valid event. */
export interface StreamPosition {
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
}

/**
 * Maps a valid event to its `events` row: the data redacted, the columns analysts filter on lifted
 * out of `data` so that they need no JSON functions for the common questions. A sealed output
 * (`intent.resolved.sealed_output`) goes whole into the `sealed` column instead of `data`: it is
 * ciphertext, which redaction must not touch (a marker inside would make it unopenable) and
 * analysts have no use for.
 */
export function toEventRow(event: Envelope, seq: number): EventRow {
  const { sealed_output: sealedOutput, ...data } = event.data as Record<string, unknown>;
  const redacted = redact(data);
  return {
    event_id: event.event_id,
    type: event.type,
    env: event.env,
    occurred_at: event.occurred_at,
    stream_seq: seq,
    producer_service: event.producer.service,
    producer_instance: event.producer.instance,
    producer_version: event.producer.version,
    run_id: event.run_id ?? '',
    intent_id: event.intent_id ?? '',
    agent_id: event.agent_id ?? '',
    workflow: event.workflow ?? '',
    causation_id: event.causation_id,
    correlation_id: event.correlation_id,
    tool: text(data.tool) ?? text(data.name) ?? '',
    effect: text(data.effect) ?? '',
    status: text(data.status) ?? '',
    stage: text(data.stage) ?? '',
    reason: text(data.reason) ?? '',
    cost_micro_usd: int(data.cost_micro_usd) ?? int(data.reserved_micro_usd) ?? 0,
    latency_us: latencyMicros(data),
    data: JSON.stringify(redacted.value),
    sealed: sealedOutput === undefined ? '' : JSON.stringify(sealedOutput),
    redactions: redacted.kinds,
  };
}

/**
 * Maps a message that is not a valid event to an `event.rejected` row. Its id is derived from the
 * stream position, so the same message rejected again after a redelivery is stored once.
 */
export function toRejectedRow(
  env: string,
  position: StreamPosition,
  raw: Uint8Array,
  rejection: { reason: RejectionReason; detail: string },
  receivedAtMicros: number,
): EventRow {
  const eventId = deriveEventId(`${position.stream}:${position.seq}`, 'event.rejected');
  const excerpt = redactText(Buffer.from(raw.subarray(0, EXCERPT_BYTES)).toString('utf8'));
  const detail = redactText(rejection.detail.slice(0, 4096));
  const data: z.infer<typeof EventRejected> = {
    reason: rejection.reason,
    detail: detail.text,
    subject: position.subject.slice(0, 1024),
    stream_seq: position.seq,
    size_bytes: raw.byteLength,
    excerpt: excerpt.text.slice(0, EXCERPT_BYTES),
    consumer: 'trace-collector',
  };
  return {
    event_id: eventId,
    type: 'event.rejected',
    env,
    occurred_at: formatMicros(receivedAtMicros),
    stream_seq: position.seq,
    producer_service: 'trace-collector',
    producer_instance: '',
    producer_version: '',
    run_id: '',
    intent_id: '',
    agent_id: '',
    workflow: '',
    causation_id: eventId,
    correlation_id: eventId,
    tool: '',
    effect: '',
    status: '',
    stage: '',
    reason: rejection.reason,
    cost_micro_usd: 0,
    latency_us: 0,
    data: JSON.stringify(data),
    sealed: '',
    redactions: [...new Set([...excerpt.kinds, ...detail.kinds])].sort(),
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

/** The latency an event reports, whichever field its type uses, in microseconds. */
function latencyMicros(data: Record<string, unknown>): number {
  const micros = data.eval_us;
  if (typeof micros === 'number') return Math.round(micros);
  const millis = data.duration_ms ?? data.latency_ms;
  return typeof millis === 'number' ? Math.round(millis * 1000) : 0;
}
