import type { Envelope } from '@warden/contracts';
import { AGENT_EVENT_TYPES, isAgentEvent, type AgentEvent } from './agent-projection.js';
import { HUMAN_EVENT_TYPES, isHumanEvent, type HumanEvent } from './human-projection.js';

/** The registry's events of a log, by the record they change. */
export interface RegistryEventGroups {
  /** By agent id; each list in application order (see {@link groupRegistryEvents}). */
  readonly agents: Map<string, AgentEvent[]>;
  /** By human id; each list in application order. */
  readonly humans: Map<string, HumanEvent[]>;
}

/**
 * The registry's events of `events` grouped by the record they change, each group in the order
 * the projections apply them: registrations first, then the rest in the order given (the
 * projections are order-insensitive otherwise, see domain/version.ts). Other event types are
 * skipped. This is the replay's one grouping (infra/replay.ts), which folds each group through
 * projectAgent / projectHuman into KV: there is no second rebuild path to drift from it.
 */
export function groupRegistryEvents(events: Iterable<Envelope>): RegistryEventGroups {
  const agents = new Map<string, AgentEvent[]>();
  const humans = new Map<string, HumanEvent[]>();
  for (const event of events) {
    if (isAgentEvent(event)) {
      if (event.agent_id === undefined) continue;
      append(agents, event.agent_id, event);
    } else if (isHumanEvent(event)) {
      append(humans, event.data.human_id, event);
    }
  }
  for (const list of agents.values()) list.sort(byTypeOrder(AGENT_EVENT_TYPES));
  for (const list of humans.values()) list.sort(byTypeOrder(HUMAN_EVENT_TYPES));
  return { agents, humans };
}

function append<E>(groups: Map<string, E[]>, key: string, event: E): void {
  const list = groups.get(key);
  if (list === undefined) groups.set(key, [event]);
  else list.push(event);
}

/**
 * Registrations (the first type of each list) before everything else; other types keep their
 * relative order (Array.prototype.sort is stable).
 */
function byTypeOrder(types: readonly string[]): (a: Envelope, b: Envelope) => number {
  const registration = types[0];
  return (a, b) => Number(b.type === registration) - Number(a.type === registration);
}
