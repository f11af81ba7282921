import { describe, expect, it } from 'vitest';
import {
  digestArgs,
  ExecutionRecord,
  finishedRecord,
  leaseRemainingMs,
  restartedRecord,
  startedRecord,
} from './execution-record.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const identity = {
  intentId: '01JNZ3V8Q6G7W2X4Y5Z6A7B8C9',
  tool: 'sleep',
  argsDigest: digestArgs('sleep', { ms: 5 }),
  causeEventId: '01JNZ3V8Q6G7W2X4Y5Z6A7B8C9',
  owner: 'executor-a',
};

describe('execution records', () => {
  it('start at attempt 1 with a lease of the given length', () => {
    const record = startedRecord(identity, { now: T0, leaseMs: 3_000 });
    expect(record).toMatchObject({
      state: 'started',
      attempt: 1,
      started_at: '2026-03-01T12:00:00.000000Z',
      lease_until: '2026-03-01T12:00:03.000000Z',
    });
    expect(leaseRemainingMs(record, T0 + 1_000)).toBe(2_000);
    expect(ExecutionRecord.parse(record)).toEqual(record);
  });

  it('count attempts and change owner on a re-execution', () => {
    const first = startedRecord(identity, { now: T0, leaseMs: 3_000 });
    const second = restartedRecord(first, { now: T0 + 10_000, leaseMs: 3_000, owner: 'b' });
    expect(second).toMatchObject({ attempt: 2, owner: 'b', cause_event_id: first.cause_event_id });
    expect(leaseRemainingMs(second, T0 + 10_000)).toBe(3_000);
  });

  it('drop the lease when done and keep the digest of the output', () => {
    const done = finishedRecord(startedRecord(identity, { now: T0, leaseMs: 3_000 }), {
      outcome: { status: 'executed', output: { slept_ms: 5 } },
      resultDigest: 'abc',
      resolvedAt: '2026-03-01T12:00:00.006000Z',
      owner: 'executor-a',
    });
    expect(done).not.toHaveProperty('lease_until');
    expect(ExecutionRecord.parse(done)).toMatchObject({ state: 'done', result_digest: 'abc' });
  });

  it('digest args whatever order their keys were written in', () => {
    expect(digestArgs('echo', { a: 1, b: { c: [1, { d: 2, e: 3 }] } })).toBe(
      digestArgs('echo', { b: { c: [1, { e: 3, d: 2 }] }, a: 1 }),
    );
    expect(digestArgs('echo', { a: 1 })).not.toBe(digestArgs('noop', { a: 1 }));
    expect(digestArgs('echo', { a: 1 })).not.toBe(digestArgs('echo', { a: '1' }));
  });
});
