import { ApiFailure } from '@warden/messaging';
import type { TransitionRefusal } from './domain/agent-lifecycle.js';

/**
 * Every refusal of the registry's admin APIs, as the caller sees it: a stable snake_case code
 * (scripts branch on it) and a message that says what to do. `invalid_request` (schema),
 * `unauthenticated` and `forbidden` come from the API server and the admin authorizer.
 */
export type RegistryErrorCode =
  | 'agent_exists'
  | 'agent_not_found'
  | 'wrong_environment'
  | 'owner_not_found'
  | 'human_exists'
  | TransitionRefusal['code'];

function failure(code: RegistryErrorCode, message: string): ApiFailure {
  return new ApiFailure(code, message);
}

/** Factories of the registry's refusals, so each message is written once. */
export const RegistryFailure = {
  agentExists(agentId: string, status?: string): ApiFailure {
    return failure(
      'agent_exists',
      status === 'retired'
        ? `agent ${agentId} existed and is retired; ids are never reused: register the agent under another id`
        : `agent ${agentId} is already registered; see it with \`warden agents show ${agentId}\`, or choose another id`,
    );
  },
  agentNotFound(agentId: string): ApiFailure {
    return failure(
      'agent_not_found',
      `no agent ${agentId} in this environment; \`warden agents list\` shows the registered ones (check --env)`,
    );
  },
  wrongEnvironment(requested: string, served: string): ApiFailure {
    return failure(
      'wrong_environment',
      `this broker serves environment ${served}, not ${requested}: register the agent against the ${requested} deployment (--env ${requested})`,
    );
  },
  ownerNotFound(owner: string): ApiFailure {
    return failure(
      'owner_not_found',
      `owner ${owner} is not a registered human: register them first (\`warden humans register ${owner} --role <role>\`) or pass another --owner`,
    );
  },
  humanExists(humanId: string): ApiFailure {
    return failure(
      'human_exists',
      `human ${humanId} is already registered; \`warden humans list\` shows who exists, or choose another id`,
    );
  },
  transition(refusal: TransitionRefusal): ApiFailure {
    return failure(refusal.code, refusal.message);
  },
} as const;
