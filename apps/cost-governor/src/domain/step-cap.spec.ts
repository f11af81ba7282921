import { describe, expect, it } from 'vitest';
import { newRun, reserveStep, startRun, type RunRecord } from './step-cap.js';

function countAll(record: RunRecord, ids: string[]): RunRecord {
  return ids.reduce((current, id) => reserveStep(current, id).next ?? current, record);
}

describe('reserveStep', () => {
  it('counts intents up to the cap, then answers step_cap', () => {
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
  });

  it('keeps a denial stable: an intent over the cap stays over it', () => {
    const record = countAll(newRun(1), ['a']);
    expect(reserveStep(record, 'b').verdict.kind).toBe('step_cap');
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

  it('keeps intents that arrived before run.started counted, and the cap holds after', () => {
    const early = countAll(newRun(200), ['a', 'b']);
    const started = startRun(early, { declaredMaxSteps: 2, at: 't' });
    expect(started?.counted).toEqual(['a', 'b']);
    expect(started && reserveStep(started, 'c').verdict.kind).toBe('step_cap');
  });

  it('applies run.started once', () => {
    const started = startRun(newRun(10), { declaredMaxSteps: 5, at: 't' });
    expect(started && startRun(started, { declaredMaxSteps: 1, at: 't2' })).toBeUndefined();
  });
});
