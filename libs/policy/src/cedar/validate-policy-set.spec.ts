import { readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { positionAt } from './source-position.js';
import { validatePolicySet } from './validate-policy-set.js';

const SCHEMA = readFileSync(
  new URL('../../../../deploy/policies/warden.cedarschema', import.meta.url),
  'utf8',
);

const READS_IN_DOMAIN = `permit (principal, action == Warden::Action::"invoke", resource)
when { resource.kind == "read" && principal.domains.contains(resource.domain) };`;

describe('warden.cedarschema', () => {
  it('parses', () => {
    expect(cedar.checkParseSchema(SCHEMA)).toEqual({ type: 'success' });
  });
});

describe('validatePolicySet', () => {
  it('accepts a valid set that uses every part of the context', () => {
    const result = validatePolicySet(SCHEMA, {
      'reads-in-domain': READS_IN_DOMAIN,
      'no-payroll': 'forbid (principal, action, resource in Warden::ToolGroup::"payroll");',
      'urgent-only-payments': `forbid (principal, action, resource)
        when { context.args has priority && context.args.priority == "urgent" }
        unless { principal.tool_groups.contains("payments") };`,
      'office-hours': `permit (principal, action, resource)
        when { context.now < datetime("2030-01-01T00:00:00Z") && context.run.step <= 50
          && context.env == "prod" && !context.risk.bulk && !context.risk.raised.contains("x") };`,
    });
    expect(result).toEqual({ ok: true, errors: [], warnings: [] });
  });

  it('refuses a type error with its policy id and position', () => {
    const result = validatePolicySet(SCHEMA, {
      good: READS_IN_DOMAIN,
      'bad-type': 'permit (principal, action, resource)\nwhen { context.run.step == "one" };',
    });
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual([
      {
        policyId: 'bad-type',
        line: 2,
        column: 8,
        message: expect.stringMatching(/Long and String/) as unknown,
      },
    ]);
  });

  it('refuses an unknown attribute with its policy id', () => {
    const result = validatePolicySet(SCHEMA, {
      'bad-attr': 'permit (principal, action, resource) when { context.risk.nope };',
    });
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual([
      expect.objectContaining({
        policyId: 'bad-attr',
        message: expect.stringMatching(/nope/) as unknown,
      }),
    ]);
  });

  it('refuses an unguarded optional attribute (the missing `has` lint)', () => {
    const result = validatePolicySet(SCHEMA, {
      unguarded: 'forbid (principal, action, resource) when { context.args.priority == "urgent" };',
    });
    expect(result.errors).toEqual([
      expect.objectContaining({
        policyId: 'unguarded',
        message: expect.stringMatching(/has/) as unknown,
      }),
    ]);
  });

  it('refuses every syntax error, each with its own policy id and line', () => {
    const result = validatePolicySet(SCHEMA, {
      good: READS_IN_DOMAIN,
      'broken-a': '// café\npermit (principal, action, resource) when { ; };',
      'broken-b': 'permit (principal, action, resource)',
    });
    expect(result.ok).toBe(false);
    expect(result.errors.map((e) => e.policyId)).toEqual(['broken-a', 'broken-b']);
    // Cedar counts bytes; `é` is two, so a UTF-16 offset would land one column late.
    expect(result.errors[0]).toMatchObject({ line: 2, column: 47 });
  });

  it('refuses a broken schema without throwing', () => {
    const result = validatePolicySet('namespace Warden { entity A { x: Nope }; }', {});
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual([
      expect.objectContaining({
        line: 1,
        column: 34,
        message: expect.stringMatching(/Nope/) as unknown,
      }),
    ]);
  });
});

describe('positionAt', () => {
  it('counts UTF-8 bytes, lines and code points', () => {
    expect(positionAt('a\né😀b', 0)).toEqual({ line: 1, column: 1 });
    expect(positionAt('a\né😀b', 2)).toEqual({ line: 2, column: 1 });
    expect(positionAt('a\né😀b', 8)).toEqual({ line: 2, column: 3 });
    expect(positionAt('a\né😀b', 9)).toEqual({ line: 2, column: 4 });
    expect(positionAt('ab', 3)).toBeUndefined();
  });
});
