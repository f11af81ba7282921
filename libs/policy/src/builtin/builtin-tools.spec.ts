import { readFileSync } from 'node:fs';
import { BUILTIN_TOOLS } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import { checkPolicyFiles } from '../cedar/policy-files.js';
import { compilePolicyEngine } from '../cedar/policy-engine.js';
import { compileArgs } from '../args-validator.js';
import { deriveRisk } from '../derive-risk.js';
import { parseToolDeclaration } from '../parse-tool-declaration.js';
import { type ToolDeclaration } from '../tool-declaration.js';
import { BUILTIN_POLICY_FILES, builtinToolSources } from './builtin-tools.js';

const SCHEMA = readFileSync(
  new URL('../../../../deploy/policies/warden.cedarschema', import.meta.url),
  'utf8',
);

function declarations(): Map<string, ToolDeclaration> {
  const tools = new Map<string, ToolDeclaration>();
  for (const { file, source } of builtinToolSources()) {
    const parsed = parseToolDeclaration(source);
    if (!parsed.ok) throw new Error(`${file}: ${JSON.stringify(parsed.errors)}`);
    tools.set(parsed.tool.name, parsed.tool);
  }
  return tools;
}

describe('built-in tool declarations', () => {
  const tools = declarations();

  it('declares every built-in tool of @warden/contracts, read-only and free', () => {
    expect([...tools.keys()].sort()).toEqual(Object.keys(BUILTIN_TOOLS).sort());
    for (const tool of tools.values()) {
      expect(tool).toMatchObject({
        kind: 'read',
        domain: 'builtin',
        groups: ['builtin'],
        cost: { per_call_micro_usd: 0 },
        executor: { adapter: 'builtin', target: tool.name },
      });
    }
  });

  it.each([
    ['echo', { text: 'x'.repeat(65_536), n: 3, i: -1, traced: true, inline: false }, true],
    ['echo', {}, true],
    ['echo', { text: 'x'.repeat(65_537) }, false],
    ['echo', { n: 1.5 }, false],
    ['echo', { other: 1 }, false],
    ['sleep', { ms: 0 }, true],
    ['sleep', { ms: 60_000 }, true],
    ['sleep', { ms: 60_001 }, false],
    ['sleep', {}, false],
    ['fail', { message: 'boom' }, true],
    ['fail', { message: 'x'.repeat(2049) }, false],
    ['noop', {}, true],
    ['noop', { x: 1 }, false],
  ])('%s accepts %j: %s', (name, args, ok) => {
    const tool = tools.get(name);
    if (tool === undefined) throw new Error(`no ${name}`);
    expect(compileArgs(tool.args)(args).ok).toBe(ok);
  });
});

describe('BUILTIN_POLICY_FILES', () => {
  it('validates against the shipped schema', () => {
    const checked = checkPolicyFiles(SCHEMA, BUILTIN_POLICY_FILES);
    expect(checked).toMatchObject({ ok: true, errors: [], warnings: [] });
    expect(Object.keys(checked.policies)).toEqual(['builtin-permit']);
  });

  it('permits every built-in tool but fail, for any agent', () => {
    const checked = checkPolicyFiles(SCHEMA, BUILTIN_POLICY_FILES);
    const compiled = compilePolicyEngine('builtin-spec', SCHEMA, checked.policies);
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    for (const tool of declarations().values()) {
      const decision = compiled.engine.decide({
        principal: { agent_id: 'any-agent', domains: [] },
        tool,
        args: {},
        risk: deriveRisk(tool, {}),
        step: 1,
        env: 'dev',
        now: new Date(),
      });
      expect([tool.name, decision.effect]).toEqual([
        tool.name,
        tool.name === 'fail' ? 'deny' : 'allow',
      ]);
      if (tool.name !== 'fail') expect(decision.determining).toEqual(['builtin-permit']);
    }
  });
});
