import type { Envelope } from '@warden/contracts';
import type { AgentRecord } from '../../ports.js';
import { isAfter, isBefore } from './version.js';

/** The events the `agents` projection is made of. */
export const AGENT_EVENT_TYPES = [
  'agent.registered',
  'agent.suspended',
  'agent.resumed',
  'agent.retired',
] as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];
export type AgentEvent = Envelope<AgentEventType>;

/**
 * An agent as KV `agents` stores it: the record of ports.ts plus the position of the last event it
 * reflects, which makes applying an event idempotent and order-insensitive (see version.ts).
 */
export interface StoredAgent extends AgentRecord {
  readonly last_event_id: string;
}

/** Whether `event` is one the `agents` projection applies. */
export function isAgentEvent(event: Envelope): event is AgentEvent {
  return (AGENT_EVENT_TYPES as readonly string[]).includes(event.type);
}

/**
 * The `agents` projection: the record after `event`, or `record` itself (the same object) when
 * the event changes nothing, so a caller can skip the write.
 *
 * - `agent.registered` creates the record. A second registration of an id changes nothing (the
 *   log refuses it anyway: it is published with an expected last subject sequence of 0).
 * - `agent.suspended` / `agent.resumed` set the status, last writer wins by event position: a
 *   status event older than the record's is already superseded.
 * - `agent.retired` is terminal and wins over every other status, whatever its position: of
 *   several retirements the earliest is kept, so the result does not depend on their order.
 * - A status event for an agent never registered changes nothing.
 */
export function projectAgent(
  record: StoredAgent | undefined,
  event: AgentEvent,
): StoredAgent | undefined {
  const agentId = event.agent_id;
  if (agentId === undefined || (record !== undefined && record.agent_id !== agentId)) return record;
  switch (event.type) {
    case 'agent.registered': {
      if (record !== undefined) return record;
      const { authentication, by, ...attributes } = event.data;
      return {
        ...attributes,
        agent_id: agentId,
        status: 'active',
        authentication,
        registered_at: event.occurred_at,
        registered_by: by,
        updated_at: event.occurred_at,
        last_event_id: event.event_id,
      };
    }
    case 'agent.suspended':
      return setStatus(record, event, 'suspended');
    case 'agent.resumed':
      return setStatus(record, event, 'active');
    case 'agent.retired': {
      if (record === undefined) return undefined;
      if (record.status === 'retired' && !isBefore(event, record)) return record;
      return { ...record, status: 'retired', ...positionOf(event) };
    }
  }
}

function setStatus(
  record: StoredAgent | undefined,
  event: AgentEvent,
  status: 'active' | 'suspended',
): StoredAgent | undefined {
  if (record === undefined || record.status === 'retired' || !isAfter(event, record)) return record;
  return { ...record, status, ...positionOf(event) };
}

function positionOf(event: AgentEvent): Pick<StoredAgent, 'updated_at' | 'last_event_id'> {
  return { updated_at: event.occurred_at, last_event_id: event.event_id };
}
