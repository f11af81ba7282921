import type { AgentView, HumanView } from '@warden/contracts';
import type { AgentRecord, HumanRecord } from '../../ports.js';

/**
 * An agent as the admin APIs show it. Built field by field, never by spreading the record: the
 * verifier (or public key) and bookkeeping fields must not reach a reply.
 */
export function toAgentView(record: AgentRecord): AgentView {
  return {
    agent_id: record.agent_id,
    owner: record.owner,
    domains: [...record.domains],
    environment: record.environment,
    risk_tier: record.risk_tier,
    ...(record.default_budget_micro_usd === undefined
      ? {}
      : { default_budget_micro_usd: record.default_budget_micro_usd }),
    ...(record.tool_groups === undefined ? {} : { tool_groups: [...record.tool_groups] }),
    status: record.status,
    authentication_method: record.authentication.method,
    registered_at: record.registered_at,
    registered_by: record.registered_by,
    updated_at: record.updated_at,
  };
}

/** A human as the admin APIs show it: never the verifier. */
export function toHumanView(record: HumanRecord): HumanView {
  return {
    human_id: record.human_id,
    roles: [...record.roles],
    status: record.status,
    registered_at: record.registered_at,
    updated_at: record.updated_at,
  };
}
