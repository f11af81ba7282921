import type { AgentView } from '@warden/contracts';

/** What an admin can do to an agent's lifecycle. */
export type LifecycleAction = 'suspend' | 'resume' | 'retire';
export type AgentStatus = AgentView['status'];

/** The event each action publishes. */
export const LIFECYCLE_EVENT = {
  suspend: 'agent.suspended',
  resume: 'agent.resumed',
  retire: 'agent.retired',
} as const satisfies Record<LifecycleAction, string>;

/** Why a lifecycle action is refused: a code for scripts, a message that says what to do. */
export interface TransitionRefusal {
  readonly code: 'agent_retired' | 'agent_already_suspended' | 'agent_not_suspended';
  readonly message: string;
}

/**
 * The agent state machine: active ⇄ suspended, and any → retired, which is terminal (a retired id
 * is never reused, so the log keeps meaning one agent per id). `undefined`: the action is allowed.
 */
export function refuseTransition(
  agentId: string,
  status: AgentStatus,
  action: LifecycleAction,
): TransitionRefusal | undefined {
  if (status === 'retired') {
    return {
      code: 'agent_retired',
      message: `agent ${agentId} is retired, which is final: register a new agent under another id instead`,
    };
  }
  switch (action) {
    case 'suspend':
      return status === 'suspended'
        ? {
            code: 'agent_already_suspended',
            message: `agent ${agentId} is already suspended; resume it with \`warden agents resume ${agentId}\``,
          }
        : undefined;
    case 'resume':
      return status === 'active'
        ? {
            code: 'agent_not_suspended',
            message: `agent ${agentId} is active, not suspended: there is nothing to resume`,
          }
        : undefined;
    case 'retire':
      return undefined;
  }
}
