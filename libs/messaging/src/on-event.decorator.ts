import 'reflect-metadata';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { isEventType, type EventType } from '@warden/contracts';
import type { EventConsumerSettings, EventHandler } from './consume-events.js';

/** The transport id of {@link JetStreamTransport}: `@OnEvent` handlers bind to it only. */
export const JETSTREAM_TRANSPORT: unique symbol = Symbol('warden:jetstream');

/** Where `@OnEvent` keeps per-handler consumer settings in Nest's pattern extras. */
export const ON_EVENT_SETTINGS = 'wardenConsumer';

// Nest turns a handler's exception into an opaque `{ status: 'error' }` before the transport sees
// it. The wrapper below keeps the original per message context, so dead letters and logs carry
// the real error.
const handlerErrors = new WeakMap<object, unknown>();

/** The exception the handler threw for this message context, if any (read once). */
export function takeHandlerError(ctx: object): { error: unknown } | undefined {
  if (!handlerErrors.has(ctx)) return undefined;
  const error = handlerErrors.get(ctx);
  handlerErrors.delete(ctx);
  return { error };
}

/**
 * Marks a controller method as the handler of one event type, consumed through
 * {@link JetStreamTransport} by the durable `<service>__<type>`. The method receives
 * `(event, ctx)` (parameter decorators of its own, e.g. `@Payload(pipe)`, replace that default) and
 * returns an `Outcome`; `settings` override the transport's consumer defaults
 * for this handler (e.g. `{ concurrency: 1 }`). Built on Nest's `@EventPattern`, so guards,
 * interceptors and pipes apply as usual.
 *
 * @example
 * @OnEvent('intent.proposed')
 * async resolve(event: Envelope<'intent.proposed'>, ctx: EventContext): Promise<Outcome> {
 *   await ctx.publish(buildEvent({ type: 'intent.resolved', cause: event, producer: ctx.producer, data }));
 *   return Outcome.processed;
 * }
 */
export function OnEvent<T extends EventType>(type: T, settings: EventConsumerSettings = {}) {
  if (!isEventType(type))
    throw new TypeError(`@OnEvent: unknown event type ${JSON.stringify(type)}`);
  return <M extends EventHandler<T>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    const original: EventHandler<T> | undefined = descriptor.value;
    if (typeof original !== 'function')
      throw new TypeError(`@OnEvent(${type}) must decorate a method`);
    const wrapped = async function (this: unknown, ...args: Parameters<EventHandler<T>>) {
      try {
        return await original.apply(this, args);
      } catch (error) {
        const ctx: unknown = args[1];
        if (typeof ctx === 'object' && ctx !== null) handlerErrors.set(ctx, error);
        throw error;
      }
    };
    // Nest reads metadata from the function and parameter types by its name: keep both.
    Object.defineProperty(wrapped, 'name', { value: original.name });
    for (const metadataKey of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, original), wrapped);
    }
    descriptor.value = wrapped as unknown as M;
    // Nest 12 passes a handler only the arguments its parameter decorators name (by default the
    // payload alone): name both, unless the method declares its own (@Payload with pipes, …).
    if (Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, key) === undefined) {
      Payload()(target, key, 0);
      Ctx()(target, key, 1);
    }
    const decorate = EventPattern(type, JETSTREAM_TRANSPORT, {
      [ON_EVENT_SETTINGS]: settings,
    }) as MethodDecorator;
    decorate(target, key, descriptor);
  };
}
