import { describe, expect, it } from 'vitest';
import { refuseTransition } from './agent-lifecycle.js';

describe('refuseTransition', () => {
  it('allows active → suspended → active, and retiring from either', () => {
    expect(refuseTransition('a1', 'active', 'suspend')).toBeUndefined();
    expect(refuseTransition('a1', 'suspended', 'resume')).toBeUndefined();
    expect(refuseTransition('a1', 'active', 'retire')).toBeUndefined();
    expect(refuseTransition('a1', 'suspended', 'retire')).toBeUndefined();
  });

  it('refuses every action on a retired agent, saying to register a new id', () => {
    for (const action of ['suspend', 'resume', 'retire'] as const) {
      expect(refuseTransition('a1', 'retired', action)).toMatchObject({
        code: 'agent_retired',
        message: expect.stringContaining('another id') as unknown,
      });
    }
  });

  it('refuses suspending a suspended agent and resuming an active one, saying what to do', () => {
    expect(refuseTransition('a1', 'suspended', 'suspend')).toMatchObject({
      code: 'agent_already_suspended',
      message: expect.stringContaining('warden agents resume a1') as unknown,
    });
    expect(refuseTransition('a1', 'active', 'resume')?.code).toBe('agent_not_suspended');
  });
});
