import type { KV, KvEntry } from '@nats-io/kv';
import { casUpdate } from '@warden/messaging';
import { projectAgent, type AgentEvent, type StoredAgent } from '../domain/agent-projection.js';
import { projectHuman, type HumanEvent, type StoredHuman } from '../domain/human-projection.js';
import { parseStoredAgent, parseStoredHuman } from './stored-records.js';

/** A record with the KV revision it was read or written at. */
export interface Revisioned<T> {
  readonly record: T;
  readonly revision: number;
}

/**
 * KV `agents` and `humans` (keys: agent id, human id). Every write applies an event through the
 * projection under compare-and-set, so concurrent replicas never lose each other's changes and
 * the stored record is always what the projection makes of the log. The registry never deletes
 * a key: a retired agent stays, so its id cannot be registered again.
 */
export class RegistryStore {
  constructor(
    readonly agents: KV,
    readonly humans: KV,
  ) {}

  async getAgent(agentId: string): Promise<StoredAgent | undefined> {
    return present(await this.agents.get(agentId), parseStoredAgent);
  }

  async getHuman(humanId: string): Promise<StoredHuman | undefined> {
    return present(await this.humans.get(humanId), parseStoredHuman);
  }

  /**
   * Applies agent events of one agent to its record, in the order given, under compare-and-set
   * (retried on conflict). Returns the record after them and the revision it is stored at
   * (`written` false: they changed nothing, e.g. because they were applied before).
   */
  async applyAgentEvents(
    agentId: string,
    events: readonly AgentEvent[],
  ): Promise<Revisioned<StoredAgent | undefined> & { written: boolean }> {
    const result = await casUpdate<StoredAgent>(this.agents, agentId, (raw) => {
      const current = raw === undefined ? undefined : parseStoredAgent(agentId, raw);
      const next = events.reduce<StoredAgent | undefined>(projectAgent, current);
      return next === current ? undefined : next;
    });
    const record = result.value === undefined ? undefined : parseStoredAgent(agentId, result.value);
    return { record, revision: result.revision, written: result.written };
  }

  /** Applies human events of one human to its record, like {@link applyAgentEvents}. */
  async applyHumanEvents(
    humanId: string,
    events: readonly HumanEvent[],
  ): Promise<Revisioned<StoredHuman | undefined> & { written: boolean }> {
    const result = await casUpdate<StoredHuman>(this.humans, humanId, (raw) => {
      const current = raw === undefined ? undefined : parseStoredHuman(humanId, raw);
      const next = events.reduce<StoredHuman | undefined>(projectHuman, current);
      return next === current ? undefined : next;
    });
    const record = result.value === undefined ? undefined : parseStoredHuman(humanId, result.value);
    return { record, revision: result.revision, written: result.written };
  }

  /** Every agent, sorted by id. */
  async listAgents(): Promise<StoredAgent[]> {
    return listAll(this.agents, parseStoredAgent);
  }

  /** Every human, sorted by id. */
  async listHumans(): Promise<StoredHuman[]> {
    return listAll(this.humans, parseStoredHuman);
  }
}

function present<T>(
  entry: KvEntry | null,
  parse: (key: string, value: unknown) => T,
): T | undefined {
  // A deleted or purged key keeps a tombstone entry: it is absent all the same.
  if (entry === null || entry.operation !== 'PUT') return undefined;
  return parse(entry.key, entry.json<unknown>());
}

async function listAll<T>(kv: KV, parse: (key: string, value: unknown) => T): Promise<T[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  keys.sort();
  const records = await Promise.all(keys.map(async (key) => present(await kv.get(key), parse)));
  return records.filter((record): record is Awaited<T> => record !== undefined);
}
