import { describe, expect, it, vi } from 'vitest';
import {
  WatchSupervisor,
  type StoppableWatch,
  type StreamPosition,
  type WatchLogger,
} from './watch-supervisor.js';

interface Entry {
  readonly revision: number;
  readonly value: string;
}

/** A watch the test drives: push entries, end it, or make it throw. */
class FakeWatch implements StoppableWatch<Entry> {
  private readonly queue: (Entry | Error | 'end')[] = [];
  private wake: (() => void) | undefined;
  stopped = false;

  push(item: Entry | Error | 'end'): void {
    this.queue.push(item);
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.push('end');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Entry> {
    for (;;) {
      const item = this.queue.shift();
      if (item === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      if (item === 'end') return;
      if (item instanceof Error) throw item;
      yield item;
    }
  }
}

const quiet = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() }) satisfies WatchLogger;
const until = async (check: () => boolean, timeoutMs = 2_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

/** A supervised fake: every open() makes a new FakeWatch; `position` is what the "stream" says. */
function harness(options: { failOpens?: number; probeIntervalMs?: number } = {}) {
  const watches: FakeWatch[] = [];
  const applied: string[] = [];
  const opens: boolean[] = [];
  const stale: string[] = [];
  let failOpens = options.failOpens ?? 0;
  const state = { position: { lastRevision: 0, epoch: 'e1' } as StreamPosition };
  const logger = quiet();
  const supervisor = new WatchSupervisor<Entry>({
    name: 'fake',
    open: (bucketChanged) => {
      opens.push(bucketChanged);
      if (opens.length > 1 && failOpens > 0) {
        failOpens--;
        return Promise.reject(new Error('NATS away'));
      }
      const watch = new FakeWatch();
      watches.push(watch);
      return Promise.resolve(watch);
    },
    onEntry: (entry) => {
      if (entry.value === 'bad') throw new Error('not JSON');
      applied.push(entry.value);
    },
    position: () => Promise.resolve(state.position),
    onStale: (reason) => stale.push(reason),
    timing: {
      probeIntervalMs: options.probeIntervalMs ?? 60_000,
      initialBackoffMs: 10,
      maxBackoffMs: 40,
    },
    logger,
  });
  const current = (): FakeWatch => watches[watches.length - 1]!;
  return { supervisor, watches, applied, opens, stale, state, logger, current };
}

describe('WatchSupervisor', () => {
  it('feeds entries, skips one that throws, and keeps going', async () => {
    const h = harness();
    await h.supervisor.start();
    h.current().push({ revision: 1, value: 'a' });
    h.current().push({ revision: 2, value: 'bad' });
    h.current().push({ revision: 3, value: 'b' });
    await until(() => h.applied.length === 2);
    expect(h.applied).toEqual(['a', 'b']);
    expect(h.supervisor.live).toBe(true);
    expect(h.logger.error).toHaveBeenCalledTimes(1);
    h.supervisor.stop();
  });

  it.each([
    ['ends', 'end' as const],
    ['throws', new Error('consumer deleted')],
  ])('when the iterator %s: not live at once, then reopened and live again', async (_, how) => {
    const h = harness();
    await h.supervisor.start();
    const first = h.current();
    first.push(how);
    await until(() => !h.supervisor.live);
    expect(h.stale).toHaveLength(1);
    await until(() => h.supervisor.live);
    expect(h.watches).toHaveLength(2);
    expect(h.opens).toEqual([false, false]);
    h.current().push({ revision: 5, value: 'after' });
    await until(() => h.applied.includes('after'));
    h.supervisor.stop();
  });

  it('retries a failed reopen with backoff until it succeeds', async () => {
    const h = harness({ failOpens: 3 });
    await h.supervisor.start();
    h.supervisor.fail('test');
    expect(h.supervisor.live).toBe(false);
    expect(h.current().stopped).toBe(true);
    await until(() => h.supervisor.live);
    expect(h.opens).toHaveLength(5);
    expect(h.supervisor.detail).toBe('live');
    h.supervisor.stop();
  });

  it('finds a silently dead watch: the stream moved on and nothing came', async () => {
    const h = harness({ probeIntervalMs: 20 });
    await h.supervisor.start();
    h.state.position = { lastRevision: 7, epoch: 'e1' };
    await until(() => h.stale.length > 0);
    expect(h.stale[0]).toMatch(/stopped delivering/);
    await until(() => h.supervisor.live);
    h.supervisor.stop();
  });

  it('does not fault a watch that keeps up', async () => {
    const h = harness({ probeIntervalMs: 20 });
    await h.supervisor.start();
    for (let revision = 1; revision <= 5; revision++) {
      h.state.position = { lastRevision: revision, epoch: 'e1' };
      h.current().push({ revision, value: String(revision) });
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(h.stale).toEqual([]);
    expect(h.watches).toHaveLength(1);
    h.supervisor.stop();
  });

  it('finds a recreated bucket and reopens with bucketChanged', async () => {
    const h = harness({ probeIntervalMs: 20 });
    await h.supervisor.start();
    h.state.position = { lastRevision: 0, epoch: 'e2' };
    await until(() => h.opens.length === 2 && h.supervisor.live);
    expect(h.stale[0]).toMatch(/created again/);
    expect(h.opens).toEqual([false, true]);
    h.supervisor.stop();
  });

  it('stays stopped', async () => {
    const h = harness();
    await h.supervisor.start();
    h.supervisor.stop();
    h.supervisor.fail('late');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(h.watches).toHaveLength(1);
    expect(h.supervisor.live).toBe(false);
  });
});
