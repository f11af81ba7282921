import { headers } from '@nats-io/transport-node';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { extractTraceContext, headersToRecord, injectTraceHeaders } from './trace-headers.js';

// No OpenTelemetry SDK is registered in this file: the global propagator is a no-op, which is
// exactly the case the fallback covers.
const spanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
};

describe('injectTraceHeaders', () => {
  it('writes traceparent for the given context even without a registered propagator', () => {
    const h = headers();
    injectTraceHeaders(h, trace.setSpanContext(ROOT_CONTEXT, spanContext));
    expect(h.get('traceparent')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });

  it('writes nothing outside any span', () => {
    const h = headers();
    injectTraceHeaders(h, context.active());
    expect(h.keys()).toEqual([]);
  });
});

describe('extractTraceContext', () => {
  it('reads traceparent in any letter case into a remote parent', () => {
    const h = headers();
    h.set('Traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const parent = trace.getSpanContext(extractTraceContext(h));
    expect(parent).toMatchObject({ ...spanContext, isRemote: true });
  });

  it('starts a new trace for a missing or malformed header', () => {
    expect(trace.getSpanContext(extractTraceContext(undefined))).toBeUndefined();
    const h = headers();
    h.set('traceparent', '00-00000000000000000000000000000000-00f067aa0ba902b7-01');
    expect(trace.getSpanContext(extractTraceContext(h))).toBeUndefined();
  });
});

describe('headersToRecord', () => {
  it('keeps the first value of each header', () => {
    const h = headers();
    h.append('a', '1');
    h.append('a', '2');
    h.set('Nats-Msg-Id', 'x');
    expect(headersToRecord(h)).toEqual({ a: '1', 'Nats-Msg-Id': 'x' });
    expect(headersToRecord(undefined)).toBeUndefined();
  });
});
