import { describe, expect, it } from 'vitest';
import type { AgentRecord } from '../ports.js';
import type { TokenClaims } from './agent-token.js';
import { checkIntent, principalOf } from './authenticate.js';
import { RevocationList } from './revocation-list.js';

const claims: TokenClaims = {
  sub: 'bot-1',
  jti: 'J1',
  iat: 1_000,
  exp: 1_300,
  kid: 'K',
  scope: ['intents:propose'],
  roles: [],
};
const agent: AgentRecord = {
  agent_id: 'bot-1',
  owner: 'alice',
  domains: ['support'],
  environment: 'prod',
  risk_tier: 'high',
  default_budget_micro_usd: 5_000_000,
  tool_groups: ['helpdesk.read'],
  status: 'active',
  authentication: { method: 'client_secret', verifier: '$scrypt$x' },
  registered_at: '2026-01-01T00:00:00.000000Z',
  registered_by: 'human:alice',
  updated_at: '2026-01-01T00:00:00.000000Z',
};
const origin = { subjectAgent: 'bot-1', envelopeAgent: 'bot-1' };

describe('checkIntent', () => {
  it.each([
    ['no scope', []],
    ['another scope', ['intents:read']],
    ['a near miss', ['intents:propose ', 'Intents:propose']],
  ])('refuses a token without intents:propose (%s): insufficient_scope', (_, scope) => {
    const result = checkIntent({ ...claims, scope }, origin, agent, new RevocationList());
    expect(result).toMatchObject({ ok: false, error: { reason: 'insufficient_scope' } });
  });

  it('attaches the agent’s attributes as the principal, and no credential', () => {
    const result = checkIntent(claims, origin, agent, new RevocationList());
    expect(result).toEqual({
      ok: true,
      claims,
      principal: {
        agent_id: 'bot-1',
        owner: 'alice',
        domains: ['support'],
        environment: 'prod',
        risk_tier: 'high',
        tool_groups: ['helpdesk.read'],
        attributes: { default_budget_micro_usd: 5_000_000 },
      },
    });
  });

  it.each([
    [
      'another agent’s subject',
      { subjectAgent: 'bot-2', envelopeAgent: 'bot-1' },
      'agent_mismatch',
    ],
    [
      'another agent in the envelope',
      { subjectAgent: 'bot-1', envelopeAgent: 'bot-2' },
      'agent_mismatch',
    ],
    ['no agent at all', { subjectAgent: undefined, envelopeAgent: undefined }, 'agent_mismatch'],
  ])('refuses a token sent on %s', (_, from, reason) => {
    expect(checkIntent(claims, from, agent, new RevocationList())).toMatchObject({
      ok: false,
      error: { reason },
    });
  });

  it.each([
    ['an unknown agent', undefined, 'unknown_agent'],
    ['a suspended agent', { ...agent, status: 'suspended' as const }, 'agent_suspended'],
    ['a retired agent', { ...agent, status: 'retired' as const }, 'agent_retired'],
  ])('refuses %s', (_, record, reason) => {
    expect(checkIntent(claims, origin, record, new RevocationList())).toMatchObject({
      ok: false,
      error: { reason },
    });
  });

  it('refuses a revoked token, and a token issued before an all-tokens revocation', () => {
    const byJti = new RevocationList();
    byJti.apply({ kind: 'jti', jti: 'J1', revokedAtMs: 0 });
    expect(checkIntent(claims, origin, agent, byJti)).toMatchObject({
      error: { reason: 'token_revoked' },
    });
    const byAgent = new RevocationList();
    byAgent.apply({ kind: 'agent', agentId: 'bot-1', issuedBeforeMs: 1_000_500 });
    expect(checkIntent(claims, origin, agent, byAgent)).toMatchObject({
      error: { reason: 'agent_tokens_revoked' },
    });
    // A token of the second after the cut-off is not concerned.
    expect(checkIntent({ ...claims, iat: 1_001 }, origin, agent, byAgent).ok).toBe(true);
  });

  it('leaves out attributes an agent does not have', () => {
    const { default_budget_micro_usd: _, tool_groups: __, ...bare } = agent;
    expect(principalOf(bare)).toEqual({
      agent_id: 'bot-1',
      owner: 'alice',
      domains: ['support'],
      environment: 'prod',
      risk_tier: 'high',
    });
  });
});
