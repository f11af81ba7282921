import { AgentView, HumanView } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import type { StoredAgent } from './agent-projection.js';
import type { StoredHuman } from './human-projection.js';
import { toAgentView, toHumanView } from './views.js';

const verifier = '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA';
const at = '2026-01-01T00:00:00.000000Z';

describe('views', () => {
  it('shows an agent without its verifier or bookkeeping, valid against the strict contract', () => {
    const record: StoredAgent = {
      agent_id: 'a1',
      owner: 'alice',
      domains: ['support'],
      environment: 'prod',
      risk_tier: 'high',
      default_budget_micro_usd: 2_500_000,
      status: 'active',
      authentication: { method: 'client_secret', verifier },
      registered_at: at,
      registered_by: 'admin',
      updated_at: at,
      last_event_id: '01J00000000000000000000000',
    };
    const view = toAgentView(record);
    expect(AgentView.parse(view)).toEqual(view);
    expect(JSON.stringify(view)).not.toContain('scrypt');
    expect(view.authentication_method).toBe('client_secret');
  });

  it('shows a human without its verifier', () => {
    const record: StoredHuman = {
      human_id: 'alice',
      roles: ['admin'],
      status: 'active',
      authentication: { method: 'client_secret', verifier },
      registered_at: at,
      updated_at: at,
      last_event_id: '01J00000000000000000000000',
    };
    const view = toHumanView(record);
    expect(HumanView.parse(view)).toEqual(view);
    expect(JSON.stringify(view)).not.toContain('scrypt');
  });
});
