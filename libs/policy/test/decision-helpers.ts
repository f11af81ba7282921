import { readFileSync } from 'node:fs';
import { type Principal } from '@warden/contracts';
import {
  compilePolicyEngine,
  type DecisionInput,
  type PolicyEngine,
  type PolicyEngineOptions,
  type PolicyTexts,
  type RiskFlags,
} from '../src/index.js';

/** The shipped schema (read, not copied: a change to it must be seen by these tests). */
export const SCHEMA = readFileSync(
  new URL('../../../deploy/policies/warden.cedarschema', import.meta.url),
  'utf8',
);

let engines = 0;
/** Compiles under a fresh id: Cedar's cache is shared by every test in this worker. */
export function engineOf(policies: PolicyTexts, options?: PolicyEngineOptions): PolicyEngine {
  engines += 1;
  const result = compilePolicyEngine(`test-engine-${engines}`, SCHEMA, policies, options);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.engine;
}

export const NO_RISK: RiskFlags = {
  write: false,
  bulk: false,
  pii: false,
  money: false,
  permission: false,
  production: false,
};

export const TRIAGE_BOT: Principal = {
  agent_id: 'triage-bot',
  owner: 'alice',
  domains: ['support'],
  tool_groups: ['zendesk'],
};

/** A decision input with sensible defaults: a read tool in the support domain. */
export function inputOf(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    principal: TRIAGE_BOT,
    tool: { name: 'zendesk.get_ticket', kind: 'read', domain: 'support', groups: ['zendesk'] },
    args: {},
    risk: NO_RISK,
    step: 1,
    env: 'prod',
    now: new Date('2026-11-27T04:00:00Z'),
    ...overrides,
  };
}
