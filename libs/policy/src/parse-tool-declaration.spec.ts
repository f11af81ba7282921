import { describe, expect, it } from 'vitest';
import { type DeclarationError, parseToolDeclaration } from './parse-tool-declaration.js';

const VALID = `name: crm.lookup_customer
version: 2
kind: read
domain: support
groups: [support]
description: Finds a customer by e-mail.
args:
  type: object
  required: [email]
  properties:
    email: { type: string, format: email }
    limit: { type: integer, minimum: 1, maximum: 50 }
    orders: { type: array, items: { type: object, properties: { total: { type: number } } } }
pii: [email]
risk:
  - flag: bulk
    when: { path: limit, op: gt, value: 20 }
cost: { per_call_micro_usd: 0 }
executor: { adapter: nats, target: crm.lookup }
`;

function errorsOf(text: string, format?: 'yaml' | 'json'): readonly DeclarationError[] {
  const parsed = parseToolDeclaration(text, format === undefined ? {} : { format });
  if (parsed.ok) throw new Error('expected the declaration to be refused');
  return parsed.errors;
}

/** The errors as `path: message`, ignoring positions. */
function messages(text: string, format?: 'yaml' | 'json'): string[] {
  return errorsOf(text, format).map((e) => `${e.path}: ${e.message}`);
}

describe('parseToolDeclaration', () => {
  it('parses a valid declaration and fills defaults', () => {
    const parsed = parseToolDeclaration(VALID);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.tool).toMatchObject({
      name: 'crm.lookup_customer',
      version: 2,
      kind: 'read',
      idempotency_keys: false,
      pii: ['email'],
      executor: { adapter: 'nats', target: 'crm.lookup' },
    });
    expect(parsed.tool.args.required).toEqual(['email']);
  });

  it('reports YAML syntax errors with line and column, and nothing else', () => {
    const errors = errorsOf('name: a.b\nversion: 1\nargs:\n  type: [object\nkind: read\n');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.path === '' && e.message.startsWith('YAML: '))).toBe(true);
    // The reader notices the unclosed list where the next key starts.
    expect(errors[0]?.line).toBe(5);
    expect(errors[0]?.column).toBeGreaterThan(0);
  });

  it('refuses duplicate keys, with the line of the duplicate', () => {
    const errors = errorsOf('name: a.b\nversion: 1\nname: c.d\n');
    expect(errors).toEqual([
      {
        path: '',
        message: expect.stringMatching(/^YAML: Map keys must be unique/) as unknown,
        line: 3,
        column: 1,
      },
    ]);
  });

  it('refuses several documents, unknown tags and alias bombs', () => {
    expect(messages('name: a\n---\nname: b\n')[0]).toMatch(/YAML: .*multiple documents/i);
    expect(messages('name: !!js/function "x"\n')[0]).toMatch(/^: YAML: /);
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
    ].join('\n');
    expect(messages(bomb)[0]).toMatch(/alias/i);
  });

  it('refuses text that is not a mapping, too long or nested too deeply, without throwing', () => {
    expect(messages('- a\n- b\n')).toEqual([
      ': a declaration must be a mapping of fields (name, version, kind, …)',
    ]);
    expect(messages('')).toEqual([
      ': a declaration must be a mapping of fields (name, version, kind, …)',
    ]);
    expect(messages('x'.repeat(300_000))[0]).toMatch(/longer than/);
    expect(messages(`a: ${'['.repeat(100)}${']'.repeat(100)}`)[0]).toMatch(
      /nests deeper than 64 levels/,
    );
    // Deep enough to overflow a recursive reader: still an error, not an exception.
    expect(errorsOf(`a: ${'['.repeat(60_000)}${']'.repeat(60_000)}`).length).toBeGreaterThan(0);
    expect(
      errorsOf(`{"a": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 'json').length,
    ).toBeGreaterThan(0);
  });

  it('reports every schema error with its path and line, all at once', () => {
    const text = `name: Zendesk.Update
version: 0
kind: delete
domain: support.eu
groups: []
description: ""
args:
  type: object
  properties:
    status: { type: string, enum: [open, 3] }
    extra: { type: string, oneOf: [] }
pii: [missing_field]
risk:
  - flag: Bulk
    when: { path: status, op: count_gt, value: 10 }
  - flag: money
    when: { path: amount, op: present }
  - flag: write
    when: { path: status, op: sometimes }
cost: { per_call_micro_usd: -1 }
idempotency_keys: "yes"
executor: { adapter: ftp }
owner: me
`;
    const errors = errorsOf(text);
    const byPath = Object.fromEntries(errors.map((e) => [e.path, e]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'name',
        'version',
        'kind',
        'domain',
        'groups',
        'description',
        'args.properties.status.enum.1',
        'args.properties.extra.oneOf',
        'pii.0',
        'risk.0.flag',
        'risk.0.when.op',
        'risk.1.when.path',
        'risk.2.flag',
        'risk.2.when.op',
        'cost.per_call_micro_usd',
        'idempotency_keys',
        'executor.adapter',
        'executor.target',
        'owner',
      ].sort(),
    );
    expect(byPath.name?.line).toBe(1);
    expect(byPath['args.properties.status.enum.1']).toMatchObject({
      message: '3 is not a valid string: it must be a string, not an integer',
      line: 10,
    });
    expect(byPath['pii.0']).toMatchObject({
      message: 'the args declares no field "missing_field"',
      line: 12,
    });
    expect(byPath['risk.0.when.op']?.message).toBe(
      'count_gt needs a list, but "status" is a string',
    );
    expect(byPath['risk.1.when.path']?.message).toBe('the args declares no field "amount"');
    expect(byPath['risk.2.flag']?.message).toBe(
      '"write" is derived from kind and cannot be a rule',
    );
    expect(byPath['executor.target']).toMatchObject({ message: 'is required', line: 22 });
    expect(byPath.owner).toMatchObject({ message: 'is not a known field', line: 23 });
  });

  it('reports missing required fields', () => {
    expect(messages('name: a.b\n').sort()).toEqual(
      [
        'version: is required',
        'kind: is required',
        'domain: is required',
        'groups: is required',
        'description: is required',
        'args: is required',
        'cost: is required',
        'executor: is required',
      ].sort(),
    );
  });

  it('checks condition values against the type at their path', () => {
    const text = VALID.replace(
      '{ path: limit, op: gt, value: 20 }',
      '{ path: limit, op: in, value: [5, 500] }',
    ).replace(
      'risk:\n',
      'risk:\n  - flag: money\n    when: { path: orders.*.total, op: eq, value: "x" }\n',
    );
    expect(messages(text)).toEqual([
      'risk.0.when.value: "x" can never be the value of "orders.*.total": it must be a number, not a string',
      'risk.1.when.value: 500 can never be the value of "limit": it must be ≤ 50 (is 500)',
    ]);
  });

  it('checks paths through lists and nested conditions', () => {
    const text = VALID.replace(
      '{ path: limit, op: gt, value: 20 }',
      '{ any: [{ path: orders.total, op: present }, { all: [{ path: email.domain, op: present }] }] }',
    );
    expect(messages(text)).toEqual([
      'risk.0.when.any.0.path: "orders" is a list: step into its items with "*"',
      'risk.0.when.any.1.all.0.path: "email" is a string: there is nothing below it',
    ]);
  });

  it('refuses a __proto__ key instead of setting a prototype', () => {
    expect(messages(`${VALID}__proto__: { polluted: true }\n`)).toEqual([
      '__proto__: is not a known field',
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads strict JSON when asked, and locates its syntax errors', () => {
    const json = JSON.stringify({ name: 'a.b', version: 1 }, null, 2);
    expect(messages(json, 'json')).toContain('kind: is required');
    const errors = errorsOf('{\n  "name": "a.b",\n  "version": 1,\n}', 'json');
    expect(errors[0]?.message).toMatch(/^invalid JSON: /);
    // The reader notices the unclosed list where the next key starts.
    expect(errors[0]?.line).toBe(4);
    // V8 names no position for some errors, and YAML may read the text fine: then no line is given.
    expect(errorsOf('{\n"a": tru}', 'json')[0]?.message).toMatch(/^invalid JSON: Unexpected token/);
    // YAML is not JSON: a JSON reader refuses it.
    expect(messages('name: a.b\n', 'json')[0]).toMatch(/^: invalid JSON/);
  });

  it('never throws on non-string input from an untyped caller', () => {
    expect(parseToolDeclaration(42 as unknown as string)).toEqual({
      ok: false,
      errors: [{ path: '', message: 'must be text' }],
    });
  });
});
