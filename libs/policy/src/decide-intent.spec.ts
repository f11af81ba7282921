import { describe, expect, it } from 'vitest';
import { compileArgs } from './args-validator.js';
import { compilePolicyEngine, type PolicyEngine } from './cedar/index.js';
import { decideIntent, riskOf, type DecidableTool } from './decide-intent.js';
import { parseToolDeclaration } from './parse-tool-declaration.js';
import { shippedSchemaText } from './shipped-schema.js';

const DECLARATION = `
name: zendesk.update_ticket
version: 3
kind: write
domain: support
groups: [zendesk]
description: Changes one ticket.
args:
  type: object
  required: [ticket_id]
  properties:
    ticket_id: { type: integer, minimum: 1 }
    priority: { type: string, enum: [low, urgent] }
risk:
  - flag: urgent_priority
    when: { path: priority, op: eq, value: urgent }
cost: { per_call_micro_usd: 1 }
executor: { adapter: http, target: https://example.com }
`;

function catalogTool(): DecidableTool {
  const parsed = parseToolDeclaration(DECLARATION);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return { declaration: parsed.tool, validate: compileArgs(parsed.tool.args) };
}

let engines = 0;
function engine(policies: Record<string, string>): PolicyEngine {
  engines += 1;
  const result = compilePolicyEngine(`decide-spec-${engines}`, shippedSchemaText(), policies);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.engine;
}

const intent = (args: Record<string, unknown>) => ({
  tool: 'zendesk.update_ticket',
  args,
  step: 1,
  principal: { agent_id: 'triage-1', domains: ['support'] },
});
const now = new Date('2026-11-27T08:00:00Z');
const PERMIT = 'permit (principal, action, resource == Warden::Tool::"zendesk.update_ticket");';

describe('decide', () => {
  it('denies a tool nobody registered', () => {
    const verdict = decideIntent(intent({ ticket_id: 1 }), undefined, { version: 4 }, 'prod', now);
    expect(verdict).toMatchObject({ kind: 'decided', effect: 'deny', reason: 'unknown_tool' });
  });

  it('rejects invalid args with every violation, before any policy is read', () => {
    const verdict = decideIntent(
      intent({ ticket_id: 0, priority: 'high', extra: true }),
      catalogTool(),
      { version: 4, error: 'never consulted' },
      'prod',
      now,
    );
    expect(verdict.kind).toBe('rejected');
    if (verdict.kind !== 'rejected') return;
    expect(verdict.toolVersion).toBe(3);
    expect(verdict.details.map((v) => v.path).sort()).toEqual(['extra', 'priority', 'ticket_id']);
  });

  it('denies everything while no version is published, and when the version in force does not load', () => {
    expect(
      decideIntent(intent({ ticket_id: 1 }), catalogTool(), { version: 0 }, 'prod', now),
    ).toMatchObject({
      effect: 'deny',
      reason: 'no_policy',
      policyVersion: 0,
    });
    expect(
      decideIntent(
        intent({ ticket_id: 1 }),
        catalogTool(),
        { version: 9, error: 'broken' },
        'prod',
        now,
      ),
    ).toMatchObject({
      effect: 'deny',
      reason: 'policy_error',
      policyVersion: 9,
      errors: ['broken'],
    });
  });

  it('says why Cedar denied: a forbid, or no permit at all', () => {
    const forbidding = engine({
      permit: PERMIT,
      'no-urgent': `forbid (principal, action, resource) when { context.risk.raised.contains("urgent_priority") };`,
    });
    const urgent = decideIntent(
      intent({ ticket_id: 1, priority: 'urgent' }),
      catalogTool(),
      { version: 2, engine: forbidding },
      'prod',
      now,
    );
    expect(urgent).toMatchObject({ effect: 'deny', reason: 'forbidden', policyIds: ['no-urgent'] });
    const calm = decideIntent(
      intent({ ticket_id: 1, priority: 'low' }),
      catalogTool(),
      { version: 2, engine: forbidding },
      'prod',
      now,
    );
    expect(calm).toMatchObject({ effect: 'allow', policyIds: ['permit'], policyVersion: 2 });

    const empty = engine({});
    expect(
      decideIntent(
        intent({ ticket_id: 1 }),
        catalogTool(),
        { version: 3, engine: empty },
        'prod',
        now,
      ),
    ).toMatchObject({ effect: 'deny', reason: 'not_permitted', policyIds: [] });
  });
});

describe('riskOf', () => {
  it('keeps the standard flags and lists the tool’s own raised flags', () => {
    expect(
      riskOf({
        write: true,
        bulk: false,
        money: false,
        pii: true,
        permission: false,
        production: false,
        urgent_priority: true,
        quiet: false,
      }),
    ).toEqual({
      write: true,
      bulk: false,
      pii: true,
      money: false,
      permission: false,
      production: false,
      raised: ['urgent_priority'],
    });
  });
});
