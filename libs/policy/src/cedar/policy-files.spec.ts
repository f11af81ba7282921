import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkPolicyFiles, loadPolicyFiles, splitPolicies } from './policy-files.js';

const SCHEMA = readFileSync(
  new URL('../../../../deploy/policies/warden.cedarschema', import.meta.url),
  'utf8',
);

const READS = `// Reads in the agent's own domain.
@id("reads-in-domain")
permit (principal, action == Warden::Action::"invoke", resource)
when { resource.kind == "read" && principal.domains.contains(resource.domain) };

forbid (principal, action, resource in Warden::ToolGroup::"payroll");
forbid (principal, action, resource)
when { context.args has reason && context.args.reason == "a;b // not a comment" };
`;

describe('splitPolicies', () => {
  it('splits at semicolons outside strings and comments, from each first token', () => {
    const chunks = splitPolicies(READS);
    expect(chunks.map((c) => c.text.slice(0, 12))).toEqual([
      '@id("reads-i',
      'forbid (prin',
      'forbid (prin',
    ]);
    expect(chunks[2]?.text.endsWith('"a;b // not a comment" };')).toBe(true);
  });

  it('keeps unterminated trailing text as a chunk of its own', () => {
    expect(
      splitPolicies('permit (principal, action, resource);\npermit (').map((c) => c.text),
    ).toEqual(['permit (principal, action, resource);', 'permit (']);
  });
});

describe('loadPolicyFiles', () => {
  it('names policies by @id, else by file and 1-based position, with their origins', () => {
    const loaded = loadPolicyFiles([{ name: 'support.cedar', text: READS }]);
    expect(loaded.ok).toBe(true);
    expect(Object.keys(loaded.policies)).toEqual(['reads-in-domain', 'support.2', 'support.3']);
    expect(loaded.origins).toEqual({
      'reads-in-domain': { file: 'support.cedar', line: 2, column: 1 },
      'support.2': { file: 'support.cedar', line: 6, column: 1 },
      'support.3': { file: 'support.cedar', line: 7, column: 1 },
    });
  });

  it('refuses a duplicate id across files, naming both places', () => {
    const loaded = loadPolicyFiles([
      { name: 'a.cedar', text: '@id("x") permit (principal, action, resource);' },
      { name: 'b.cedar', text: '\n\n  @id("x") forbid (principal, action, resource);' },
    ]);
    expect(loaded.ok).toBe(false);
    expect(loaded.errors).toEqual([
      {
        file: 'b.cedar',
        line: 3,
        column: 3,
        policyId: 'x',
        message: 'duplicate policy id "x" (first at a.cedar:1)',
      },
    ]);
  });

  it('refuses an @id that repeats a derived id', () => {
    const loaded = loadPolicyFiles([
      {
        name: 'a.cedar',
        text: 'permit (principal, action, resource);\n@id("a.1") forbid (principal, action, resource);',
      },
    ]);
    expect(loaded.errors).toEqual([expect.objectContaining({ policyId: 'a.1', line: 2 })]);
  });
});

describe('checkPolicyFiles', () => {
  it('accepts valid files', () => {
    const checked = checkPolicyFiles(SCHEMA, [{ name: 'support.cedar', text: READS }]);
    expect(checked).toMatchObject({ ok: true, errors: [], warnings: [] });
  });

  it('reports every error with its file, file-relative line and policy id', () => {
    const checked = checkPolicyFiles(SCHEMA, [
      { name: 'support.cedar', text: READS },
      {
        name: 'broken.cedar',
        text: [
          '// two policies with errors',
          '@id("bad-type")',
          'permit (principal, action, resource)',
          'when { context.run.step == "one" };',
          '',
          'permit (principal, action, resource) when { context.risk.nope };',
          'forbid (principal, action, resource) when { context.args.priority == "urgent" };',
          'permit (principal, action, resource) when { context.risk.bulk && };',
        ].join('\n'),
      },
    ]);
    expect(checked.ok).toBe(false);
    expect(checked.errors).toEqual([
      expect.objectContaining({ file: 'broken.cedar', line: 8, policyId: 'broken.4' }),
      expect.objectContaining({ file: 'broken.cedar', line: 4, column: 8, policyId: 'bad-type' }),
      expect.objectContaining({ file: 'broken.cedar', line: 6, policyId: 'broken.2' }),
      expect.objectContaining({
        file: 'broken.cedar',
        line: 7,
        policyId: 'broken.3',
        message: expect.stringMatching(/has/) as unknown,
      }),
    ]);
  });

  it('locates a syntax error in its file', () => {
    const checked = checkPolicyFiles(SCHEMA, [
      {
        name: 'typo.cedar',
        text: 'permit (principal, action, resource);\n\npermit (principal, action, resource)\n  when { true } ;\npermit (principal, acton, resource);',
      },
    ]);
    expect(checked.ok).toBe(false);
    expect(checked.errors).toEqual([
      expect.objectContaining({ file: 'typo.cedar', line: 5, policyId: 'typo.3' }),
    ]);
    expect(checked.errors[0]?.column).toBeGreaterThan(1);
  });

  it('refuses @approval without a group or on a forbid, and warns on a lone @separation_of_duties', () => {
    const checked = checkPolicyFiles(SCHEMA, [
      {
        name: 'a.cedar',
        text: '@approval permit (principal, action, resource);\n@approval("leads") forbid (principal, action, resource);\n@separation_of_duties permit (principal, action, resource);',
      },
    ]);
    expect(checked.errors.map((e) => [e.policyId, e.line])).toEqual([
      ['a.1', 1],
      ['a.2', 2],
    ]);
    expect(checked.warnings).toEqual([expect.objectContaining({ policyId: 'a.3', line: 3 })]);
  });

  it('never throws on odd input', () => {
    const checked = checkPolicyFiles('not a schema', [
      { name: 'x.cedar', text: '"unterminated' },
      { name: 'x.cedar', text: '' },
    ]);
    expect(checked.ok).toBe(false);
    expect(checked.errors.length).toBeGreaterThan(0);
  });
});
