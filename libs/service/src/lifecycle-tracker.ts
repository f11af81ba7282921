import type { INestApplicationContext } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';

const SHUTDOWN_HOOKS = [
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
] as const;

type Hook = (...args: unknown[]) => unknown;

/**
 * Wraps the shutdown hooks of every provider, controller and module instance of a Nest app so that
 * a stuck shutdown can say *which* hook is still running (`ClickhouseWriter.beforeApplicationShutdown`)
 * instead of only "the app". Returns a function listing the hooks in flight.
 *
 * Nest calls hooks as `instance.hook(...)`, so an own property on the instance shadows the
 * prototype's method without changing behaviour. Request-scoped and transient providers have no
 * single instance to wrap and are skipped, as are frozen objects.
 */
export function trackShutdownHooks(app: INestApplicationContext): () => string[] {
  const inFlight = new Map<string, number>();
  const enter = (label: string) => inFlight.set(label, (inFlight.get(label) ?? 0) + 1);
  const leave = (label: string) => {
    const count = (inFlight.get(label) ?? 1) - 1;
    if (count === 0) inFlight.delete(label);
    else inFlight.set(label, count);
  };

  const seen = new WeakSet<object>();
  for (const module of app.get(ModulesContainer, { strict: false }).values()) {
    const wrappers = [
      ...module.providers.values(),
      ...module.controllers.values(),
      ...module.injectables.values(),
    ];
    for (const wrapper of wrappers) {
      if (!wrapper.isDependencyTreeStatic()) continue;
      const instance: unknown = wrapper.instance;
      if (typeof instance !== 'object' || instance === null || seen.has(instance)) continue;
      seen.add(instance);
      const target = instance as Record<string, unknown>;
      for (const hook of SHUTDOWN_HOOKS) {
        const original = target[hook];
        if (typeof original !== 'function') continue;
        const label = `${instance.constructor.name || 'anonymous'}.${hook}`;
        const wrapped = function (this: unknown, ...args: unknown[]): unknown {
          enter(label);
          let result: unknown;
          try {
            result = (original as Hook).apply(this, args);
          } catch (error) {
            leave(label);
            throw error;
          }
          return Promise.resolve(result).finally(() => {
            leave(label);
          });
        };
        try {
          Object.defineProperty(target, hook, {
            value: wrapped,
            configurable: true,
            writable: true,
          });
        } catch {
          // Frozen or non-configurable: it still runs, it just will not be named in the log.
        }
      }
    }
  }
  return () => [...inFlight.keys()];
}
