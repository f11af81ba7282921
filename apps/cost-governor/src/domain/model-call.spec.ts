import { describe, expect, it } from 'vitest';
import { routeAndReserve, settleModelCall } from './model-call.js';
import { DEFAULT_ROUTING_YAML, parseRouting } from './routing/index.js';
import { newRun, type RunRecord } from './step-cap.js';

const TABLE = parseRouting(DEFAULT_ROUTING_YAML);
const NOW = 1_800_000_000_000;
const request = (intentId: string, taskClass: string, inputTokens = 2_000) => ({
  intentId,
  taskClass,
  inputTokens,
});

describe('routeAndReserve', () => {
  it('routes extraction to the cheap model and planning to the strong one, reserving the estimate', () => {
    const extraction = routeAndReserve(newRun(10), request('a', 'extraction'), TABLE, NOW, {});
    expect(extraction.verdict).toMatchObject({
      kind: 'routed',
      call: { model: 'small-model', tier: 1, max_output_tokens: 1024 },
    });
    const record = extraction.next ?? newRun(10);
    const planning = routeAndReserve(record, request('b', 'planning'), TABLE, NOW, {});
    expect(planning.verdict).toMatchObject({
      kind: 'routed',
      call: { model: 'top-model', tier: 3 },
    });
    // 2,000 × $0.15/M + 1,024 × $0.60/M = 300 + 614.4 → 915 µ$, held until the usage comes.
    expect(planning.next?.budget?.open.a?.micro_usd).toBe(915);
  });

  it('routes down a tier when the run has little left, and refuses when nothing fits', () => {
    const low = routeAndReserve(newRun(10), request('a', 'planning'), TABLE, NOW, {
      micro_usd: 400_000,
    });
    expect(low.verdict).toMatchObject({
      kind: 'routed',
      call: { model: 'mid-model', reason: 'low_budget' },
    });
    const none = routeAndReserve(newRun(10), request('b', 'planning'), TABLE, NOW, {
      micro_usd: 100,
    });
    expect(none.verdict.kind).toBe('budget_exhausted');
    expect(none.next).toBeUndefined();
  });

  it('gives a redelivered request the model it was given', () => {
    const first = routeAndReserve(newRun(10), request('a', 'drafting'), TABLE, NOW, {});
    const record = first.next as RunRecord;
    expect(routeAndReserve(record, request('a', 'drafting'), TABLE, NOW, {})).toEqual({
      next: undefined,
      verdict: first.verdict,
    });
  });
});

describe('settleModelCall', () => {
  it('books the tokens at the used model’s rates, exactly, once', () => {
    const routed = routeAndReserve(newRun(10), request('a', 'extraction'), TABLE, NOW, {});
    const record = routed.next as RunRecord;
    const usage = { model: 'small-model', inputTokens: 1_234_567, outputTokens: 1_000 };
    const settled = settleModelCall(record, 'a', usage, TABLE, NOW);
    // ⌈(1,234,567 × 150,000 + 1,000 × 600,000) / 10^6⌉ = ⌈185,785.05⌉ = 185,786 µ$.
    expect(settled.verdict).toEqual({
      kind: 'settled',
      costMicroUsd: 185_786,
      releasedMicroUsd: 0,
      runCostMicroUsd: 185_786,
    });
    const after = settled.next as RunRecord;
    expect(after.models).toEqual({});
    expect(settleModelCall(after, 'a', usage, TABLE, NOW)).toMatchObject({
      next: undefined,
      verdict: { kind: 'settled', costMicroUsd: 185_786 },
    });
    expect(settleModelCall(after, 'zzz', usage, TABLE, NOW).verdict.kind).toBe('unknown_call');
  });
});
