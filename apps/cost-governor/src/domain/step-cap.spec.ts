import { describe, expect, it } from 'vitest';
import { newRun, reserveStep, startRun, type RunRecord } from './step-cap.js';

/** The record after `ids` were each asked about once, in order. */
function countAll(record: RunRecord, ids: string[]): RunRecord {
  return ids.reduce((current, id) => reserveStep(current, id).next ?? current, record);
}

describe('reserveStep', () => {
  it('counts a new intent as the next step', () => {
    expect(reserveStep(newRun(5), 'a')).toEqual({
      next: { max_steps: 5, counted: ['a'] },
      verdict: { kind: 'reserved', runSteps: 1, maxSteps: 5 },
    });
  });

  it('counts intents up to the cap, then answers step_cap without writing', () => {
    const record = countAll(newRun(2), ['a', 'b']);
    expect(record.counted).toEqual(['a', 'b']);
    expect(reserveStep(record, 'c')).toEqual({
      next: undefined,
      verdict: { kind: 'step_cap', maxSteps: 2 },
    });
  });

  it('answers a redelivered intent as before, without counting it again', () => {
    const record = countAll(newRun(5), ['a', 'b']);
    expect(reserveStep(record, 'a')).toEqual({
      next: undefined,
      verdict: { kind: 'reserved', runSteps: 1, maxSteps: 5 },
    });
    expect(countAll(record, ['a', 'b', 'a']).counted).toEqual(['a', 'b']);
  });

  it('answers a redelivered counted intent as reserved even once the cap is reached', () => {
    const record = countAll(newRun(2), ['a', 'b', 'c']);
    expect(reserveStep(record, 'b').verdict).toEqual({
      kind: 'reserved',
      runSteps: 2,
      maxSteps: 2,
    });
  });

  it('keeps a denial stable: an intent over the cap stays over it', () => {
    const record = countAll(newRun(1), ['a', 'b']);
    expect(record.counted).toEqual(['a']);
    expect(reserveStep(record, 'b').verdict.kind).toBe('step_cap');
    expect(countAll(record, ['b', 'c', 'b']).counted).toEqual(['a']);
    expect(reserveStep(record, 'b').verdict.kind).toBe('step_cap');
  });
});

describe('startRun', () => {
  it('lets a run tighten the configured cap', () => {
    expect(startRun(newRun(200), { declaredMaxSteps: 3, at: 't' })?.max_steps).toBe(3);
  });

  it('ignores a declared limit looser than the configured one', () => {
    expect(startRun(newRun(200), { declaredMaxSteps: 1000, at: 't' })?.max_steps).toBe(200);
  });

  it('keeps the configured cap when the run declares none, and records who started it', () => {
    expect(
      startRun(newRun(200), { agentId: 'bot', workflow: 'triage', at: '2026-01-01T00:00:00Z' }),
    ).toEqual({
      max_steps: 200,
      counted: [],
      agent_id: 'bot',
      workflow: 'triage',
      started_at: '2026-01-01T00:00:00Z',
    });
  });

  it('keeps intents that arrived before run.started counted, and the cap holds after', () => {
    const early = countAll(newRun(200), ['a', 'b', 'c']);
    const started = startRun(early, { declaredMaxSteps: 2, at: 't' });
    expect(started?.counted).toEqual(['a', 'b', 'c']);
    if (started === undefined) throw new Error('run.started changed nothing');
    expect(reserveStep(started, 'd').verdict).toEqual({ kind: 'step_cap', maxSteps: 2 });
    // Intents counted before the cap tightened keep their answer on redelivery.
    expect(reserveStep(started, 'c').verdict).toEqual({
      kind: 'reserved',
      runSteps: 3,
      maxSteps: 2,
    });
  });

  it('applies run.started once: a redelivery changes nothing', () => {
    const started = startRun(newRun(10), { declaredMaxSteps: 5, at: 't' });
    expect(started && startRun(started, { declaredMaxSteps: 1, at: 't2' })).toBeUndefined();
  });
});
