import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { memoryDestination } from './memory-destination.js';
import { startTelemetry, type TelemetryHandle } from './telemetry.js';
import {
  currentTraceparent,
  extractContext,
  injectTraceparent,
  parseTraceparent,
  withSpan,
} from './trace-context.js';

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;
const exporter = new InMemorySpanExporter();
let telemetry: TelemetryHandle;

beforeAll(() => {
  telemetry = startTelemetry({
    serviceName: 'trace-context-spec',
    serviceVersion: '0.0.0',
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
});
afterAll(() => telemetry.shutdown());
beforeEach(() => {
  exporter.reset();
});

function finished(name: string) {
  const span = exporter.getFinishedSpans().find((s) => s.name === name);
  if (span === undefined) throw new Error(`no finished span ${name}`);
  return span;
}

describe('withSpan + injectTraceparent + extractContext', () => {
  it('carries a run across a message hop: the consumer span is a child of the publisher span', async () => {
    const headers: Record<string, string> = {};
    const published = await withSpan('publish', { kind: SpanKind.PRODUCER }, async () => {
      await Promise.resolve();
      return injectTraceparent(headers);
    });
    expect(published).toMatch(TRACEPARENT);
    expect(headers['traceparent']).toBe(published);

    // The consumer sees only the headers, as from NATS.
    const parent = extractContext((name) => headers[name]);
    await withSpan('consume', { parent, kind: SpanKind.CONSUMER }, async () => {
      await Promise.resolve();
    });

    const publish = finished('publish');
    const consume = finished('consume');
    expect(consume.spanContext().traceId).toBe(publish.spanContext().traceId);
    expect(consume.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    expect(consume.parentSpanContext?.isRemote).toBe(true);
    expect(consume.kind).toBe(SpanKind.CONSUMER);
    expect(consume.status.code).toBe(SpanStatusCode.OK);
  });

  it('works with real NATS message headers (MsgHdrs), and with none', () => {
    // Only this test touches NATS: the library itself stays transport-agnostic.
    const headers = natsHeaders();
    withSpan('nats-publish', {}, () => injectTraceparent(headers));
    withSpan('nats-consume', { parent: extractContext(headers) }, () => undefined);
    expect(finished('nats-consume').parentSpanContext?.spanId).toBe(
      finished('nats-publish').spanContext().spanId,
    );
    expect(extractContext(undefined)).toBe(ROOT_CONTEXT);
  });

  it('accepts a traceparent string as parent and `set` carriers such as NATS headers', () => {
    const carrier = new Map<string, string>();
    withSpan('outer', {}, (span) => injectTraceparent(carrier, span));
    withSpan('inner', { parent: carrier.get('traceparent')! }, () => undefined);
    expect(finished('inner').parentSpanContext?.spanId).toBe(
      finished('outer').spanContext().spanId,
    );
  });

  it('reads headers from a get() carrier that returns "" when absent, and case-insensitively from records', () => {
    const natsLike = { get: (name: string) => (name === 'traceparent' ? '' : '') };
    expect(trace.getSpanContext(extractContext(natsLike))).toBeUndefined();
    // A `get`+`keys` carrier (NATS MsgHdrs) whose publisher wrote `Traceparent`.
    const written = new Map([
      ['Traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ]);
    expect(trace.getSpanContext(extractContext(written))?.spanId).toBe('00f067aa0ba902b7');
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const ctx = extractContext({ Traceparent: traceparent });
    expect(trace.getSpanContext(ctx)).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      isRemote: true,
    });
  });

  it('starts a new trace on a malformed traceparent instead of failing', () => {
    for (const bad of [
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    withSpan('fresh', { parent: 'garbage' }, () => undefined);
    expect(finished('fresh').parentSpanContext).toBeUndefined();
  });

  it('keeps tracestate across the hop', () => {
    const incoming = {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=abc',
    };
    const out: Record<string, string> = {};
    withSpan('relay', { parent: extractContext(incoming) }, () => injectTraceparent(out));
    expect(out['tracestate']).toBe('vendor=abc');
    expect(out['traceparent']).toContain('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('records a thrown exception, marks the span as an error, ends it and rethrows', async () => {
    expect(() =>
      withSpan('sync-fail', {}, () => {
        throw new Error('sync boom');
      }),
    ).toThrow('sync boom');
    await expect(
      withSpan('async-fail', { attributes: { 'warden.tool': 'x' } }, async () => {
        await Promise.resolve();
        throw new Error('async boom');
      }),
    ).rejects.toThrow('async boom');

    for (const [name, message] of [
      ['sync-fail', 'sync boom'],
      ['async-fail', 'async boom'],
    ] as const) {
      const span = finished(name);
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(span.events.map((e) => e.name)).toContain('exception');
    }
    expect(finished('async-fail').attributes['warden.tool']).toBe('x');
  });

  it('keeps a status set by the function itself', () => {
    withSpan('handled', {}, (span) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'rejected by policy' });
    });
    expect(finished('handled').status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'rejected by policy',
    });
  });

  it('is the active span for the function, so logs carry trace_id and span_id', async () => {
    const destination = memoryDestination();
    const logger = createLogger({ service: 'svc', destination });
    const traceparent = await withSpan('logged', {}, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info('inside');
      return currentTraceparent();
    });
    logger.info('outside');
    const [, traceId, spanId] = traceparent!.split('-');
    expect(destination.records[0]).toMatchObject({ trace_id: traceId, span_id: spanId });
    expect(destination.records[1]).not.toHaveProperty('trace_id');
    expect(currentTraceparent(context.active())).toBeUndefined();
  });
});
