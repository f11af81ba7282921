import { describe, expect, it } from 'vitest';
import { canaryArm, CanaryPercent, ReleaseVersion } from './release.js';

describe('canaryArm', () => {
  const canaryId = '01JDCANARY000000000000000A';

  it('gives the same run the same arm every time', () => {
    for (let i = 0; i < 100; i++) {
      const runId = `run-${i}`;
      expect(canaryArm(canaryId, runId, 10)).toBe(canaryArm(canaryId, runId, 10));
    }
  });

  it.each([1, 10, 33.33, 50, 90])('puts about %d%% of 20,000 runs on the canary', (percent) => {
    const runs = 20_000;
    let onCanary = 0;
    for (let i = 0; i < runs; i++) {
      if (canaryArm(canaryId, `run-${i}`, percent) === 'canary') onCanary++;
    }
    const p = percent / 100;
    // Four standard deviations of a binomial either side: a failure here is a biased hash.
    const margin = 4 * Math.sqrt(runs * p * (1 - p));
    expect(Math.abs(onCanary - runs * p)).toBeLessThan(margin);
  });

  it('draws independently per canary: another canary splits the same runs differently', () => {
    const runIds = Array.from({ length: 2_000 }, (_, i) => `run-${i}`);
    const first = runIds.filter((runId) => canaryArm(canaryId, runId, 50) === 'canary');
    const second = new Set(
      runIds.filter((runId) => canaryArm('01JDCANARY000000000000000B', runId, 50) === 'canary'),
    );
    const both = first.filter((runId) => second.has(runId)).length;
    // Independent halves overlap on about a quarter of the runs.
    expect(both).toBeGreaterThan(400);
    expect(both).toBeLessThan(600);
  });

  it('keeps a run on the canary when the share grows', () => {
    for (let i = 0; i < 1_000; i++) {
      const runId = `run-${i}`;
      if (canaryArm(canaryId, runId, 10) === 'canary') {
        expect(canaryArm(canaryId, runId, 25)).toBe('canary');
      }
    }
  });
});

describe('release contracts', () => {
  it('accepts shares between 0 and 100 with at most two decimals', () => {
    for (const ok of [0.01, 10, 12.5, 99.99])
      expect(CanaryPercent.safeParse(ok).success).toBe(true);
    for (const bad of [0, 100, -1, 10.125, Number.NaN])
      expect(CanaryPercent.safeParse(bad).success).toBe(false);
  });

  it('accepts release labels teams use, and nothing that could hide in a log line', () => {
    for (const ok of ['v2', '2026-11-27.1', 'gpt-4o_prompt-7'])
      expect(ReleaseVersion.safeParse(ok).success).toBe(true);
    for (const bad of ['', '-v2', 'v 2', 'v2\n', 'x'.repeat(65)])
      expect(ReleaseVersion.safeParse(bad).success).toBe(false);
  });
});
