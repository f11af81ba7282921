import { describe, expect, it } from 'vitest';
import { resolveExportPlan } from './export-plan.js';

describe('resolveExportPlan', () => {
  it('exports nothing when nothing is configured (no OTLP to localhost by default)', () => {
    expect(resolveExportPlan({})).toEqual({ traces: false, metrics: false });
  });

  it('exports traces and metrics when an OTLP endpoint is set', () => {
    expect(resolveExportPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' })).toEqual({
      traces: true,
      metrics: true,
    });
  });

  it('honours per-signal endpoints and exporters', () => {
    expect(
      resolveExportPlan({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://otel:4318/v1/traces' }),
    ).toEqual({ traces: true, metrics: false });
    expect(resolveExportPlan({ OTEL_TRACES_EXPORTER: 'console' })).toEqual({
      traces: true,
      metrics: false,
    });
  });

  it('lets `none` win over an endpoint', () => {
    expect(
      resolveExportPlan({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
        OTEL_TRACES_EXPORTER: 'otlp, none',
        OTEL_METRICS_EXPORTER: 'none',
      }),
    ).toEqual({ traces: false, metrics: false });
  });

  it('ignores blank values', () => {
    expect(
      resolveExportPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ', OTEL_TRACES_EXPORTER: '' }),
    ).toEqual({ traces: false, metrics: false });
  });
});
