import { describe, expect, it } from 'vitest';
import { CATCH_UP_SKEW_MS, catchUpStart, needsCatchUp } from './outcome-listener.js';

describe('needsCatchUp', () => {
  const since = 1_000_000;

  it('reads the stream for an intent made before the listener started', () => {
    expect(needsCatchUp(since - 60_000, since)).toBe(true);
  });

  it('also for one made a little after, in case the clocks disagree', () => {
    expect(needsCatchUp(since + CATCH_UP_SKEW_MS - 1, since)).toBe(true);
  });

  it('relies on the listener alone for an intent made well after it started', () => {
    expect(needsCatchUp(since + CATCH_UP_SKEW_MS, since)).toBe(false);
  });
});

describe('catchUpStart', () => {
  it('starts a little before the intent was made', () => {
    expect(catchUpStart(1_000_000, 2_000_000).getTime()).toBe(1_000_000 - CATCH_UP_SKEW_MS);
  });

  it('never starts in the future, whatever the clock that made the intent id said', () => {
    expect(catchUpStart(3_000_000, 2_000_000).getTime()).toBe(2_000_000 - CATCH_UP_SKEW_MS);
  });
});
