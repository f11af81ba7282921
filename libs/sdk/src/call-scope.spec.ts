import { describe, expect, it } from 'vitest';
import { CallRegistry } from './call-scope.js';
import { CallTimeoutError, WardenConnectionError } from './errors.js';

const never = new Promise<never>(() => undefined);

describe('CallRegistry', () => {
  it('passes through what the call awaits when it comes in time', async () => {
    const scope = new CallRegistry().begin('i1', 1_000);
    await expect(scope.race(Promise.resolve(42))).resolves.toBe(42);
    scope.finish();
  });

  it('ends a call that waits past its deadline with a CallTimeoutError', async () => {
    const scope = new CallRegistry().begin('i1', 10);
    const error = await scope.race(never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error).toMatchObject({ intentId: 'i1', status: 'timeout', timeoutMs: 10 });
    scope.finish();
  });

  it('ends every waiting call when the client closes, and refuses new ones', async () => {
    const calls = new CallRegistry();
    const waiting = [calls.begin('i1', 60_000), calls.begin('i2', 60_000)].map((scope) =>
      scope.race(never).catch((e: unknown) => e),
    );
    calls.close();
    for (const error of await Promise.all(waiting)) {
      expect(error).toBeInstanceOf(WardenConnectionError);
      expect(error).toMatchObject({ code: 'closed' });
    }
    expect(() => calls.begin('i3', 1_000)).toThrow(WardenConnectionError);
  });
});
