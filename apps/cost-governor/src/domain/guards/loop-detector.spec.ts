import { describe, expect, it } from 'vitest';
import {
  countCall,
  DEFAULT_LOOP_LIMITS,
  newLoopState,
  recordWriteSucceeded,
  type LoopCall,
  type LoopLimits,
  type LoopState,
  type LoopVerdict,
} from './loop-detector.js';

const limits: LoopLimits = { ...DEFAULT_LOOP_LIMITS, maxStepsWithoutWrite: 100 };

function call(intentId: string, tool = 'zendesk.get_ticket', args: object = { id: 1 }): LoopCall {
  return { intentId, tool, args: args as Record<string, unknown> };
}

/** Feeds calls in order, as the CAS loop would store them; returns the state and the answers. */
function feed(
  calls: LoopCall[],
  state: LoopState = newLoopState(),
  with_: LoopLimits = limits,
): { state: LoopState; verdicts: LoopVerdict[] } {
  const verdicts: LoopVerdict[] = [];
  for (const c of calls) {
    const decision = countCall(state, c, with_);
    verdicts.push(decision.verdict);
    state = decision.next ?? state;
  }
  return { state, verdicts };
}

describe('countCall: repeated identical calls', () => {
  it('lets the third identical call through and halts the run at the fourth', () => {
    const { verdicts } = feed([call('a'), call('b'), call('c'), call('d')]);
    expect(verdicts.slice(0, 3).map((v) => v.kind)).toEqual(['continue', 'continue', 'continue']);
    expect(verdicts[2]).toMatchObject({ kind: 'continue', step: 3, identicalCalls: 3 });
    expect(verdicts[3]).toMatchObject({
      kind: 'loop',
      halting: true,
      halt: { rule: 'repeated_call', intent_id: 'd', count: 4, limit: 3 },
    });
  });

  it('counts identical calls per run, not in a row: other calls in between reset nothing', () => {
    const other = (id: string) => call(id, 'zendesk.get_ticket', { id: 2 });
    const { verdicts } = feed([call('a1'), other('b1'), call('a2'), other('b2'), call('a3')]);
    expect(verdicts.every((v) => v.kind === 'continue')).toBe(true);
    const { verdicts: more } = feed([
      call('a1'),
      other('b1'),
      call('a2'),
      other('b2'),
      call('a3'),
      other('b3'),
      call('a4'),
    ]);
    expect(more[5]).toMatchObject({ kind: 'continue', identicalCalls: 3 });
    expect(more[6]).toMatchObject({
      kind: 'loop',
      halt: { rule: 'repeated_call', intent_id: 'a4' },
    });
  });

  it('tells calls apart by tool and args, whatever the order of the args keys', () => {
    const { verdicts } = feed([
      call('a', 'crm.lookup', { q: 'x', limit: 5 }),
      call('b', 'crm.lookup', { limit: 5, q: 'x' }),
      call('c', 'crm.search', { q: 'x', limit: 5 }),
      call('d', 'crm.lookup', { q: 'y', limit: 5 }),
    ]);
    expect(verdicts.map((v) => (v.kind === 'continue' ? v.identicalCalls : 0))).toEqual([
      1, 2, 1, 1,
    ]);
  });

  it('honours a configured limit of 1: the second identical call halts', () => {
    const { verdicts } = feed([call('a'), call('b')], newLoopState(), {
      ...limits,
      maxIdenticalCalls: 1,
    });
    expect(verdicts.map((v) => v.kind)).toEqual(['continue', 'loop']);
  });
});

describe('countCall: steps without a successful write', () => {
  const tight: LoopLimits = { ...DEFAULT_LOOP_LIMITS, maxStepsWithoutWrite: 3 };
  const distinct = (n: number, prefix = 's') =>
    Array.from({ length: n }, (_, i) => call(`${prefix}${i}`, 'kb.search', { q: `${prefix}${i}` }));

  it('allows M steps without a write and halts the run at step M + 1', () => {
    const { verdicts } = feed(distinct(4), newLoopState(), tight);
    expect(verdicts[2]).toMatchObject({ kind: 'continue', stepsWithoutWrite: 3 });
    expect(verdicts[3]).toMatchObject({
      kind: 'loop',
      halt: { rule: 'no_write_progress', intent_id: 's3', count: 4, limit: 3 },
    });
  });

  it('measures from the step of the latest write that succeeded', () => {
    let { state } = feed(distinct(2), newLoopState(), tight); // steps 1, 2; step 2 is the write
    state = recordWriteSucceeded(state, 's1') ?? state;
    expect(state.last_write_step).toBe(2);
    const { verdicts } = feed(distinct(4, 't'), state, tight); // steps 3..6
    expect(verdicts.map((v) => v.kind)).toEqual(['continue', 'continue', 'continue', 'loop']);
  });

  it('counts steps taken while the write was in flight as after it only if they came after it', () => {
    // Step 1 is a write; steps 2 and 3 happen before its success is reported.
    let { state } = feed(distinct(3), newLoopState(), tight);
    state = recordWriteSucceeded(state, 's0') ?? state;
    // Steps since the write: 2, 3 and now 4 → 3, still allowed; 5 → 4, halts.
    const { verdicts } = feed(distinct(2, 't'), state, tight);
    expect(verdicts[0]).toMatchObject({ kind: 'continue', step: 4, stepsWithoutWrite: 3 });
    expect(verdicts[1]).toMatchObject({ kind: 'loop', halt: { rule: 'no_write_progress' } });
  });

  it('ignores a redelivered or out-of-order write success', () => {
    let { state } = feed(distinct(3), newLoopState(), tight);
    state = recordWriteSucceeded(state, 's2') ?? state;
    expect(recordWriteSucceeded(state, 's2')).toBeUndefined();
    expect(recordWriteSucceeded(state, 's0')).toBeUndefined();
    expect(state.last_write_step).toBe(3);
  });

  it('ignores the success of an intent it never counted, and any success once halted', () => {
    const { state } = feed(distinct(4), newLoopState(), tight);
    expect(state.halted).toBeDefined();
    expect(recordWriteSucceeded(state, 's0')).toBeUndefined();
    expect(recordWriteSucceeded(newLoopState(), 'nope')).toBeUndefined();
  });

  it('reports the more specific rule when both fire on the same call', () => {
    const { verdicts } = feed([call('a'), call('b'), call('c'), call('d')], newLoopState(), tight);
    expect(verdicts[3]).toMatchObject({ kind: 'loop', halt: { rule: 'repeated_call' } });
  });
});

describe('countCall: halted runs and redeliveries', () => {
  it('denies every later intent of a halted run without writing', () => {
    const { state } = feed([call('a'), call('b'), call('c'), call('d')]);
    const later = countCall(state, call('e', 'other.tool', { x: 1 }), limits);
    expect(later).toEqual({
      next: undefined,
      verdict: { kind: 'loop', halt: state.halted, halting: false },
    });
  });

  it('gives the halting intent the same answer on redelivery, still marked as the halting one', () => {
    const { state } = feed([call('a'), call('b'), call('c'), call('d')]);
    expect(countCall(state, call('d'), limits)).toEqual({
      next: undefined,
      verdict: { kind: 'loop', halt: state.halted, halting: true },
    });
  });

  it('counts a redelivered intent once and repeats its answer', () => {
    const first = feed([call('a'), call('b')]);
    const again = countCall(first.state, call('a'), limits);
    expect(again).toEqual({ next: undefined, verdict: first.verdicts[0] });
    // Four deliveries but only three distinct intents: no halt.
    const { verdicts } = feed([call('a'), call('a'), call('b'), call('c')]);
    expect(verdicts.map((v) => v.kind)).toEqual(['continue', 'continue', 'continue', 'continue']);
  });

  it('repeats an earlier continue to a redelivery that arrives after the halt', () => {
    const { state, verdicts } = feed([call('a'), call('b'), call('c'), call('d')]);
    expect(countCall(state, call('b'), limits)).toEqual({ next: undefined, verdict: verdicts[1] });
  });
});

describe('LoopState bounds', () => {
  it('keeps the last K distinct digests, forgetting the least recently used', () => {
    const small: LoopLimits = { ...limits, trackedDigests: 2 };
    const at = (id: string, n: number) => call(id, 'kb.search', { n });
    // Digest 1 was last used at step 2 and digest 2 at step 3, so digest 3 evicts digest 1.
    const { state } = feed([at('a', 1), at('b', 1), at('c', 2), at('d', 3)], newLoopState(), small);
    expect(state.calls.length).toBe(2);
    const { verdicts } = feed([at('e', 1)], state, small);
    expect(verdicts[0]).toMatchObject({ kind: 'continue', identicalCalls: 1 });
  });

  it('keeps a recently used digest when another one is evicted', () => {
    const small: LoopLimits = { ...limits, trackedDigests: 2 };
    const at = (id: string, n: number) => call(id, 'kb.search', { n });
    const { verdicts } = feed(
      [at('a', 1), at('b', 2), at('c', 1), at('d', 3), at('e', 1), at('f', 1)],
      newLoopState(),
      small,
    );
    expect(verdicts[4]).toMatchObject({ kind: 'continue', identicalCalls: 3 });
    expect(verdicts[5]).toMatchObject({ kind: 'loop', halt: { rule: 'repeated_call' } });
  });

  it('keeps at most max(R, M + 1) counted intents, and its state survives JSON', () => {
    const bounded: LoopLimits = {
      maxIdenticalCalls: 3,
      maxStepsWithoutWrite: 500,
      trackedDigests: 8,
      rememberedIntents: 16,
    };
    let state = newLoopState();
    for (let i = 0; i < 2000; i++) {
      const decision = countCall(state, call(`i${i}`, 'kb.search', { i }), bounded);
      expect(decision.verdict.kind).toBe('continue');
      state = decision.next ?? state;
      // A successful write every 400 steps keeps the run going.
      if (i % 400 === 0) state = recordWriteSucceeded(state, `i${i}`) ?? state;
    }
    expect(state.steps).toBe(2000);
    expect(state.recent.length).toBe(501);
    expect(state.calls.length).toBe(8);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});
