import type { Principal } from '@warden/contracts';
import type { AgentRecord } from '../ports.js';
import type { AGENT_SCOPE, TokenClaims } from './agent-token.js';
import { CredentialError, GET_A_NEW_TOKEN } from './credential-rejection.js';
import type { RevocationList } from './revocation-list.js';

/** The outcome of authenticating one intent. */
export type Authentication =
  { ok: true; principal: Principal; claims: TokenClaims } | { ok: false; error: CredentialError };

/** What the intent says about who sent it. */
export interface IntentOrigin {
  /** The agent token of the event's subject (`warden.<env>.evt.intent.proposed.<agent>`). */
  readonly subjectAgent: string | undefined;
  /** The envelope's `agent_id`. */
  readonly envelopeAgent: string | undefined;
}

/** The scope a token needs to propose intents (every agent token the broker issues has it). */
export const PROPOSE_SCOPE: (typeof AGENT_SCOPE)[number] = 'intents:propose';

/**
 * The checks that run on every intent, after the token verified (or was found verified in the
 * cache): the token grants {@link PROPOSE_SCOPE}, it belongs to the agent the subject and the envelope name, the agent exists and
 * is active, and neither the token nor all of the agent's tokens were revoked. Pure: the agent
 * record and the revocation view are read by the caller.
 */
export function checkIntent(
  claims: TokenClaims,
  origin: IntentOrigin,
  agent: AgentRecord | undefined,
  revocations: RevocationList,
): Authentication {
  const { subjectAgent, envelopeAgent } = origin;
  // The token's own grant first: a token minted for something else is refused whoever sends it.
  if (!claims.scope.includes(PROPOSE_SCOPE)) {
    return refuse(
      'insufficient_scope',
      `the token does not grant ${PROPOSE_SCOPE}: request an agent token from the identity broker`,
    );
  }
  if (claims.sub !== subjectAgent || claims.sub !== envelopeAgent) {
    const claimed = envelopeAgent ?? subjectAgent;
    return refuse(
      'agent_mismatch',
      `the token belongs to agent ${claims.sub}, not to ${claimed === undefined ? 'an intent without an agent' : `agent ${claimed}`}: each agent sends its own token on its own subject`,
    );
  }
  if (agent === undefined) {
    return refuse('unknown_agent', `agent ${claims.sub} is not registered`);
  }
  switch (agent.status) {
    case 'active':
      break;
    case 'suspended':
      return refuse('agent_suspended', `agent ${claims.sub} is suspended`);
    case 'retired':
      return refuse('agent_retired', `agent ${claims.sub} is retired`);
  }
  if (revocations.isRevoked(claims.jti)) {
    return refuse('token_revoked', `the token was revoked: ${GET_A_NEW_TOKEN}`);
  }
  if (revocations.isRevokedForAgent(claims.sub, claims.iat)) {
    return refuse(
      'agent_tokens_revoked',
      `every token of agent ${claims.sub} issued before the revocation was revoked: ${GET_A_NEW_TOKEN}`,
    );
  }
  return { ok: true, claims, principal: principalOf(agent) };
}

/** The principal attached to an authenticated intent: the agent's attributes, for policies and budgets. */
export function principalOf(agent: AgentRecord): Principal {
  const attributes: Record<string, unknown> = {};
  if (agent.default_budget_micro_usd !== undefined) {
    attributes.default_budget_micro_usd = agent.default_budget_micro_usd;
  }
  return {
    agent_id: agent.agent_id,
    owner: agent.owner,
    domains: [...agent.domains],
    environment: agent.environment,
    risk_tier: agent.risk_tier,
    ...(agent.tool_groups === undefined ? {} : { tool_groups: [...agent.tool_groups] }),
    ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
  };
}

function refuse(reason: CredentialError['reason'], message: string): Authentication {
  return { ok: false, error: new CredentialError(reason, message) };
}
