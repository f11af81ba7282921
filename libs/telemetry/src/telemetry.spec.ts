import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTelemetry } from './telemetry.js';
import { injectTraceparent, withSpan } from './trace-context.js';

beforeAll(() => {
  for (const key of Object.keys(process.env).filter((k) => k.startsWith('OTEL_'))) {
    vi.stubEnv(key, undefined);
  }
});
afterAll(() => {
  vi.unstubAllEnvs();
});

describe('startTelemetry without any exporter configured', () => {
  it('exports nothing, yet creates real spans whose traceparent propagates', async () => {
    const telemetry = startTelemetry({ serviceName: 'telemetry-spec', serviceVersion: '0.0.0' });
    expect(telemetry.exporting).toEqual({ traces: false, metrics: false });

    const headers: Record<string, string> = {};
    const spanContext = withSpan('work', {}, (span) => {
      injectTraceparent(headers);
      return span.spanContext();
    });
    expect(trace.isSpanContextValid(spanContext)).toBe(true);
    expect(headers['traceparent']).toBe(`00-${spanContext.traceId}-${spanContext.spanId}-01`);

    await telemetry.shutdown();
  });

  it('is a no-op returning the same handle when called twice (embedded mode)', async () => {
    const first = startTelemetry({ serviceName: 'warden', serviceVersion: '0.0.0' });
    const second = startTelemetry({ serviceName: 'policy-decision', serviceVersion: '0.0.0' });
    expect(second).toBe(first);
    await first.shutdown();
    await second.shutdown();
  });
});
