import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    [250, 250],
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1_500],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['30m1h', 5_400_000],
    ['1d', 86_400_000],
    [' 10m ', 600_000],
  ])('reads %j as %d ms', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
  });

  it.each([
    ['10'],
    ['10 min'],
    ['-1s'],
    ['1x'],
    [''],
    ['m'],
    ['0s'],
    [0],
    [-5],
    [Number.NaN],
    [Infinity],
  ])('refuses %j, naming the option', (value) => {
    expect(() => parseDuration(value, 'waitForApproval')).toThrow(
      /^waitForApproval must be a positive number of milliseconds or a duration/,
    );
  });
});
