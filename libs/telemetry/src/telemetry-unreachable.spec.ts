import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.js';
import { memoryDestination } from './memory-destination.js';
import { startTelemetry } from './telemetry.js';
import { withSpan } from './trace-context.js';

// A port that was free a moment ago: nothing listens there, so every export is refused.
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', `http://127.0.0.1:${await closedPort()}`);
  vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '20');
  vi.stubEnv('OTEL_EXPORTER_OTLP_TIMEOUT', '500');
});
afterAll(() => {
  vi.unstubAllEnvs();
});

describe('startTelemetry with an unreachable collector', () => {
  it('keeps running, logs the export failure, and shuts down within its bound', async () => {
    const destination = memoryDestination();
    const logger = createLogger({ service: 'svc', destination });
    const telemetry = startTelemetry({
      serviceName: 'telemetry-unreachable-spec',
      serviceVersion: '0.0.0',
      logger,
      shutdownTimeoutMs: 2_000,
    });
    expect(telemetry.exporting.traces).toBe(true);

    for (let i = 0; i < 10; i++) withSpan(`span-${i}`, {}, () => undefined);
    // Let the batch processor try (and fail) a few times.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const started = Date.now();
    await telemetry.shutdown();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(destination.records.some((r) => r['component'] === 'otel')).toBe(true);
  });
});
