import { describe, expect, it } from 'vitest';
import { uniqueEnv } from './env.js';

const SUBJECT_TOKEN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

describe('uniqueEnv', () => {
  it('gives a valid subject token that starts with t-<prefix>-', () => {
    const env = uniqueEnv('publish');
    expect(env).toMatch(SUBJECT_TOKEN);
    expect(env).toMatch(/^t-publish-[a-z0-9]{6}$/);
  });

  it('cleans a prefix that is not token-safe and keeps the result within 64 characters', () => {
    const env = uniqueEnv(`Consume Events.${'x'.repeat(80)}`);
    expect(env).toMatch(SUBJECT_TOKEN);
    expect(env.startsWith('t-consume-events-x')).toBe(true);
  });

  it('never repeats itself', () => {
    const envs = new Set(Array.from({ length: 1000 }, () => uniqueEnv('same')));
    expect(envs.size).toBe(1000);
  });
});
