import { describe, expect, it } from 'vitest';
import { redact } from './redact.js';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

describe('redact', () => {
  it('redacts strings anywhere in a nested value', () => {
    const result = redact({
      args: { to: 'ann@example.com', attachments: [[{ auth: `token ${JWT}` }]] },
    });
    expect(result.value).toEqual({
      args: { to: '[REDACTED:email]', attachments: [[{ auth: 'token [REDACTED:jwt]' }]] },
    });
    expect(result.kinds).toEqual(['email', 'jwt']);
    expect(result.count).toBe(2);
  });

  it('redacts a JWT that is an item of a nested array', () => {
    expect(redact({ a: [1, [null, JWT]] }).value).toEqual({ a: [1, [null, '[REDACTED:jwt]']] });
  });

  it('redacts a card number given as a JSON number', () => {
    const result = redact({ card: 4111111111111111, amount: 4999, ts: 1732636800000 });
    expect(result.value).toEqual({ card: '[REDACTED:card]', amount: 4999, ts: 1732636800000 });
    expect(result.kinds).toEqual(['card']);
  });

  it('leaves a JSON number that fails Luhn alone', () => {
    expect(redact({ n: 4111111111111112 }).count).toBe(0);
  });

  it('redacts a card number given as a bigint', () => {
    expect(redact([4111111111111111n]).value).toEqual(['[REDACTED:card]']);
  });

  it('redacts object keys that hold personal data', () => {
    expect(redact({ 'ann@example.com': { orders: 3 } }).value).toEqual({
      '[REDACTED:email]': { orders: 3 },
    });
  });

  describe('secret-named keys', () => {
    it('replaces their value whole, whatever its shape', () => {
      const result = redact({
        password: 'hunter2',
        apiKey: 1234,
        'X-API-Key': 'abc',
        credentials: { user: 'bob', pass: 'x' },
        headers: { Authorization: 'Basic dXNlcjpwYXNz', cookie: 'sid=1' },
        client_secret: ['a', 'b'],
        refreshToken: 'r',
      });
      expect(result.value).toEqual({
        password: '[REDACTED:secret]',
        apiKey: '[REDACTED:secret]',
        'X-API-Key': '[REDACTED:secret]',
        credentials: '[REDACTED:secret]',
        headers: { Authorization: '[REDACTED:secret]', cookie: '[REDACTED:secret]' },
        client_secret: '[REDACTED:secret]',
        refreshToken: '[REDACTED:secret]',
      });
      expect(result.kinds).toEqual(['secret']);
      expect(result.count).toBe(8);
    });

    it('keeps values that hold no secret', () => {
      const value = { password: null, token: '', hasPassword: true, secret: undefined };
      expect(redact(value)).toEqual({ value, kinds: [], count: 0 });
    });

    it('leaves token counts and similar keys alone', () => {
      const value = {
        max_tokens: 1024,
        usage: { input_tokens: 1532, output_tokens: 211, token_count: 9, tokenLimit: 8 },
        tokenizer: 'cl100k',
        authorizationDecision: 'permit',
      };
      expect(redact(value).count).toBe(0);
    });
  });

  describe('pii paths', () => {
    const event = {
      args: {
        customer: { email: 'x', name: 'Ann Lee', tier: 'gold' },
        notes: ['first', 'second'],
        items: [
          { sku: 'A-1', note: 'fragile' },
          { sku: 'B-2', note: 'gift' },
        ],
        missing: null,
      },
      result: { name: 'kept' },
    };

    it('replaces the value at each path whole', () => {
      const result = redact(event, { piiPaths: ['args.customer.name', 'args.notes'] });
      expect(result.value).toEqual({
        ...event,
        args: {
          ...event.args,
          customer: { email: 'x', name: '[REDACTED:pii]', tier: 'gold' },
          notes: '[REDACTED:pii]',
        },
      });
      expect(result.kinds).toEqual(['pii']);
      expect(result.count).toBe(2);
    });

    it('matches any array item or key at a `*` segment', () => {
      const result = redact(event, { piiPaths: ['args.items.*.note', 'args.customer.*'] });
      expect(result.value).toEqual({
        ...event,
        args: {
          ...event.args,
          customer: { email: '[REDACTED:pii]', name: '[REDACTED:pii]', tier: '[REDACTED:pii]' },
          items: [
            { sku: 'A-1', note: '[REDACTED:pii]' },
            { sku: 'B-2', note: '[REDACTED:pii]' },
          ],
        },
      });
      expect(result.count).toBe(5);
    });

    it('matches an array item by index', () => {
      const result = redact(event, { piiPaths: ['args.notes.1'] });
      expect((result.value as typeof event).args.notes).toEqual(['first', '[REDACTED:pii]']);
    });

    it('leaves null values and paths absent from the data alone', () => {
      expect(redact(event, { piiPaths: ['args.missing', 'args.nowhere.deep', 'x'] }).count).toBe(0);
    });

    it('gives the same result when the same paths array is reused', () => {
      const piiPaths = ['args.customer.name'];
      expect(redact(event, { piiPaths }).value).toEqual(redact(event, { piiPaths }).value);
    });
  });

  it('never mutates its input', () => {
    const input = {
      user: { email: 'ann@example.com', password: 'x', phones: ['+1 415-555-0100'] },
      keep: { a: 1 },
    };
    const snapshot = structuredClone(input);
    const result = redact(input, { piiPaths: ['keep.a'] });
    expect(input).toEqual(snapshot);
    expect(result.value).not.toBe(input);
  });

  it('returns the input itself when nothing matched, and shares untouched subtrees', () => {
    const clean = { a: [1, 'two', { three: true }], b: 'four' };
    expect(redact(clean).value).toBe(clean);
    const mixed = { clean, dirty: { email: 'ann@example.com' } };
    const redacted = redact(mixed).value as typeof mixed;
    expect(redacted.clean).toBe(clean);
  });

  it('keeps key order in a copied object', () => {
    const redacted = redact({ a: 1, b: 'ann@example.com', c: 3 }).value as object;
    expect(Object.keys(redacted)).toEqual(['a', 'b', 'c']);
  });

  it.each([null, true, false, 0, -1.5, 1e300, '', 'plain', [], {}])(
    'returns the JSON value %j as it is',
    (value) => {
      expect(redact(value)).toEqual({ value, kinds: [], count: 0 });
    },
  );

  it('redacts a string passed at the top level', () => {
    expect(redact('ann@example.com').value).toBe('[REDACTED:email]');
  });

  it('handles a value nested far deeper than the call stack allows', () => {
    let deep: unknown = 'ann@example.com';
    for (let i = 0; i < 100_000; i++) deep = i % 2 === 0 ? [deep] : { d: deep };
    const result = redact(deep);
    expect(result.count).toBe(1);
    let inner = result.value;
    while (typeof inner !== 'string')
      inner = Array.isArray(inner) ? inner[0] : (inner as { d: unknown }).d;
    expect(inner).toBe('[REDACTED:email]');
  });

  it('keeps an own `__proto__` key as data', () => {
    const input = JSON.parse('{"__proto__": {"email": "ann@example.com"}}') as object;
    const result = redact(input).value as object;
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(JSON.stringify(result)).toBe('{"__proto__":{"email":"[REDACTED:email]"}}');
  });

  it('cuts a cycle instead of looping, although JSON cannot hold one', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    a.list = [a];
    expect(redact(a).value).toEqual({ name: 'a', self: '[Circular]', list: ['[Circular]'] });
  });

  it('redacts a large event whose strings are mostly clean', () => {
    const notes = Array.from({ length: 2000 }, (_, i) => `note ${i} at 2026-11-26T10:15:30Z`);
    notes[1500] = 'reach me at ann@example.com';
    const result = redact({ notes });
    expect(result.count).toBe(1);
    expect((result.value as { notes: string[] }).notes[1500]).toBe('reach me at [REDACTED:email]');
  });
});
