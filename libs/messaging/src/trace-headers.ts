import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { Match, type MsgHdrs } from '@nats-io/transport-node';

/** The W3C Trace Context header names (lower case, as the W3C propagator writes them). */
export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

const setter: TextMapSetter<MsgHdrs> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

// NATS headers keep the case the publisher wrote; an SDK in another language may write
// `Traceparent`, so lookups ignore case. `MsgHdrs.get` returns '' for a missing header.
const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys(carrier) {
    return carrier?.keys() ?? [];
  },
  get(carrier, key) {
    const value = carrier?.get(key, Match.IgnoreCase);
    return value === undefined || value === '' ? undefined : value;
  },
};

/**
 * Writes the active trace context into outgoing NATS headers through the registered OpenTelemetry
 * propagator (`traceparent`, `tracestate`, and whatever else it carries, e.g. baggage).
 *
 * When no SDK registered a W3C propagator (a CLI, a test, `OTEL_PROPAGATORS=b3`) but a span is
 * active, `traceparent` is written directly: DESIGN §9 wants it on every event so one run stays
 * one trace whatever each process configured.
 */
export function injectTraceHeaders(headers: MsgHdrs, from: Context = context.active()): void {
  propagation.inject(from, headers, setter);
  if (headers.has(TRACEPARENT, Match.IgnoreCase)) return;
  const spanContext = trace.getSpanContext(from);
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return;
  const sampled = (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0;
  const flags = sampled ? '01' : '00';
  headers.set(TRACEPARENT, `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`);
  const state = spanContext.traceState?.serialize();
  if (state) headers.set(TRACESTATE, state);
}

const TRACEPARENT_PATTERN = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The context a message's handler runs in: its parent is the remote span named by the message's
 * `traceparent`. Starts from the root context, not the active one, so a message without a trace
 * starts a new trace instead of joining whatever the consumer loop runs in.
 */
export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  const extracted = propagation.extract(ROOT_CONTEXT, headers, getter);
  if (trace.getSpanContext(extracted) !== undefined) return extracted;
  // No W3C propagator registered: read `traceparent` ourselves (see injectTraceHeaders).
  const match = TRACEPARENT_PATTERN.exec(getter.get(headers, TRACEPARENT)?.toString() ?? '');
  if (match === null) return extracted;
  const [, traceId = '', spanId = '', flags = '00'] = match;
  const spanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(extracted, spanContext) : extracted;
}

/** A message's headers as a plain record (the first value of each), or `undefined` if none. */
export function headersToRecord(headers: MsgHdrs | undefined): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  const record: Record<string, string> = {};
  for (const key of headers.keys()) record[key] = headers.get(key);
  return record;
}
