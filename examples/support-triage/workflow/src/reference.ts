import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BudgetSetting } from '@warden/contracts';

/** The folder of the reference workflow (`examples/support-triage`), from `src/` or `dist/`. */
export const EXAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The tool declarations (`warden tools register`). */
export const TOOLS_DIR = join(EXAMPLE_DIR, 'tools');
/** The reference Cedar policies (`warden policies publish`). */
export const POLICIES_DIR = join(EXAMPLE_DIR, 'policies');

/** The workflow every run of the reference agent belongs to. */
export const WORKFLOW = 'support-triage';

/**
 * The release of the reference agent (its rules stand for a prompt and a model). A canary of the
 * workflow (`warden canary start`) may assign a run another one; `run.version` says which.
 */
export const AGENT_VERSION = 'rules-1';

/** The reference agent, as an admin registers it. */
export const TRIAGE_AGENT = {
  agent_id: 'triage-1',
  /** Its owner may not approve its bulk closes (`@separation_of_duties`). */
  owner: 'alice',
  domains: ['support'],
  tool_groups: ['zendesk'],
  risk_tier: 'medium',
} as const;

/** The people of the reference deployment: the agent's owner, and a support lead who approves. */
export const REFERENCE_HUMANS = [
  { human_id: 'alice', roles: ['support'] },
  { human_id: 'lee', roles: ['support-leads'] },
] as const;

/** The support lead who answers the reference approvals. */
export const APPROVER = 'lee';

/** The helpdesk credential the executor holds (`warden secrets set`). */
export const HELPDESK_SECRET_REF = 'helpdesk/api-token';

/**
 * The reference budgets (`warden budgets set`): the workflow and its agent may spend $1 a day,
 * and the agent updates at most 60 tickets a minute.
 */
export const REFERENCE_BUDGETS: readonly BudgetSetting[] = [
  { scope: 'workflow', workflow: WORKFLOW, budget_micro_usd: 1_000_000 },
  {
    scope: 'agent',
    agent_id: TRIAGE_AGENT.agent_id,
    budget_micro_usd: 1_000_000,
    rate_limits: { 'zendesk.update_ticket': { calls: 60, window_ms: 60_000 } },
  },
];
