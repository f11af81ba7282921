import { EventEmitter } from 'node:events';
import { createLogger, memoryDestination } from '@warden/telemetry';
import { describe, expect, it } from 'vitest';
import { ShutdownInProgressError } from './service.errors.js';
import {
  ShutdownCoordinator,
  type ShutdownParticipant,
  type ShutdownSignal,
} from './shutdown-coordinator.js';

class FakeSignals extends EventEmitter {
  send(signal: ShutdownSignal) {
    this.emit(signal);
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function setup(timeoutMs = 1_000) {
  const signals = new FakeSignals();
  const destination = memoryDestination();
  const exits: number[] = [];
  const exited = deferred();
  const coordinator = new ShutdownCoordinator({
    logger: createLogger({ service: 'spec', destination }),
    timeoutMs,
    signals,
    exit: (code) => {
      exits.push(code);
      exited.resolve();
    },
  });
  return { coordinator, signals, exits, exited: exited.promise, records: destination.records };
}

function participant(
  name: string,
  events: string[],
  close: () => Promise<void> = () => Promise.resolve(),
) {
  return {
    name,
    markNotReady: () => events.push(`${name}:not-ready`),
    close: async (signal?: ShutdownSignal) => {
      events.push(`${name}:close:${signal ?? '-'}`);
      await close();
      events.push(`${name}:closed`);
    },
    pending: () => [`${name}Writer.onModuleDestroy`],
  } satisfies ShutdownParticipant;
}

describe('ShutdownCoordinator', () => {
  it('on SIGTERM marks every service not ready before closing any, then exits 0', async () => {
    const { coordinator, signals, exits, exited } = setup();
    const events: string[] = [];
    coordinator.register(participant('a', events));
    coordinator.register(participant('b', events));
    coordinator.addFinalizer('telemetry', () => {
      events.push('telemetry flushed');
      return Promise.resolve();
    });

    signals.send('SIGTERM');
    await exited;

    expect(events.slice(0, 2).sort()).toEqual(['a:not-ready', 'b:not-ready']);
    expect(events).toContain('a:close:SIGTERM');
    expect(events.at(-1)).toBe('telemetry flushed');
    expect(exits).toEqual([0]);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('installs one set of handlers for any number of services, and removes them when all leave', () => {
    const { coordinator, signals } = setup();
    const leaveA = coordinator.register(participant('a', []));
    const leaveB = coordinator.register(participant('b', []));
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    expect(signals.listenerCount('SIGINT')).toBe(1);
    leaveA();
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    leaveB();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('exits 1 naming what is still running when the shutdown exceeds its timeout', async () => {
    const { coordinator, signals, exits, exited, records } = setup(50);
    coordinator.register(participant('writer', [], () => new Promise(() => undefined)));
    signals.send('SIGTERM');
    await exited;
    expect(exits).toEqual([1]);
    expect(records.at(-1)).toMatchObject({
      level: 'error',
      still_running: ['writer (writerWriter.onModuleDestroy)'],
      msg: 'shutdown timed out after 50 ms; still running: writer (writerWriter.onModuleDestroy)',
    });
  });

  it('exits at once with 128 + signal on a second signal', async () => {
    const { coordinator, signals, exits, exited, records } = setup(10_000);
    const hook = deferred();
    coordinator.register(participant('slow', [], () => hook.promise));
    signals.send('SIGTERM');
    signals.send('SIGINT');
    await exited;
    expect(exits).toEqual([130]);
    expect(String(records.at(-1)?.['msg'])).toContain('second SIGINT during shutdown');
    // The first shutdown finishing later does not exit a second time.
    hook.resolve();
    expect(await coordinator.shutdown()).toBe(130);
    expect(exits).toEqual([130]);
  });

  it('exits 1 when a service fails to close, after closing the others', async () => {
    const { coordinator, exits } = setup();
    const events: string[] = [];
    coordinator.register(participant('ok', events));
    coordinator.register(
      participant('broken', events, () => Promise.reject(new Error('drain failed'))),
    );
    expect(await coordinator.shutdown('SIGTERM')).toBe(1);
    expect(events).toContain('ok:closed');
    expect(exits).toEqual([1]);
  });

  it('raises, never lowers, its timeout, and refuses newcomers once stopping', async () => {
    const { coordinator } = setup(1_000);
    coordinator.requireTimeout(500);
    coordinator.requireTimeout(20_000);
    expect(coordinator.timeoutMs).toBe(20_000);
    const done = coordinator.shutdown();
    expect(() => coordinator.register(participant('late', []))).toThrow(ShutdownInProgressError);
    await done;
  });
});
