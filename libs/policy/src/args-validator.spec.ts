import { describe, expect, it } from 'vitest';
import { type ObjectArgSchema } from './arg-schema.js';
import { compileArgs, type ArgsValidation } from './args-validator.js';
import { checkArgSchema } from './check-arg-schema.js';

/** Compiles a schema written as a declaration author would, failing the test if it is refused. */
function compile(schema: unknown, options?: Parameters<typeof compileArgs>[1]) {
  const checked = checkArgSchema(schema);
  if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
  return compileArgs(checked.schema, options);
}

function violations(result: ArgsValidation): { path: string; message: string }[] {
  return result.ok ? [] : [...result.violations];
}

const TICKET: ObjectArgSchema = {
  type: 'object',
  required: ['ticket_id', 'status'],
  properties: {
    ticket_id: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    status: { type: 'string', enum: ['open', 'pending', 'solved'] },
    subject: { type: 'string', minLength: 3, maxLength: 10 },
    ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    urgent: { type: 'boolean' },
    parent: { type: 'null' },
    tags: { type: 'array', minItems: 1, maxItems: 3, items: { type: 'string', maxLength: 8 } },
    customer: {
      type: 'object',
      required: ['email'],
      properties: {
        email: { type: 'string', format: 'email' },
        kind: { type: 'string', const: 'person' },
      },
    },
  },
};

describe('compileArgs', () => {
  const validate = compile(TICKET);

  it('accepts valid args and returns the same value', () => {
    const args = {
      ticket_id: 7,
      status: 'open',
      subject: 'Refund',
      ratio: 0.5,
      urgent: false,
      parent: null,
      tags: ['a', 'b'],
      customer: { email: 'ann@example.com', kind: 'person' },
    };
    const result = validate(args);
    expect(result).toEqual({ ok: true, value: args });
    expect(result.ok && result.value).toBe(args);
  });

  it('rejects an unknown field, at the top and nested', () => {
    expect(violations(validate({ ticket_id: 1, status: 'open', extra: 1 }))).toEqual([
      { path: 'extra', message: 'is not a declared field' },
    ]);
    expect(
      violations(
        validate({ ticket_id: 1, status: 'open', customer: { email: 'a@b.co', vip: true } }),
      ),
    ).toEqual([{ path: 'customer.vip', message: 'is not a declared field' }]);
  });

  it('rejects a wrong enum value and a wrong const', () => {
    expect(violations(validate({ ticket_id: 1, status: 'closed' }))).toEqual([
      { path: 'status', message: 'must be one of "open", "pending", "solved"' },
    ]);
    expect(
      violations(
        validate({ ticket_id: 1, status: 'open', customer: { email: 'a@b.co', kind: 'org' } }),
      ),
    ).toEqual([{ path: 'customer.kind', message: 'must be "person"' }]);
  });

  it('rejects out-of-range numbers, inclusive and exclusive', () => {
    expect(violations(validate({ ticket_id: 0, status: 'open' }))).toEqual([
      { path: 'ticket_id', message: 'must be ≥ 1 (is 0)' },
    ]);
    expect(violations(validate({ ticket_id: 1_000_001, status: 'open' }))).toEqual([
      { path: 'ticket_id', message: 'must be ≤ 1000000 (is 1000001)' },
    ]);
    expect(violations(validate({ ticket_id: 1, status: 'open', ratio: 0 }))).toEqual([
      { path: 'ratio', message: 'must be > 0 (is 0)' },
    ]);
    expect(violations(validate({ ticket_id: 1, status: 'open', ratio: 1 }))).toEqual([
      { path: 'ratio', message: 'must be < 1 (is 1)' },
    ]);
  });

  it('rejects a string over or under its declared length, counting code points', () => {
    expect(violations(validate({ ticket_id: 1, status: 'open', subject: 'x'.repeat(11) }))).toEqual(
      [{ path: 'subject', message: 'must be at most 10 characters long (is 11)' }],
    );
    expect(violations(validate({ ticket_id: 1, status: 'open', subject: 'ab' }))).toEqual([
      { path: 'subject', message: 'must be at least 3 characters long (is 2)' },
    ]);
    // Ten emoji are 20 UTF-16 units but ten characters.
    expect(validate({ ticket_id: 1, status: 'open', subject: '😀'.repeat(10) }).ok).toBe(true);
  });

  it('rejects wrong types without echoing the value', () => {
    expect(
      violations(
        validate({ ticket_id: 1.5, status: 3, urgent: 'yes', parent: 0, tags: 'a', customer: [] }),
      ),
    ).toEqual([
      { path: 'ticket_id', message: 'must be an integer, not a number' },
      { path: 'status', message: 'must be a string, not an integer' },
      { path: 'urgent', message: 'must be a boolean, not a string' },
      { path: 'parent', message: 'must be null, not an integer' },
      { path: 'tags', message: 'must be an array, not a string' },
      { path: 'customer', message: 'must be an object, not an array' },
    ]);
  });

  it('rejects integers beyond 2^53 and non-finite numbers', () => {
    expect(violations(validate({ ticket_id: 2 ** 60, status: 'open' }))[0]?.message).toMatch(
      /between/,
    );
    expect(violations(validate({ ticket_id: 1, status: 'open', ratio: Number.NaN }))).toEqual([
      { path: 'ratio', message: 'must be a number, not a non-finite number' },
    ]);
  });

  it('reports missing required fields, top-level and nested', () => {
    expect(violations(validate({ customer: {} }))).toEqual([
      { path: 'ticket_id', message: 'is required' },
      { path: 'status', message: 'is required' },
      { path: 'customer.email', message: 'is required' },
    ]);
  });

  it('checks array bounds and every item, with index paths', () => {
    expect(violations(validate({ ticket_id: 1, status: 'open', tags: [] }))).toEqual([
      { path: 'tags', message: 'must have at least 1 items (has 0)' },
    ]);
    expect(
      violations(validate({ ticket_id: 1, status: 'open', tags: ['a', 'b', 'c', 'd'] })),
    ).toEqual([{ path: 'tags', message: 'must have at most 3 items (has 4)' }]);
    expect(
      violations(validate({ ticket_id: 1, status: 'open', tags: ['ok', 9, 'far-too-long'] })),
    ).toEqual([
      { path: 'tags.1', message: 'must be a string, not an integer' },
      { path: 'tags.2', message: 'must be at most 8 characters long (is 12)' },
    ]);
  });

  it('caps undeclared array lengths at the declaration limit without walking the items', () => {
    const list = compile({
      type: 'object',
      properties: { ids: { type: 'array', items: { type: 'integer' } } },
    });
    const huge = new Array<unknown>(10_001).fill('not an integer');
    expect(violations(list({ ids: huge }))).toEqual([
      { path: 'ids', message: 'must have at most 10000 items (has 10001)' },
    ]);
  });

  it('collects every violation in one pass', () => {
    const result = validate({ ticket_id: -1, status: 'x', subject: 'a', extra: 1, tags: [1] });
    expect(violations(result).map((v) => v.path)).toEqual([
      'extra',
      'ticket_id',
      'status',
      'subject',
      'tags.0',
    ]);
  });

  it('lists at most maxViolations, then says more were found', () => {
    const strict = compile({ type: 'object' }, { maxViolations: 3 });
    const result = violations(strict({ a: 1, b: 2, c: 3, d: 4, e: 5 }));
    expect(result).toHaveLength(4);
    expect(result[3]).toEqual({
      path: '',
      message: 'more violations not listed (the first 3 are)',
    });
  });

  it('rejects nesting of depth 100 with one violation, without overflowing the stack', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = { note: deep };
    const result = violations(validate({ ticket_id: 1, status: 'open', customer: deep }));
    expect(result).toHaveLength(1);
    expect(result[0]?.message).toBe('nests deeper than 32 levels');
    expect(result[0]?.path).toMatch(/^customer(\.note)+$/);
    // Deep arrays too, and a million levels costs no stack.
    let array: unknown = [];
    for (let i = 0; i < 1_000_000; i++) array = [array];
    expect(violations(validate({ tags: array }))[0]?.message).toBe('nests deeper than 32 levels');
  });

  it('rejects cyclic in-process values instead of looping', () => {
    const cyclic: Record<string, unknown> = { ticket_id: 1, status: 'open' };
    cyclic.customer = cyclic;
    expect(violations(validate(cyclic))[0]?.message).toBe('nests deeper than 32 levels');
  });

  it('rejects values larger than the size bound before applying the schema', () => {
    const small = compile(TICKET, { maxSize: 1_000 });
    expect(violations(small({ ticket_id: 1, status: 'open', subject: 'x'.repeat(2_000) }))).toEqual(
      [{ path: '', message: 'is larger than 1000 characters of JSON' }],
    );
  });

  it('never consults the prototype: __proto__, constructor and toString are unknown fields', () => {
    const parsed: unknown = JSON.parse(
      '{"ticket_id":1,"status":"open","__proto__":{"polluted":true}}',
    );
    expect(violations(validate(parsed))).toEqual([
      { path: '__proto__', message: 'is not a declared field' },
    ]);
    expect(
      violations(validate({ ticket_id: 1, status: 'open', constructor: 1, toString: 'x' })),
    ).toEqual([
      { path: 'constructor', message: 'is not a declared field' },
      { path: 'toString', message: 'is not a declared field' },
    ]);
    // A required field is not satisfied by a polluted prototype.
    Object.defineProperty(Object.prototype, 'ticket_id', { value: 1, configurable: true });
    try {
      expect(violations(validate({ status: 'open' }))).toEqual([
        { path: 'ticket_id', message: 'is required' },
      ]);
    } finally {
      delete (Object.prototype as Record<string, unknown>).ticket_id;
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never throws, whatever it is given', () => {
    const hostile: unknown[] = [
      undefined,
      null,
      0,
      'args',
      Symbol('s'),
      10n,
      () => 1,
      [],
      new Map([['ticket_id', 1]]),
      new Date(),
      Object.create(null),
      new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('trap');
          },
        },
      ),
      {
        ticket_id: 1,
        get status(): string {
          throw new Error('getter');
        },
      },
    ];
    for (const value of hostile) {
      const result = validate(value);
      expect(result.ok).toBe(false);
    }
    expect(violations(validate(new Date()))).toEqual([
      { path: '', message: 'must be an object, not a non-JSON object' },
    ]);
    expect(
      violations(
        validate({
          ticket_id: 1,
          get status(): string {
            throw new Error('x');
          },
        }),
      ),
    ).toEqual([{ path: '', message: 'could not be read as JSON data' }]);
  });

  it('treats an own key holding undefined as absent', () => {
    expect(validate({ ticket_id: 1, status: 'open', subject: undefined }).ok).toBe(true);
    expect(violations(validate({ ticket_id: undefined, status: 'open' }))).toEqual([
      { path: 'ticket_id', message: 'is required' },
    ]);
  });

  it('checks patterns only on strings within maxLength', () => {
    const code = compile({
      type: 'object',
      properties: { code: { type: 'string', pattern: '^[A-Z]{2}-[0-9]+$', maxLength: 12 } },
    });
    expect(code({ code: 'AB-123' }).ok).toBe(true);
    expect(violations(code({ code: 'ab-123' }))).toEqual([
      { path: 'code', message: 'must match the pattern ^[A-Z]{2}-[0-9]+$' },
    ]);
    expect(violations(code({ code: 'x'.repeat(13) }))).toEqual([
      { path: 'code', message: 'must be at most 12 characters long (is 13)' },
    ]);
  });

  it('checks formats', () => {
    const formats = compile({
      type: 'object',
      properties: {
        email: { type: 'string', format: 'email' },
        uri: { type: 'string', format: 'uri' },
        at: { type: 'string', format: 'date-time' },
        day: { type: 'string', format: 'date' },
        id: { type: 'string', format: 'uuid' },
      },
    });
    expect(
      formats({
        email: 'ann@example.com',
        uri: 'https://example.com/a?b=c',
        at: '2026-11-26T10:15:30.123Z',
        day: '2024-02-29',
        id: '3f2b8c1e-7a4d-4e0b-9c6f-1d2e3f4a5b6c',
      }).ok,
    ).toBe(true);
    expect(
      violations(
        formats({
          email: 'ann',
          uri: 'example.com',
          at: '2026-11-26 10:15',
          day: '2023-02-29',
          id: 'x',
        }),
      ),
    ).toEqual([
      { path: 'email', message: 'must be a valid email' },
      { path: 'uri', message: 'must be a valid uri' },
      { path: 'at', message: 'must be a valid date-time' },
      { path: 'day', message: 'must be a valid date' },
      { path: 'id', message: 'must be a valid uuid' },
    ]);
  });
});
