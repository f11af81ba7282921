import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { policyMeta, ScopeIndex, unclassified, type RequestScope } from './policy-scope.js';

function meta(id: string, text: string): ReturnType<typeof policyMeta> {
  const json = cedar.policyToJson(text);
  if (json.type === 'failure') throw new Error(JSON.stringify(json.errors));
  return policyMeta(id, json.json);
}

const SCOPE: RequestScope = {
  principal: {
    key: 'Warden::Agent::"bot"',
    type: 'Warden::Agent',
    ancestors: ['Warden::Domain::"support"'],
  },
  action: { key: 'Warden::Action::"invoke"', type: 'Warden::Action', ancestors: [] },
  resource: {
    key: 'Warden::Tool::"zendesk.get_ticket"',
    type: 'Warden::Tool',
    ancestors: ['Warden::ToolGroup::"zendesk"', 'Warden::Domain::"support"'],
  },
};

describe('ScopeIndex', () => {
  it('keeps exactly the policies whose scope can match the request', () => {
    const index = new ScopeIndex([
      meta('any', 'permit (principal, action, resource);'),
      meta('tool', 'permit (principal, action, resource == Warden::Tool::"zendesk.get_ticket");'),
      meta('other-tool', 'permit (principal, action, resource == Warden::Tool::"x");'),
      meta('group', 'forbid (principal, action, resource in Warden::ToolGroup::"zendesk");'),
      meta('other-group', 'forbid (principal, action, resource in Warden::ToolGroup::"payroll");'),
      meta(
        'domain',
        'permit (principal, action, resource is Warden::Tool in Warden::Domain::"support");',
      ),
      meta('agent', 'permit (principal == Warden::Agent::"bot", action, resource);'),
      meta('other-agent', 'permit (principal == Warden::Agent::"other", action, resource);'),
      meta('agent-domain', 'permit (principal in Warden::Domain::"support", action, resource);'),
      meta('other-domain', 'permit (principal in Warden::Domain::"sales", action, resource);'),
      meta('human', 'permit (principal is Warden::Human, action, resource);'),
      meta('action', 'permit (principal, action in [Warden::Action::"invoke"], resource);'),
      meta('other-action', 'permit (principal, action == Warden::Action::"other", resource);'),
      unclassified('unreadable'),
    ]);
    expect(index.candidates(SCOPE)).toEqual(
      ['action', 'agent', 'agent-domain', 'any', 'domain', 'group', 'tool', 'unreadable'].sort(),
    );
  });

  it('reads @approval and @separation_of_duties', () => {
    expect(
      meta('a', '@approval("leads") @separation_of_duties permit (principal, action, resource);'),
    ).toMatchObject({ effect: 'permit', approval: 'leads', separationOfDuties: true });
    expect(meta('b', 'forbid (principal, action, resource);')).toMatchObject({
      effect: 'forbid',
      separationOfDuties: false,
    });
  });
});
