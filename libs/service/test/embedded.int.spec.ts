import { EventEmitter } from 'node:events';
import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnModuleDestroy,
} from '@nestjs/common';
import { createLogger, memoryDestination } from '@warden/telemetry';
import { describe, expect, it } from 'vitest';
import {
  BaseServiceConfig,
  defineService,
  ReadinessRegistry,
  runService,
  type RunningService,
  SERVICE_INFO,
  type ServiceInfo,
  ShutdownCoordinator,
} from '../src/index.js';

// Several services in one process (the embedded `warden up`), one coordinator, fake signals.
const HOOK = Symbol('hook');
type Hook = (service: string) => Promise<void>;

@Injectable()
class Writer implements OnModuleDestroy {
  constructor(
    @Inject(SERVICE_INFO) private readonly info: ServiceInfo,
    @Inject(HOOK) private readonly hook: Hook,
  ) {}

  onModuleDestroy(): Promise<void> {
    return this.hook(this.info.name);
  }
}

@Module({})
class WriterModule {
  static with(hook: Hook): DynamicModule {
    return { module: WriterModule, providers: [Writer, { provide: HOOK, useValue: hook }] };
  }
}

function setup(timeoutMs: number) {
  const signals = new EventEmitter();
  const destination = memoryDestination();
  const logger = createLogger({ service: 'warden', destination });
  const exits: number[] = [];
  let exited!: () => void;
  const exitedPromise = new Promise<void>((resolve) => {
    exited = resolve;
  });
  const coordinator = new ShutdownCoordinator({
    logger,
    timeoutMs,
    signals,
    exit: (code) => {
      exits.push(code);
      exited();
    },
  });
  const start = (name: string, hook: Hook) =>
    runService({
      name,
      module: WriterModule.with(hook),
      config: { HTTP_PORT: 0, WARDEN_ENV: 'embedded-int' },
      host: '127.0.0.1',
      logger: logger.child({ service: name }),
      shutdown: coordinator,
      telemetry: false,
    });
  return {
    signals,
    coordinator,
    exits,
    exited: exitedPromise,
    records: destination.records,
    start,
  };
}

describe('several services in one process', () => {
  it('share one set of signal handlers; a SIGTERM marks all not ready, closes all, exits 0 once', async () => {
    const { signals, exits, exited, start } = setup(5_000);
    const services: RunningService[] = [];
    const seen: string[] = [];
    const hook: Hook = (name) => {
      // By the time any service drains, every service already reports not ready.
      const allNotReady = services.every((s) => s.app.get(ReadinessRegistry).isShuttingDown);
      seen.push(`${name}:${allNotReady ? 'all-not-ready' : 'some-ready'}`);
      return Promise.resolve();
    };
    services.push(await start('policy-decision', hook), await start('cost-governor', hook));
    expect(signals.listenerCount('SIGTERM')).toBe(1);

    signals.emit('SIGTERM');
    await exited;

    expect(seen.sort()).toEqual(['cost-governor:all-not-ready', 'policy-decision:all-not-ready']);
    expect(exits).toEqual([0]);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('names the stuck hook of the stuck service when the shutdown times out', async () => {
    const { signals, exits, exited, records, start } = setup(200);
    await start('policy-decision', () => Promise.resolve());
    const stuck = await start('tool-executor', () => new Promise(() => undefined));

    signals.emit('SIGTERM');
    await exited;

    expect(exits).toEqual([1]);
    const line = records.find((r) => String(r['msg']).startsWith('shutdown timed out'));
    expect(line?.['still_running']).toEqual(['tool-executor (Writer.onModuleDestroy)']);
    // Not exited for real here: release the port the stuck app still holds.
    stuck.app.getHttpServer().close();
  });
});

describe('a service started by an embedding host (ServiceEntry.start)', () => {
  it('leaves signals to the host and stops on request', async () => {
    const entry = defineService({
      name: 'trace-collector',
      config: BaseServiceConfig,
      module: WriterModule.with(() => Promise.resolve()),
      host: '127.0.0.1',
      telemetry: false,
    });
    const before = process.listenerCount('SIGTERM');
    const config = entry.config({ WARDEN_ENV: 'embedded-int', HTTP_PORT: '0' });
    const running = await entry.start(config);
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
    await running.stop();
    await expect(fetch(`${running.url}/readyz`)).rejects.toThrow();
  });
});
