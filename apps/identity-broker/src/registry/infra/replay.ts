import { subjects, type Envelope } from '@warden/contracts';
import type { MessagingLogger } from '@warden/messaging';
import { AGENT_EVENT_TYPES } from '../domain/agent-projection.js';
import { HUMAN_EVENT_TYPES } from '../domain/human-projection.js';
import { groupRegistryEvents } from '../domain/rebuild.js';
import type { KvAgentDirectory } from './kv-agent-directory.js';
import type { RegistryLog } from './registry-log.js';
import type { RegistryStore } from './registry-store.js';

/** What a replay read and changed. */
export interface ReplayReport {
  readonly events: number;
  /** Records KV did not yet reflect (a write lost to a crash, or a bucket rebuilt from empty). */
  readonly repaired: number;
  readonly skipped: number;
}

/**
 * Replays the registry's events from the env's stream into KV `agents` and `humans` through the
 * same projections the API path applies. Applying an event twice changes nothing (records carry
 * the position of their last event, and registrations apply once), so this is safe at any time:
 * it is how a replica repairs a change whose KV write was lost between publish and
 * compare-and-set, and how an emptied bucket is rebuilt. It never removes or rolls back a record
 * (events older than the stream's max age are no longer there, and KV still remembers them).
 *
 * One read per event type (nats-server 2.9: one filter subject per consumer); the events are then
 * grouped by record (domain/rebuild.ts: registrations first, so the read order across types does
 * not matter) and each group applied in one compare-and-set. This is the only rebuild path:
 * tests that check "KV can be recomputed from the log" run this function.
 */
export async function replayRegistryLog(
  log: RegistryLog,
  store: RegistryStore,
  directory: Pick<KvAgentDirectory, 'observe'>,
  logger: MessagingLogger,
): Promise<ReplayReport> {
  let events = 0;
  let skipped = 0;
  const read = async (type: string): Promise<Envelope[]> => {
    const out: Envelope[] = [];
    const filter = subjects.eventType(log.env, type);
    for await (const event of log.read(filter, (bad) => {
      skipped++;
      logger.warn({ ...bad }, 'registry replay skipped an invalid event');
    })) {
      out.push(event);
    }
    events += out.length;
    return out;
  };

  const logged: Envelope[] = [];
  for (const type of [...AGENT_EVENT_TYPES, ...HUMAN_EVENT_TYPES]) {
    for (const event of await read(type)) logged.push(event);
  }
  const { agents: agentEvents, humans: humanEvents } = groupRegistryEvents(logged);

  let repaired = 0;
  for (const [agentId, list] of agentEvents) {
    const { record, revision, written } = await store.applyAgentEvents(agentId, list);
    if (written) {
      repaired++;
      directory.observe(agentId, record, revision);
    }
  }
  for (const [humanId, list] of humanEvents) {
    if ((await store.applyHumanEvents(humanId, list)).written) repaired++;
  }
  return { events, repaired, skipped };
}
