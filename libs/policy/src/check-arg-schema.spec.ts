import { describe, expect, it } from 'vitest';
import { checkArgSchema } from './check-arg-schema.js';
import { formatPath } from './paths.js';

/** The problems of a schema as `path: message` lines, for compact expectations. */
function problems(schema: unknown): string[] {
  const checked = checkArgSchema(schema);
  return checked.ok ? [] : checked.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

const object = (properties: Record<string, unknown>) => ({ type: 'object', properties });

describe('checkArgSchema', () => {
  it('accepts every keyword of the subset', () => {
    expect(
      problems({
        type: 'object',
        description: 'all of it',
        additionalProperties: false,
        required: ['s'],
        properties: {
          s: {
            type: 'string',
            minLength: 1,
            maxLength: 9,
            pattern: '^a+$',
          },
          e: { type: 'string', format: 'email' },
          s2: {
            type: 'string',
            enum: ['aa'],
          },
          c: { type: 'string', const: 'x' },
          i: {
            type: 'integer',
            minimum: 0,
            maximum: 9,
            exclusiveMinimum: -1,
            exclusiveMaximum: 10,
          },
          n: { type: 'number', enum: [0.5, 1] },
          b: { type: 'boolean', const: true },
          z: { type: 'null' },
          a: { type: 'array', items: { type: 'integer' }, minItems: 0, maxItems: 5 },
          o: { type: 'object' },
        },
      }),
    ).toEqual([]);
  });

  it('refuses a root that is not an object schema', () => {
    expect(problems({ type: 'array', items: { type: 'string' } })).toEqual([
      'type: the args schema must be of type "object"',
    ]);
    expect(problems('object')).toEqual([': must be a schema (a mapping with a "type")']);
  });

  it('refuses keywords outside the subset, misplaced keywords and unknown ones, with paths', () => {
    expect(
      problems(
        object({
          a: { type: 'string', oneOf: [] },
          b: { type: 'integer', minLength: 1 },
          c: { type: 'string', colour: 'red' },
          d: { type: 'array', items: { type: 'string', $ref: '#/x' }, uniqueItems: true },
        }),
      ),
    ).toEqual([
      'properties.a.oneOf: "oneOf" is outside the supported JSON Schema subset',
      'properties.b.minLength: "minLength" does not apply to type integer',
      'properties.c.colour: unknown keyword "colour"',
      'properties.d.uniqueItems: "uniqueItems" is outside the supported JSON Schema subset',
      'properties.d.items.$ref: "$ref" is outside the supported JSON Schema subset',
    ]);
  });

  it('refuses a missing, unknown or listed type', () => {
    expect(
      problems(object({ a: {}, b: { type: 'date' }, c: { type: ['string', 'null'] } })),
    ).toEqual([
      'properties.a.type: "type" is required (one of object, array, string, integer, number, boolean, null)',
      'properties.b.type: unsupported type "date": one of object, array, string, integer, number, boolean, null',
      'properties.c.type: a list of types is not supported: declare one type (optional fields are simply not required)',
    ]);
  });

  it('refuses additionalProperties other than false', () => {
    expect(problems({ type: 'object', additionalProperties: true })).toEqual([
      'additionalProperties: must be false or absent: undeclared fields are always rejected',
    ]);
    expect(problems({ type: 'object', additionalProperties: { type: 'string' } })).toHaveLength(1);
  });

  it('refuses required names that are not declared, or listed twice', () => {
    expect(
      problems({
        type: 'object',
        properties: { a: { type: 'string' } },
        required: ['a', 'b', 'a', 3],
      }),
    ).toEqual([
      'required.1: "b" is required but not declared in properties',
      'required.2: "a" is listed twice',
      'required.3: must be a field name',
    ]);
  });

  it('refuses field names that are unsafe or break dotted paths', () => {
    expect(problems(object({ __proto__: { type: 'string' } }))).toEqual([]); // a literal __proto__ sets the prototype
    const raw: unknown = JSON.parse(
      '{"type":"object","properties":{"__proto__":{"type":"string"},"a.b":{"type":"string"},"constructor":{"type":"string"}}}',
    );
    expect(problems(raw)).toEqual([
      'properties.__proto__: "__proto__" is reserved and cannot name a field',
      'properties.a.b: a field name must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-", starting with a letter or "_"',
      'properties.constructor: "constructor" is reserved and cannot name a field',
    ]);
  });

  it('requires items on arrays and bounds maxItems', () => {
    expect(
      problems(
        object({
          a: { type: 'array' },
          b: { type: 'array', items: { type: 'string' }, maxItems: 10_001 },
        }),
      ),
    ).toEqual([
      'properties.a.items: is required: every array declares the schema of its items',
      'properties.b.maxItems: must be at most 10000',
    ]);
  });

  it('refuses bad numbers in length and range keywords, and empty ranges', () => {
    expect(
      problems(
        object({
          a: { type: 'string', minLength: -1, maxLength: 1.5 },
          b: { type: 'string', minLength: 5, maxLength: 4 },
          c: { type: 'integer', minimum: '1' },
          d: { type: 'number', minimum: 10, exclusiveMaximum: 5 },
          e: { type: 'array', items: { type: 'null' }, minItems: 3, maxItems: 2 },
        }),
      ),
    ).toEqual([
      'properties.a.minLength: must be a non-negative integer',
      'properties.a.maxLength: must be a non-negative integer',
      'properties.b.minLength: must not exceed maxLength',
      'properties.c.minimum: must be a finite number',
      'properties.d: the lower bound exceeds the upper bound: no number is valid',
      'properties.e.minItems: must not exceed maxItems',
    ]);
  });

  it('refuses unsafe patterns, and patterns without a bounded maxLength', () => {
    expect(
      problems(
        object({
          a: { type: 'string', pattern: '^(a+)+$', maxLength: 10 },
          b: { type: 'string', pattern: '^a+$' },
          c: { type: 'string', pattern: '^a+$', maxLength: 5_000 },
        }),
      ),
    ).toEqual([
      'properties.a.pattern: is refused: it repeats a group that itself contains a quantifier or an alternation (catastrophic backtracking)',
      'properties.b.pattern: needs a maxLength of at most 1024 beside it, so matching time stays bounded',
      'properties.c.pattern: needs a maxLength of at most 1024 beside it, so matching time stays bounded',
    ]);
  });

  it('refuses unknown formats', () => {
    expect(problems(object({ a: { type: 'string', format: 'ipv4' } }))).toEqual([
      'properties.a.format: unsupported format "ipv4": one of email, uri, date-time, date, uuid',
    ]);
  });

  it('refuses enum and const values the node itself would reject', () => {
    expect(
      problems(
        object({
          a: { type: 'string', enum: ['ok', 3, 'ok', 'toolong'], maxLength: 4 },
          b: { type: 'integer', enum: [] },
          c: { type: 'integer', const: 1.5 },
          d: { type: 'string', enum: [{ nested: true }] },
        }),
      ),
    ).toEqual([
      'properties.a.enum.1: 3 is not a valid string: it must be a string, not an integer',
      'properties.a.enum.2: is listed twice',
      'properties.a.enum.3: "toolong" is not a valid string: it must be at most 4 characters long (is 7)',
      'properties.b.enum: must be a non-empty list',
      'properties.c.const: 1.5 is not a valid integer: it must be an integer, not a number',
      'properties.d.enum.0: must be a string, number, boolean or null',
    ]);
  });

  it('bounds schema depth and size without overflowing the stack', () => {
    let deep: unknown = { type: 'string' };
    for (let i = 0; i < 20; i++) deep = { type: 'array', items: deep };
    const found = problems(object({ deep }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/nests deeper than 16 levels$/);
    const wide = Object.fromEntries(
      Array.from({ length: 257 }, (_, i) => [`f${i}`, { type: 'string' }]),
    );
    expect(problems(object(wide))).toEqual(['properties: declares more than 256 fields']);
  });

  it('reports every problem at once', () => {
    expect(
      problems({
        type: 'object',
        additionalProperties: true,
        required: ['x'],
        properties: { a: { type: 'strin' }, b: { type: 'array' } },
      }),
    ).toHaveLength(4);
  });
});
