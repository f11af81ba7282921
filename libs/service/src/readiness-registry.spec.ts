import { describe, expect, it } from 'vitest';
import { ReadinessRegistry } from './readiness-registry.js';
import { ReadinessCheckExistsError } from './service.errors.js';

describe('ReadinessRegistry', () => {
  it('is ready with no checks', async () => {
    expect(await new ReadinessRegistry().check()).toEqual({ ok: true, checks: {} });
  });

  it('is ready only when every check passes, and reports each one', async () => {
    const registry = new ReadinessRegistry();
    registry.register('nats', () => true);
    registry.register('event-store', () => Promise.resolve({ ok: false, detail: 'chdb not open' }));
    expect(await registry.check()).toEqual({
      ok: false,
      checks: { nats: { ok: true }, 'event-store': { ok: false, detail: 'chdb not open' } },
    });
  });

  it('counts a throwing or hanging check as failed', async () => {
    const registry = new ReadinessRegistry({ checkTimeoutMs: 20 });
    registry.register('throws', () => {
      throw new Error('consumer stopped');
    });
    registry.register('hangs', () => new Promise<boolean>(() => undefined));
    const report = await registry.check();
    expect(report.ok).toBe(false);
    expect(report.checks).toEqual({
      throws: { ok: false, detail: 'consumer stopped' },
      hangs: { ok: false, detail: 'timed out after 20 ms' },
    });
  });

  it('refuses a second check under the same name, and unregisters', async () => {
    const registry = new ReadinessRegistry();
    const unregister = registry.register('nats', () => false);
    expect(() => registry.register('nats', () => true)).toThrow(ReadinessCheckExistsError);
    unregister();
    expect(await registry.check()).toEqual({ ok: true, checks: {} });
  });

  it('reports not ready once shutting down, without running the checks', async () => {
    const registry = new ReadinessRegistry();
    let ran = false;
    registry.register('nats', () => (ran = true));
    registry.markShuttingDown();
    expect(await registry.check()).toEqual({
      ok: false,
      checks: { shutdown: { ok: false, detail: 'shutting down' } },
    });
    expect(ran).toBe(false);
  });
});
