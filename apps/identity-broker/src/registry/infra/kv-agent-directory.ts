import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { MessagingLogger } from '@warden/messaging';
import type { AgentDirectory, AgentRecord } from '../../ports.js';
import type { StoredAgent } from '../domain/agent-projection.js';
import type { RegistryStore } from './registry-store.js';
import { parseStoredAgent } from './stored-records.js';

type Watcher = Awaited<ReturnType<KV['watch']>>;

interface ViewEntry {
  readonly record: StoredAgent | undefined;
  readonly revision: number;
}

/**
 * AGENT_DIRECTORY: every agent of the env in memory, kept current by a watch on KV `agents`, so
 * the authentication stage looks an agent up without a round trip. The view is ready once the
 * watch has delivered every value the bucket held when it started ({@link ready}); until then
 * `get` may miss agents and callers should `load`.
 *
 * Entries are kept by KV revision: the watch and this replica's own writes ({@link observe}) can
 * arrive in either order, and an older revision never replaces a newer one.
 */
export class KvAgentDirectory implements AgentDirectory {
  private readonly view = new Map<string, ViewEntry>();
  private watcher: Watcher | undefined;
  private stopped = false;
  private failure: string | undefined;
  private initialised = false;
  private markInitialised: () => void = () => undefined;
  /** Resolves once the view holds every agent the bucket had when the watch started. */
  readonly ready: Promise<void>;

  constructor(
    private readonly store: RegistryStore,
    private readonly logger: MessagingLogger,
  ) {
    this.ready = new Promise((resolve) => {
      this.markInitialised = () => {
        this.initialised = true;
        resolve();
      };
    });
  }

  /** Whether the view is loaded and its watch alive: the readiness check of the registry. */
  get status(): { ok: boolean; detail: string } {
    if (this.failure !== undefined) return { ok: false, detail: this.failure };
    if (!this.initialised) return { ok: false, detail: 'loading agents' };
    return { ok: true, detail: `${this.view.size} agents` };
  }

  /** Starts the watch; resolves once it is subscribed (await {@link ready} for the initial load). */
  async start(): Promise<void> {
    // The watch marks the last of the initial values as an update; with no initial values there
    // is nothing to wait for, and the bucket never shrinks (agents are retired, not deleted).
    const { values } = await this.store.agents.status();
    if (values === 0) this.markInitialised();
    const watcher = await this.store.agents.watch();
    this.watcher = watcher;
    void this.follow(watcher);
  }

  /** Stops the watch. */
  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
  }

  get(agentId: string): AgentRecord | undefined {
    return this.view.get(agentId)?.record;
  }

  async load(agentId: string): Promise<AgentRecord | undefined> {
    return this.store.getAgent(agentId);
  }

  /** Takes in a record this replica just wrote, before the watch brings it back. */
  observe(agentId: string, record: StoredAgent | undefined, revision: number): void {
    this.put(agentId, record, revision);
  }

  private async follow(watcher: Watcher): Promise<void> {
    try {
      for await (const entry of watcher) {
        this.apply(entry);
        if (entry.isUpdate && !this.initialised) this.markInitialised();
      }
      if (!this.stopped) this.failure = 'the watch on KV agents ended';
    } catch (error) {
      this.failure = `the watch on KV agents failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (this.failure !== undefined) this.logger.error({ detail: this.failure }, 'agent directory');
  }

  private apply(entry: KvWatchEntry): void {
    if (entry.operation !== 'PUT') {
      this.put(entry.key, undefined, entry.revision);
      return;
    }
    try {
      this.put(entry.key, parseStoredAgent(entry.key, entry.json<unknown>()), entry.revision);
    } catch (error) {
      // One bad value must not stop the watch: the agent is unknown to the view (and refused).
      this.put(entry.key, undefined, entry.revision);
      this.logger.error({ key: entry.key, err: error }, 'invalid agent record in KV');
    }
  }

  private put(agentId: string, record: StoredAgent | undefined, revision: number): void {
    const current = this.view.get(agentId);
    if (current !== undefined && current.revision >= revision) return;
    this.view.set(agentId, { record, revision });
  }
}
