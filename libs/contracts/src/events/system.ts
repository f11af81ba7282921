import { z } from 'zod';
import { ReasonCode } from './common.js';

/** Why an incoming message was not accepted as an event. */
export const RejectionReason = z.enum([
  'oversize',
  'malformed_json',
  'invalid_envelope',
  'unknown_type',
  'invalid_data',
  'wrong_env',
  'subject_mismatch',
]);
export type RejectionReason = z.infer<typeof RejectionReason>;

/**
 * `event.rejected`: a message on the event stream that is not a valid event. It is acked (never
 * retried: it would fail again) and recorded with its reason, so nothing is silently dropped.
 */
export const EventRejected = z.strictObject({
  reason: RejectionReason,
  detail: z.string().max(4096),
  subject: z.string().max(1024),
  stream_seq: z.number().int().nonnegative(),
  size_bytes: z.number().int().nonnegative(),
  /** The start of the raw message (at most 4 KiB), redacted before storage. */
  excerpt: z.string().max(4096),
  /** The consumer (service) that rejected it. */
  consumer: z.string().max(256),
});

/** `event.dead_lettered`: a valid event whose handler kept failing until `MaxDeliver`. */
export const EventDeadLettered = z.strictObject({
  reason: ReasonCode,
  detail: z.string().max(4096),
  subject: z.string().max(1024),
  stream_seq: z.number().int().nonnegative(),
  deliveries: z.number().int().positive(),
  consumer: z.string().max(256),
  original_event_id: z.string().optional(),
  original_type: z.string().optional(),
});
