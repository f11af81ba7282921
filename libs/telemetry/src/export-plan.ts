/** Which signals the process exports; see {@link resolveExportPlan}. */
export interface ExportPlan {
  /** Spans leave the process (OTLP, console, zipkin… as OTEL_TRACES_EXPORTER says). */
  traces: boolean;
  /** Metrics leave the process (OTLP, console, prometheus… as OTEL_METRICS_EXPORTER says). */
  metrics: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

function exportersOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
}

function signalExports(env: Env, exporterVar: string, endpointVar: string): boolean {
  const exporters = exportersOf(env[exporterVar]);
  // The OTel spec: `none` wins over anything listed with it.
  if (exporters.includes('none')) return false;
  if (exporters.length > 0) return true;
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim() || env[endpointVar]?.trim());
}

/**
 * Decides what to export from the standard OTEL_* variables, with one deliberate difference from
 * the OTel SDK: nothing is exported unless asked for. The SDK's default is OTLP to localhost:4318,
 * which on a laptop without a collector means errors on every flush (and, per our dependency spike,
 * a crashed process on some versions). Asking means an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`
 * or the per-signal one) or an explicit exporter list other than `none`.
 */
export function resolveExportPlan(env: Env): ExportPlan {
  return {
    traces: signalExports(env, 'OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
    metrics: signalExports(env, 'OTEL_METRICS_EXPORTER', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'),
  };
}
