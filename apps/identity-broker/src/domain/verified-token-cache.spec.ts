import { describe, expect, it } from 'vitest';
import type { TokenClaims } from './agent-token.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

const claims = (exp: number): TokenClaims => ({
  sub: 'a',
  jti: `j${exp}`,
  iat: 0,
  exp,
  kid: 'k',
  scope: [],
  roles: [],
});

describe('VerifiedTokenCache', () => {
  it('keeps a token until it expired, with the clock tolerance jose allows', () => {
    const cache = new VerifiedTokenCache();
    cache.set('t', claims(1000), 0);
    expect(cache.get('t', 1029)).toEqual(claims(1000));
    expect(cache.get('t', 1030)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('a', claims(1000), 0);
    cache.set('b', claims(1000), 0);
    cache.set('c', claims(1000), 0);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('b', 0)).toBeDefined();
    expect(cache.get('c', 0)).toBeDefined();
  });

  it('drops expired tokens before live ones when full', () => {
    const cache = new VerifiedTokenCache(3);
    cache.set('live-old', claims(5000), 0);
    cache.set('expired-1', claims(100), 0);
    cache.set('expired-2', claims(100), 0);
    cache.set('new', claims(5000), 1000);
    expect(cache.size).toBe(2);
    expect(cache.get('live-old', 1000)).toBeDefined();
    expect(cache.get('new', 1000)).toBeDefined();
  });

  it('does not grow past maxEntries however many tokens arrive', () => {
    const cache = new VerifiedTokenCache(100);
    for (let i = 0; i < 1000; i++) cache.set(`t${i}`, claims(5000), i / 100);
    expect(cache.size).toBe(100);
    expect(cache.get('t999', 10)).toBeDefined();
  });

  it('counts a token set again as new, not as a second entry', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('a', claims(1000), 0);
    cache.set('b', claims(1000), 0);
    cache.set('a', claims(1000), 0);
    cache.set('c', claims(1000), 0);
    expect(cache.get('a', 0)).toBeDefined();
    expect(cache.get('b', 0)).toBeUndefined();
  });
});
