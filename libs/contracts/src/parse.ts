import type { z } from 'zod';
import { ENVELOPES, type Envelope } from './envelope.js';
import { isEventType } from './events/index.js';
import type { RejectionReason } from './events/system.js';
import { NO_AGENT, parseEventSubject } from './subjects.js';

/** The largest event accepted on the stream, in bytes of its JSON (DESIGN §3). */
export const MAX_EVENT_BYTES = 256 * 1024;

/** Where a message came from, to check it against its envelope. */
export interface ParseContext {
  /** The env of the consuming deployment: events of another env are refused. */
  env?: string;
  /** The subject the message arrived on: its env, type and agent must match the envelope. */
  subject?: string;
  maxBytes?: number;
}

/** The outcome of {@link parseEvent}: a typed event, or why the message is not one. */
export type ParseResult =
  | { ok: true; event: Envelope }
  | { ok: false; reason: RejectionReason; detail: string; eventId?: string; type?: string };

const decoder = new TextDecoder();

/**
 * Parses and validates one message as an event: size, JSON, envelope, known type, the type's data
 * schema, the env and the subject. Never throws: every way a message can be wrong is a reason code.
 */
export function parseEvent(raw: Uint8Array | string, context: ParseContext = {}): ParseResult {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  const maxBytes = context.maxBytes ?? MAX_EVENT_BYTES;
  if (size > maxBytes) {
    return {
      ok: false,
      reason: 'oversize',
      detail: `event is ${size} bytes; the limit is ${maxBytes}`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : decoder.decode(raw));
  } catch (error) {
    return { ok: false, reason: 'malformed_json', detail: (error as Error).message };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'invalid_envelope', detail: 'an event must be a JSON object' };
  }
  const candidate = value as Record<string, unknown>;
  const type = candidate.type;
  const eventId =
    typeof candidate.event_id === 'string' ? candidate.event_id.slice(0, 64) : undefined;
  if (typeof type !== 'string') {
    return {
      ok: false,
      reason: 'invalid_envelope',
      detail: 'type: required string',
      ...(eventId && { eventId }),
    };
  }
  const ids = { ...(eventId && { eventId }), type: type.slice(0, 64) };
  if (!isEventType(type)) {
    return {
      ok: false,
      reason: 'unknown_type',
      detail: `unknown event type ${JSON.stringify(type.slice(0, 64))}`,
      ...ids,
    };
  }
  const parsed = ENVELOPES[type].safeParse(candidate);
  if (!parsed.success) {
    const inData = parsed.error.issues.every((issue) => issue.path[0] === 'data');
    return {
      ok: false,
      reason: inData ? 'invalid_data' : 'invalid_envelope',
      detail: describeIssues(parsed.error),
      ...ids,
    };
  }
  const event = parsed.data;
  if (context.env !== undefined && event.env !== context.env) {
    return {
      ok: false,
      reason: 'wrong_env',
      detail: `event env ${event.env} is not this deployment's env ${context.env}`,
      ...ids,
    };
  }
  if (context.subject !== undefined) {
    const mismatch = subjectMismatch(context.subject, event);
    if (mismatch) return { ok: false, reason: 'subject_mismatch', detail: mismatch, ...ids };
  }
  return { ok: true, event };
}

function subjectMismatch(subject: string, event: Envelope): string | undefined {
  const parsed = parseEventSubject(subject);
  if (!parsed) return `subject ${subject} is not warden.<env>.evt.<type>.<agent>`;
  if (parsed.env !== event.env)
    return `subject env ${parsed.env} differs from event env ${event.env}`;
  if (parsed.type !== event.type)
    return `subject type ${parsed.type} differs from event type ${event.type}`;
  const agent = event.agent_id ?? NO_AGENT;
  if (parsed.agent !== agent)
    return `subject agent ${parsed.agent} differs from event agent ${agent}`;
  return undefined;
}

/** Lists every validation issue as `path: message`, one per line, bounded for storage. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('\n')
    .slice(0, 4000);
}
