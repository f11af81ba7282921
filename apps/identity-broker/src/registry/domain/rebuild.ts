import type { Envelope } from '@warden/contracts';
import { isAgentEvent, projectAgent, type StoredAgent } from './agent-projection.js';
import { isHumanEvent, projectHuman, type StoredHuman } from './human-projection.js';

/**
 * The `agents` projection rebuilt from events in log order (other event types are skipped): the
 * same function the API path applies, so the KV bucket can always be recomputed from the log.
 */
export function rebuildAgents(events: Iterable<Envelope>): Map<string, StoredAgent> {
  const agents = new Map<string, StoredAgent>();
  for (const event of events) {
    if (!isAgentEvent(event) || event.agent_id === undefined) continue;
    const next = projectAgent(agents.get(event.agent_id), event);
    if (next !== undefined) agents.set(event.agent_id, next);
  }
  return agents;
}

/** The `humans` projection rebuilt from events in log order. */
export function rebuildHumans(events: Iterable<Envelope>): Map<string, StoredHuman> {
  const humans = new Map<string, StoredHuman>();
  for (const event of events) {
    if (!isHumanEvent(event)) continue;
    const next = projectHuman(humans.get(event.data.human_id), event);
    if (next !== undefined) humans.set(event.data.human_id, next);
  }
  return humans;
}
