import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { capOutput, resolutionOf, settle } from './outcome.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('capOutput', () => {
  it('keeps an output whose JSON fits', () => {
    const capped = capOutput({ text: 'hi' }, 64);
    expect(capped).toEqual({
      output: { text: 'hi' },
      truncated: false,
      bytes: 13,
      digest: sha256('{"text":"hi"}'),
    });
  });

  it('replaces an output over the cap by { truncated, bytes } and digests the original', () => {
    const big = { blob: 'é'.repeat(100) };
    const json = JSON.stringify(big);
    const capped = capOutput(big, 64);
    expect(capped).toEqual({
      output: { truncated: true, bytes: Buffer.byteLength(json) },
      truncated: true,
      bytes: 211,
      digest: sha256(json),
    });
  });

  it('counts bytes, not characters', () => {
    expect(capOutput('é'.repeat(31), 64)?.truncated).toBe(false); // 62 bytes + 2 quotes
    expect(capOutput('é'.repeat(32), 64)?.truncated).toBe(true);
  });

  it('has nothing to cap when there is no output', () => {
    expect(capOutput(undefined, 64)).toBeUndefined();
  });
});

describe('settle', () => {
  it('records an executed call with its capped output and the full output digest', () => {
    const settled = settle({ ok: true, output: { blob: 'x'.repeat(100) } }, 12.34567, 64);
    expect(settled).toMatchObject({
      outcome: { status: 'executed', output: { truncated: true, bytes: 111 }, duration_ms: 12.346 },
      truncated: true,
    });
    expect(settled.resultDigest).toBe(sha256(JSON.stringify({ blob: 'x'.repeat(100) })));
  });

  it('records a failure that changed nothing as failed, one that may have as in doubt', () => {
    const failure = { ok: false, reason: 'tool_failed', message: 'boom' } as const;
    expect(settle({ ...failure, maybeApplied: false }, 1, 64).outcome).toEqual({
      status: 'failed',
      duration_ms: 1,
      reason: 'tool_failed',
      message: 'boom',
    });
    expect(settle({ ...failure, maybeApplied: true }, 1, 64).outcome.status).toBe('in_doubt');
  });

  it('keeps only valid reason codes from a runner', () => {
    const result = { ok: false, reason: 'HTTP 500!', message: 'x', maybeApplied: false } as const;
    expect(settle(result, 1, 64).outcome.reason).toBe('tool_failed');
  });

  it('fails an output with no JSON form instead of crashing the handler', () => {
    expect(settle({ ok: true, output: { n: 1n } }, 1, 64).outcome).toMatchObject({
      status: 'failed',
      reason: 'invalid_output',
    });
  });
});

describe('resolutionOf', () => {
  it('is the outcome, from the executor stage, for the tool', () => {
    expect(resolutionOf('echo', { status: 'executed', output: {}, duration_ms: 1 })).toEqual({
      status: 'executed',
      stage: 'executor',
      tool: 'echo',
      output: {},
      duration_ms: 1,
    });
  });
});
