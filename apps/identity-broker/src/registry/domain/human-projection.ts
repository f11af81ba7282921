import type { Envelope } from '@warden/contracts';
import type { HumanRecord } from '../../ports.js';
import { isAfter } from './version.js';

/** The events the `humans` projection is made of. */
export const HUMAN_EVENT_TYPES = ['human.registered', 'human.updated'] as const;
export type HumanEventType = (typeof HUMAN_EVENT_TYPES)[number];
export type HumanEvent = Envelope<HumanEventType>;

/** A human as KV `humans` stores it: the record of ports.ts plus its last event's id. */
export interface StoredHuman extends HumanRecord {
  readonly last_event_id: string;
}

/** Whether `event` is one the `humans` projection applies. */
export function isHumanEvent(event: Envelope): event is HumanEvent {
  return (HUMAN_EVENT_TYPES as readonly string[]).includes(event.type);
}

/**
 * The `humans` projection (key: `data.human_id`; human events belong to no agent): the record
 * after `event`, or `record` itself when nothing changes.
 *
 * - `human.registered` creates the record; a second registration of an id changes nothing.
 * - `human.updated` replaces the roles and/or status it carries, last writer wins by event
 *   position (an update older than the record's is superseded). Updates are whole-record LWW:
 *   nothing issues concurrent partial updates of one human today; per-field positions would be
 *   the next step if something does.
 */
export function projectHuman(
  record: StoredHuman | undefined,
  event: HumanEvent,
): StoredHuman | undefined {
  const humanId = event.data.human_id;
  if (record !== undefined && record.human_id !== humanId) return record;
  switch (event.type) {
    case 'human.registered':
      if (record !== undefined) return record;
      return {
        human_id: humanId,
        roles: [...event.data.roles],
        status: 'active',
        authentication: event.data.authentication,
        registered_at: event.occurred_at,
        updated_at: event.occurred_at,
        last_event_id: event.event_id,
      };
    case 'human.updated': {
      if (record === undefined || !isAfter(event, record)) return record;
      const { roles, status } = event.data;
      return {
        ...record,
        ...(roles === undefined ? {} : { roles: [...roles] }),
        ...(status === undefined ? {} : { status }),
        updated_at: event.occurred_at,
        last_event_id: event.event_id,
      };
    }
  }
}
