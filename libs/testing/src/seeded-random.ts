/**
 * A seeded pseudo-random number generator (mulberry32) for property tests: the same seed gives
 * the same sequence, so a failure replays exactly from the seed it prints.
 */
export interface SeededRandom {
  /** The next number in [0, 1). */
  readonly next: () => number;
  /** The next integer in [0, below). */
  readonly int: (below: number) => number;
}

/** A {@link SeededRandom} starting from `seed`. */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { next, int: (below) => Math.floor(next() * below) };
}
