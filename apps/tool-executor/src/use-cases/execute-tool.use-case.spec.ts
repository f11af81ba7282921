import { buildEvent, type Envelope, type Producer } from '@warden/contracts';
import { createLogger } from '@warden/telemetry';
import { proposedEvent, TEST_PRODUCER } from '@warden/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { validateWith } from '../domain/builtin-tools.js';
import { digestArgs, startedRecord, type StartedRecord } from '../domain/execution-record.js';
import type { ToolArgs, ToolResult, ToolSpec } from '../domain/tools.js';
import { BuiltinToolRunner } from '../infra/builtin-tools.runner.js';
import { MemoryExecutionStore } from '../infra/execution-store.memory.js';
import type { RunOptions, ToolRunner } from '../infra/tool-runner.js';
import {
  ExecuteTool,
  FAIL_POINTS,
  type ExecutionContext,
  type FailPoint,
} from './execute-tool.use-case.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const PRODUCER: Producer = { service: 'tool-executor', instance: 'exec-1', version: '0.0.0' };

/** The built-ins, plus `ticket.close` (a write) and `slow.read` (a read that never answers). */
class TestRunner implements ToolRunner {
  readonly builtins = new BuiltinToolRunner();
  calls: string[] = [];
  /** Runs inside the next call of a tool, before it returns (to act as another replica). */
  during: (() => Promise<void>) | undefined;
  honoursIdempotencyKey = false;
  throws = false;

  async describe(tool: string): Promise<ToolSpec | undefined> {
    const validate = validateWith(z.record(z.string(), z.unknown()));
    if (tool === 'ticket.close')
      return {
        traits: { kind: 'write', honoursIdempotencyKey: this.honoursIdempotencyKey },
        validate,
        timeoutMs: () => 20,
      };
    if (tool === 'slow.read')
      return {
        traits: { kind: 'read', honoursIdempotencyKey: false },
        validate,
        timeoutMs: () => 20,
      };
    return this.builtins.describe(tool);
  }

  async run(tool: string, args: ToolArgs, options: RunOptions): Promise<ToolResult> {
    this.calls.push(tool);
    const during = this.during;
    this.during = undefined;
    await during?.();
    if (this.throws) throw new Error('connection reset');
    if (tool === 'ticket.close' || tool === 'slow.read') {
      // Answers only after the attempt's timeout.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { ok: true, output: { closed: true } };
    }
    return this.builtins.run(tool, args, options);
  }
}

let now: number;
let store: MemoryExecutionStore;
let runner: TestRunner;
let executor: ExecuteTool;
/** Events stored on the "stream" (first copy of each id). */
let published: Envelope[];
/** Every publish call, duplicates included. */
let sent: Envelope[];
let duplicates: number;

function context(deliveryCount = 1, instance = PRODUCER.instance): ExecutionContext {
  const seen = new Set<string>();
  return {
    producer: { ...PRODUCER, instance },
    deliveryCount,
    publish: (event) => {
      sent.push(event);
      // JetStream's duplicate window, across every publish of the test.
      const duplicate =
        published.some((e) => e.event_id === event.event_id) || seen.has(event.event_id);
      seen.add(event.event_id);
      if (duplicate) duplicates++;
      else published.push(event);
      return Promise.resolve({ seq: published.length, duplicate });
    },
  };
}

function reserved(
  tool: string,
  args: Record<string, unknown>,
  discriminator?: string,
): Envelope<'budget.reserved'> {
  const proposed = proposedEvent('unit', { tool, args });
  return buildEvent({
    type: 'budget.reserved',
    cause: proposed,
    producer: TEST_PRODUCER,
    ...(discriminator === undefined ? {} : { discriminator }),
    data: { tool, args, reserved_micro_usd: 0, step: 1 },
  });
}

const ofType = (type: string) => published.filter((event) => event.type === type);
const resolvedData = () => ofType('intent.resolved').map((event) => event.data);

/** A `started` record for `event`, as a replica that is running (or died running) it wrote it. */
async function claimedElsewhere(
  event: Envelope<'budget.reserved'>,
  leaseUntil: number,
): Promise<StartedRecord> {
  const record = startedRecord(
    {
      intentId: event.intent_id!,
      tool: event.data.tool,
      argsDigest: digestArgs(event.data.tool, event.data.args),
      causeEventId: event.event_id,
      owner: 'exec-2',
    },
    { now: leaseUntil - 1_000, leaseMs: 1_000 },
  );
  await store.create(event.intent_id!, record);
  return record;
}

beforeEach(() => {
  now = T0;
  store = new MemoryExecutionStore();
  runner = new TestRunner();
  published = [];
  sent = [];
  duplicates = 0;
  executor = new ExecuteTool({
    store,
    runner,
    logger: createLogger({ service: 'tool-executor', level: 'silent' }),
    settings: { maxOutputBytes: 1024, maxTimeoutMs: 65_000, leaseGraceMs: 1_000, maxAttempts: 3 },
    now: () => now,
  });
});

describe('ExecuteTool', () => {
  it('records started, announces the attempt, runs the tool, records done, then resolves', async () => {
    const event = reserved('echo', { text: 'hi' });
    let duringRun: unknown;
    runner.during = async () => {
      duringRun = (await store.get(event.intent_id!))?.record;
    };

    expect(await executor.execute(event, context())).toBe('processed');

    expect(duringRun).toMatchObject({ state: 'started', attempt: 1, owner: 'exec-1' });
    expect(published.map((e) => e.type)).toEqual(['tool.started', 'intent.resolved']);
    expect(published[0]).toMatchObject({
      causation_id: event.event_id,
      intent_id: event.intent_id,
      data: { tool: 'echo', attempt: 1 },
    });
    expect(resolvedData()).toEqual([
      expect.objectContaining({
        status: 'executed',
        stage: 'executor',
        tool: 'echo',
        output: { text: 'hi' },
      }),
    ]);
    const { record } = (await store.get(event.intent_id!))!;
    if (record.state !== 'done') throw new Error(`record still ${record.state}`);
    expect(record.outcome.status).toBe('executed');
    expect(record.result_digest).toMatch(/^[0-9a-f]{64}$/);
    expect(published[1]?.occurred_at).toBe(record.resolved_at);
  });

  it('republishes the recorded resolution on redelivery, without running the tool again', async () => {
    const event = reserved('echo', { text: 'hi' });
    await executor.execute(event, context());

    expect(await executor.execute(event, context(2))).toBe('processed');
    expect(runner.calls).toEqual(['echo']);
    expect(duplicates).toBe(1);
    expect(published).toHaveLength(2);
    // The very same event, occurred_at included: JetStream drops it, and a late one is a true copy.
    expect(sent.map((e) => e.type)).toEqual(['tool.started', 'intent.resolved', 'intent.resolved']);
    expect(sent[2]).toEqual(sent[1]);
  });

  it('answers a copy of the intent (another event id) with the first resolution and its id', async () => {
    const event = reserved('echo', { text: 'hi' });
    const copy = { ...event, event_id: reserved('echo', { text: 'hi' }, 'copy').event_id };
    await executor.execute(event, context());
    await executor.execute(copy, context(1, 'exec-2'));
    expect(runner.calls).toEqual(['echo']);
    expect(ofType('intent.resolved')).toHaveLength(1);
    expect(ofType('tool.started')).toHaveLength(1);
    expect(duplicates).toBe(1);
  });

  it('waits for a live lease held by another replica instead of running the tool too', async () => {
    const event = reserved('echo', { text: 'hi' });
    await claimedElsewhere(event, T0 + 700);
    expect(await executor.execute(event, context(2))).toEqual({ retry: 700 });
    expect(runner.calls).toEqual([]);
    expect(published).toEqual([]);
  });

  it('runs an interrupted read-only tool again as attempt 2, with its own tool.started', async () => {
    const event = reserved('echo', { text: 'again' });
    await claimedElsewhere(event, T0 - 1);
    expect(await executor.execute(event, context(2))).toBe('processed');
    expect(runner.calls).toEqual(['echo']);
    expect(ofType('tool.started').map((e) => e.data)).toEqual([{ tool: 'echo', attempt: 2 }]);
    expect(resolvedData()).toMatchObject([{ status: 'executed', output: { text: 'again' } }]);
    expect((await store.get(event.intent_id!))?.record).toMatchObject({
      state: 'done',
      attempt: 2,
      owner: 'exec-1',
      started_at: '2026-03-01T12:00:00.000000Z',
    });
  });

  it('resolves an interrupted write in doubt and never runs it again', async () => {
    const event = reserved('ticket.close', { ticket: 7 });
    await claimedElsewhere(event, T0 - 1);
    expect(await executor.execute(event, context(2))).toBe('processed');
    expect(runner.calls).toEqual([]);
    expect(ofType('tool.started')).toEqual([]);
    expect(resolvedData()).toMatchObject([
      { status: 'in_doubt', stage: 'executor', tool: 'ticket.close', reason: 'interrupted' },
    ]);
    expect((await store.get(event.intent_id!))?.record).toMatchObject({
      state: 'done',
      outcome: { status: 'in_doubt' },
    });
  });

  it('runs an interrupted write again when its upstream honours idempotency keys', async () => {
    runner.honoursIdempotencyKey = true;
    const event = reserved('ticket.close', { ticket: 7 });
    await claimedElsewhere(event, T0 - 1);
    await executor.execute(event, context(2));
    expect(runner.calls).toEqual(['ticket.close']);
    expect(ofType('tool.started').map((e) => e.data)).toEqual([
      { tool: 'ticket.close', attempt: 2 },
    ]);
  });

  it('fails a read that times out, and holds a write that times out in doubt', async () => {
    await executor.execute(reserved('slow.read', {}), context());
    await executor.execute(reserved('ticket.close', { ticket: 1 }), context());
    expect(resolvedData()).toMatchObject([
      { status: 'failed', reason: 'timeout', message: 'slow.read did not finish within 20 ms' },
      { status: 'in_doubt', reason: 'timeout' },
    ]);
  });

  it('fails a call whose runner throws, rather than retrying it into a dead letter', async () => {
    runner.throws = true;
    expect(await executor.execute(reserved('echo', {}), context())).toBe('processed');
    expect(resolvedData()).toMatchObject([
      {
        status: 'failed',
        reason: 'tool_error',
        message: 'echo could not be run: connection reset',
      },
    ]);
  });

  it('drops its own result when another replica took the intent over meanwhile', async () => {
    const event = reserved('echo', { text: 'mine' });
    // While this attempt runs, its lease is taken over and the intent finished elsewhere.
    runner.during = async () => {
      const stored = (await store.get(event.intent_id!))!;
      now = T0 + 60_000;
      const other = new ExecuteTool({
        store,
        runner: new BuiltinToolRunner(),
        logger: createLogger({ service: 'tool-executor', level: 'silent' }),
        settings: { maxOutputBytes: 1024, maxTimeoutMs: 65_000, leaseGraceMs: 0, maxAttempts: 3 },
        now: () => now,
      });
      expect(stored.record.state).toBe('started');
      await other.execute(event, context(2, 'exec-2'));
    };
    expect(await executor.execute(event, context())).toBe('processed');
    expect(ofType('intent.resolved')).toHaveLength(1);
    expect(ofType('intent.resolved')[0]?.producer.instance).toBe('exec-2');
    expect(ofType('tool.started').map((e) => e.data)).toEqual([
      { tool: 'echo', attempt: 1 },
      { tool: 'echo', attempt: 2 },
    ]);
  });

  it('resolves an unknown tool as failed without starting it, and records that', async () => {
    const event = reserved('payments.refund', { amount: 5 });
    expect(await executor.execute(event, context())).toBe('processed');
    expect(ofType('tool.started')).toEqual([]);
    expect(resolvedData()).toMatchObject([{ status: 'failed', reason: 'unknown_tool' }]);
    expect((await store.get(event.intent_id!))?.record).toMatchObject({
      state: 'done',
      attempt: 0,
    });
  });

  it('resolves invalid args as failed with every issue listed', async () => {
    await executor.execute(reserved('sleep', { ms: 'soon', extra: 1 }), context());
    expect(ofType('tool.started')).toEqual([]);
    expect(resolvedData()).toMatchObject([
      {
        status: 'failed',
        reason: 'invalid_args',
        details: [{ path: 'args.ms' }, { path: 'args' }],
      },
    ]);
  });

  it('refuses an intent id that comes back with other args', async () => {
    const event = reserved('echo', { text: 'hi' });
    await executor.execute(event, context());
    const tampered = { ...event, data: { ...event.data, args: { text: 'other' } } };
    expect(await executor.execute(tampered, context(1))).toBe('skipped');
    expect(runner.calls).toEqual(['echo']);
    expect(published).toHaveLength(2);
  });

  it('caps a big output in the event and the record', async () => {
    await executor.execute(reserved('echo', { blob: 'x'.repeat(2_000) }), context());
    expect(resolvedData()).toMatchObject([
      { status: 'executed', output: { truncated: true, bytes: 2_011 } },
    ]);
  });
});

describe('ExecuteTool failpoints (the crash drill)', () => {
  /** An executor whose crash hook is `crash`, over the test's store and runner. */
  const crashing = (crash: (point: FailPoint) => void) =>
    new ExecuteTool({
      store,
      runner,
      logger: createLogger({ service: 'tool-executor', level: 'silent' }),
      settings: { maxOutputBytes: 1024, maxTimeoutMs: 65_000, leaseGraceMs: 1_000, maxAttempts: 3 },
      now: () => now,
      crash,
    });

  it('reaches each point in order: after tool.started, after the call, after done', async () => {
    const event = reserved('ticket.close', { ticket: 7 });
    const seen: { point: FailPoint; calls: number; types: string[]; record?: string }[] = [];
    const executor = crashing((point) => {
      seen.push({ point, calls: runner.calls.length, types: published.map((e) => e.type) });
    });
    // The hook is synchronous (like a SIGKILL), so the record is read beside it, from the store.
    const original = store.update.bind(store);
    store.update = async (...args) => {
      const last = seen.at(-1);
      if (last !== undefined) last.record = `${args[1].state} after ${last.point}`;
      return original(...args);
    };

    expect(await executor.execute(event, context())).toBe('processed');

    expect(seen).toEqual([
      { point: 'before_call', calls: 0, types: ['tool.started'] },
      // `done` is written after this point…
      { point: 'after_call', calls: 1, types: ['tool.started'], record: 'done after after_call' },
      // …and `intent.resolved` published after this one.
      { point: 'after_done', calls: 1, types: ['tool.started'] },
    ]);
    expect(ofType('intent.resolved')).toHaveLength(1);
  });

  it.each(FAIL_POINTS)('runs nothing after %s when the crash hook does not return', async (at) => {
    const event = reserved('ticket.close', { ticket: 7 });
    const executor = crashing((point) => {
      if (point === at) throw new Error(`killed at ${point}`);
    });

    await expect(executor.execute(event, context())).rejects.toThrow(`killed at ${at}`);

    const { record } = (await store.get(event.intent_id!))!;
    expect(ofType('intent.resolved')).toEqual([]);
    expect(ofType('tool.started')).toHaveLength(1);
    expect(runner.calls).toEqual(at === 'before_call' ? [] : ['ticket.close']);
    expect(record.state).toBe(at === 'after_done' ? 'done' : 'started');
  });

  it('recovers each crash as the protocol says on the next delivery, without the hook', async () => {
    const results: Record<FailPoint, unknown> = {
      before_call: undefined,
      after_call: undefined,
      after_done: undefined,
    };
    for (const at of FAIL_POINTS) {
      published = [];
      runner.calls = [];
      now = T0;
      const event = reserved('ticket.close', { ticket: 7 }, at);
      const executor = crashing((point) => {
        if (point === at) throw new Error(`killed at ${point}`);
      });
      await expect(executor.execute(event, context())).rejects.toThrow();
      now = T0 + 60_000; // the lease ran out
      await crashing(() => undefined).execute(event, context(2));
      results[at] = { calls: runner.calls.length, resolved: resolvedData() };
    }
    expect(results).toMatchObject({
      // Not called, but the record cannot tell: a write that does not honour keys is in doubt.
      before_call: { calls: 0, resolved: [{ status: 'in_doubt', reason: 'interrupted' }] },
      after_call: { calls: 1, resolved: [{ status: 'in_doubt', reason: 'interrupted' }] },
      // The recorded outcome (the timeout of this fake write) is republished, nothing re-run.
      after_done: { calls: 1, resolved: [{ status: 'in_doubt', reason: 'timeout' }] },
    });
  });
});
