import { describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.js';

describe('waitFor', () => {
  it('resolves to the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('treats a throwing predicate as not yet', async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        if (++calls < 2) throw new Error('not started');
        return 'ready';
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('ready');
  });

  it('says what it waited for and what it last saw when it times out', async () => {
    await expect(
      waitFor(() => 0, { timeoutMs: 30, intervalMs: 5, message: 'the count to grow' }),
    ).rejects.toThrow(/timed out after 30 ms waiting for the count to grow \(last value: 0\)/);
    await expect(
      waitFor(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 20, intervalMs: 5 },
      ),
    ).rejects.toThrow(/last error: boom/);
  });
});
