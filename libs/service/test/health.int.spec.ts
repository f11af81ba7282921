import { Inject, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { createLogger, memoryDestination } from '@warden/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseServiceConfig,
  parseConfig,
  ReadinessRegistry,
  runService,
  type RunningService,
  SERVICE_CONFIG,
  SERVICE_INFO,
} from '../src/index.js';

/** What the test flips: the state of the service's "dependencies". */
const world = {
  natsConnected: true,
  drainGate: Promise.resolve(),
  drained: false,
};

@Injectable()
class NatsProbe {
  constructor(@Inject(ReadinessRegistry) readiness: ReadinessRegistry) {
    readiness.register('nats', () =>
      world.natsConnected
        ? { ok: true }
        : { ok: false, detail: 'disconnected from nats://127.0.0.1:4222' },
    );
  }
}

@Injectable()
class Drainer implements OnModuleDestroy {
  constructor(@Inject(SERVICE_CONFIG) readonly config: BaseServiceConfig) {}

  async onModuleDestroy(): Promise<void> {
    await world.drainGate;
    world.drained = true;
  }
}

@Module({ providers: [NatsProbe, Drainer] })
class ProbedModule {}

const config = parseConfig(BaseServiceConfig, { WARDEN_ENV: 'health-int', HTTP_PORT: '0' }, 'svc');
let service: RunningService | undefined;

async function start(
  options: { config?: BaseServiceConfig; host?: string } = { host: '127.0.0.1' },
): Promise<RunningService> {
  service = await runService({
    name: 'probed',
    version: '1.2.3',
    module: ProbedModule,
    config: options.config ?? config,
    ...(options.host === undefined ? {} : { host: options.host }),
    logger: createLogger({ service: 'probed', destination: memoryDestination() }),
    shutdown: false,
    telemetry: false,
  });
  return service;
}

async function get(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${service!.url}${path}`);
  return { status: response.status, body: await response.json() };
}

afterEach(async () => {
  await service?.stop();
  service = undefined;
  world.natsConnected = true;
  world.drainGate = Promise.resolve();
  world.drained = false;
});

describe('health endpoints of a service started by runService', () => {
  it('serves /healthz and /readyz on an ephemeral port', async () => {
    const { port } = await start();
    expect(port).toBeGreaterThan(0);
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz')).toEqual({
      status: 200,
      body: { status: 'ok', checks: { nats: { ok: true } } },
    });
  });

  it('answers 503 with the failing check while a dependency is down, and 200 again after', async () => {
    await start();
    world.natsConnected = false;
    expect(await get('/readyz')).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        checks: { nats: { ok: false, detail: 'disconnected from nats://127.0.0.1:4222' } },
      },
    });
    // Liveness does not depend on NATS: restarting the process would not bring it back.
    expect((await get('/healthz')).status).toBe(200);
    world.natsConnected = true;
    expect((await get('/readyz')).status).toBe(200);
  });

  it('turns /readyz to 503 as soon as shutdown starts, while destroy hooks still drain', async () => {
    const running = await start();
    let releaseDrain!: () => void;
    world.drainGate = new Promise<void>((resolve) => {
      releaseDrain = resolve;
    });

    const closed = running.stop('SIGTERM');
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(world.drained).toBe(false);
      expect(await get('/readyz')).toEqual({
        status: 503,
        body: { status: 'not_ready', checks: { shutdown: { ok: false, detail: 'shutting down' } } },
      });
    } finally {
      releaseDrain();
    }
    await closed;
    expect(world.drained).toBe(true);
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
  });

  it('listens on every interface by default, and on HTTP_HOST alone when it is set', async () => {
    const everywhere = await start({});
    const bound = everywhere.app.getHttpServer().address();
    // '::' where the machine has IPv6, '0.0.0.0' where it has not: every interface either way.
    expect(['::', '0.0.0.0']).toContain(typeof bound === 'object' ? bound?.address : bound);
    await everywhere.stop();
    const loopback = await start({
      config: parseConfig(
        BaseServiceConfig,
        { WARDEN_ENV: 'health-int', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1' },
        'svc',
      ),
    });
    expect(loopback.app.getHttpServer().address()).toMatchObject({ address: '127.0.0.1' });
    expect(loopback.url).toBe(`http://127.0.0.1:${loopback.port}`);
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('provides the parsed configuration and service identity under tokens', async () => {
    const running = await start();
    expect(running.app.get(Drainer).config).toBe(config);
    expect(running.app.get(SERVICE_INFO)).toMatchObject({
      name: 'probed',
      version: '1.2.3',
      env: 'health-int',
    });
  });
});
