import { readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { decide, type CedarRequest, type CompiledPolicySet } from './cedar-engine.js';
import { validatePolicySet, type PolicyTexts } from './validate-policy-set.js';

const SCHEMA = readFileSync(
  new URL('../../../../deploy/policies/warden.cedarschema', import.meta.url),
  'utf8',
);

const PERMIT_READS = `permit (principal, action == Warden::Action::"invoke", resource)
when { resource.kind == "read" && principal.domains.contains(resource.domain) };`;

let sets = 0;
/**
 * Validates and pre-parses a set under a fresh id (Cedar's cache is shared by every test in this
 * worker): what the policy engine does per slice, without its request building on top.
 */
function compile(policies: PolicyTexts): CompiledPolicySet {
  sets += 1;
  const id = `spec-${sets}`;
  const validation = validatePolicySet(SCHEMA, policies);
  if (!validation.ok) throw new Error(JSON.stringify(validation.errors));
  if (cedar.preparseSchema(id, SCHEMA).type !== 'success') throw new Error('schema');
  if (cedar.preparsePolicySet(id, { staticPolicies: { ...policies } }).type !== 'success') {
    throw new Error('policies');
  }
  return { id, policyIds: Object.keys(policies) };
}

const agent: cedar.EntityJson = {
  uid: { type: 'Warden::Agent', id: 'triage-bot' },
  attrs: {
    owner: 'alice',
    domains: ['support'],
    environment: 'prod',
    tool_groups: ['zendesk'],
  },
  parents: [{ type: 'Warden::Domain', id: 'support' }],
};

function toolEntity(name: string, kind: 'read' | 'write', groups: string[]): cedar.EntityJson {
  return {
    uid: { type: 'Warden::Tool', id: name },
    attrs: { kind, domain: 'support', groups },
    parents: [
      ...groups.map((id) => ({ type: 'Warden::ToolGroup', id })),
      { type: 'Warden::Domain', id: 'support' },
    ],
  };
}

function request(
  tool: cedar.EntityJson,
  args: Record<string, cedar.CedarValueJson> = {},
): CedarRequest {
  return {
    principal: agent.uid,
    action: { type: 'Warden::Action', id: 'invoke' },
    resource: tool.uid,
    context: {
      args,
      risk: {
        write: false,
        bulk: false,
        pii: false,
        money: false,
        permission: false,
        production: false,
        raised: [],
      },
      run: { step: 1 },
      env: 'prod',
      now: { __extn: { fn: 'datetime', arg: '2026-11-27T04:00:00Z' } },
    },
    entities: [agent, tool],
  };
}

const getTicket = toolEntity('zendesk.get_ticket', 'read', ['zendesk']);
const runPayroll = toolEntity('payroll.run', 'read', ['payroll']);

describe('decide', () => {
  it('denies everything when no policy is published', () => {
    const handle = compile({});
    expect(decide(handle, request(getTicket))).toEqual({
      effect: 'deny',
      determining: [],
      errors: [],
    });
  });

  it('allows on a matching permit and names it', () => {
    const handle = compile({ 'reads-in-domain': PERMIT_READS });
    expect(decide(handle, request(getTicket))).toEqual({
      effect: 'allow',
      determining: ['reads-in-domain'],
      errors: [],
    });
  });

  it('denies when a forbid matches beside a permit, naming the forbid', () => {
    const handle = compile({
      'reads-in-domain': PERMIT_READS,
      'no-payroll': 'forbid (principal, action, resource in Warden::ToolGroup::"payroll");',
    });
    expect(decide(handle, request(runPayroll))).toEqual({
      effect: 'deny',
      determining: ['no-payroll'],
      errors: [],
    });
    expect(decide(handle, request(getTicket)).effect).toBe('allow');
  });

  it('denies when a forbid errors, even though a permit allows', () => {
    // Validates, yet errors at run time: the square of this id overflows a 64-bit Long. Cedar
    // skips the erroring forbid and, on its own, answers allow.
    const handle = compile({
      'reads-in-domain': PERMIT_READS,
      'no-huge-ids': `forbid (principal, action, resource)
        when { context.args has ticket_id
          && context.args.ticket_id * context.args.ticket_id > 10 };`,
    });
    const call = request(getTicket, { ticket_id: 9_000_000_000_000_000 });
    const raw = cedar.statefulIsAuthorized({
      ...call,
      entities: [...call.entities],
      preparsedPolicySetId: handle.id,
    });
    expect(raw).toMatchObject({ type: 'success', response: { decision: 'allow' } });

    const decision = decide(handle, call);
    expect(decision.effect).toBe('deny');
    expect(decision.determining).toEqual([]);
    expect(decision.errors).toEqual([expect.stringMatching(/^no-huge-ids: .*overflow/)]);
  });

  it('denies a request that does not fit the schema', () => {
    const handle = compile({ 'reads-in-domain': PERMIT_READS });
    const decision = decide(handle, request(getTicket, { unknown_field: 1 }));
    expect(decision.effect).toBe('deny');
    expect(decision.errors).toEqual([expect.stringMatching(/unknown_field/)]);
  });

  it('denies on a handle Cedar does not know', () => {
    const decision = decide({ id: 'never-compiled', policyIds: [] }, request(getTicket));
    expect(decision.effect).toBe('deny');
    expect(decision.errors).toContain("preparsed policy set 'never-compiled' not found");
  });
});
