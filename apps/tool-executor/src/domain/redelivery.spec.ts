import { describe, expect, it } from 'vitest';
import {
  digestArgs,
  finishedRecord,
  startedRecord,
  type RecordIdentity,
  type StartedRecord,
} from './execution-record.js';
import { decideRedelivery, type RedeliveryInput } from './redelivery.js';
import type { ToolTraits } from './tools.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const identity: RecordIdentity = {
  intentId: '01JNZ3V8Q6G7W2X4Y5Z6A7B8C9',
  tool: 'echo',
  argsDigest: digestArgs('echo', { text: 'hi' }),
  causeEventId: '01JNZ3V8Q6G7W2X4Y5Z6A7B8C9',
  owner: 'executor-a',
};
const read: ToolTraits = { kind: 'read', honoursIdempotencyKey: false };
const write: ToolTraits = { kind: 'write', honoursIdempotencyKey: false };
const idempotentWrite: ToolTraits = { kind: 'write', honoursIdempotencyKey: true };

/** A record started at T0 with a 2 s lease. */
const started: StartedRecord = startedRecord(identity, { now: T0, leaseMs: 2_000 });

function input(overrides: Partial<RedeliveryInput> = {}): RedeliveryInput {
  return {
    argsDigest: identity.argsDigest,
    traits: read,
    rejection: undefined,
    now: T0 + 5_000,
    maxAttempts: 3,
    ...overrides,
  };
}

describe('decideRedelivery', () => {
  it('republishes a done record without running anything', () => {
    const done = finishedRecord(started, {
      outcome: { status: 'executed', output: { text: 'hi' }, duration_ms: 1 },
      resolvedAt: '2026-03-01T12:00:00.001000Z',
      owner: 'executor-a',
    });
    expect(decideRedelivery(done, input())).toEqual({ action: 'republish', record: done });
  });

  it('waits out a live lease instead of running the tool a second time at once', () => {
    expect(decideRedelivery(started, input({ now: T0 + 500 }))).toEqual({
      action: 'wait',
      retryMs: 1_500,
    });
  });

  it('never asks for a retry sooner than 100 ms', () => {
    expect(decideRedelivery(started, input({ now: T0 + 1_990 }))).toEqual({
      action: 'wait',
      retryMs: 100,
    });
  });

  it('re-executes an interrupted read-only tool once its lease expired', () => {
    expect(decideRedelivery(started, input())).toEqual({ action: 're_execute', record: started });
  });

  it('re-executes an interrupted write when the upstream honours idempotency keys', () => {
    expect(decideRedelivery(started, input({ traits: idempotentWrite }))).toMatchObject({
      action: 're_execute',
    });
  });

  it('resolves an interrupted write in doubt rather than risk applying it twice', () => {
    expect(decideRedelivery(started, input({ traits: write }))).toMatchObject({
      action: 'resolve',
      outcome: { status: 'in_doubt', reason: 'interrupted' },
    });
  });

  it('resolves in doubt when the tool of an interrupted attempt is no longer known', () => {
    expect(decideRedelivery(started, input({ traits: undefined }))).toMatchObject({
      action: 'resolve',
      outcome: { status: 'in_doubt', reason: 'interrupted' },
    });
  });

  it('gives up on a read-only tool started maxAttempts times', () => {
    const third: StartedRecord = { ...started, attempt: 3 };
    expect(decideRedelivery(third, input())).toMatchObject({
      action: 'resolve',
      outcome: { status: 'failed', reason: 'attempts_exhausted' },
    });
  });

  it('resolves with the rejection when the args no longer pass the tool schema', () => {
    const rejection = { status: 'failed' as const, reason: 'invalid_args', message: 'bad' };
    expect(decideRedelivery(started, input({ rejection }))).toEqual({
      action: 'resolve',
      record: started,
      outcome: rejection,
    });
  });

  it('refuses an intent id reused with other args, whatever the record state', () => {
    const other = digestArgs('echo', { text: 'bye' });
    expect(decideRedelivery(started, input({ argsDigest: other }))).toMatchObject({
      action: 'refuse',
    });
    const done = finishedRecord(started, {
      outcome: { status: 'executed' },
      resolvedAt: '2026-03-01T12:00:00.001000Z',
      owner: 'executor-a',
    });
    expect(decideRedelivery(done, input({ argsDigest: other }))).toMatchObject({
      action: 'refuse',
    });
  });
});
