import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { MessagingLogger } from '@warden/messaging';
import { kvPosition, WatchSupervisor, type WatchTiming } from '@warden/messaging';
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
 * `get` returns `undefined` and callers `load`.
 *
 * **Fail safe.** When the watch dies (its iterator ends or throws, or it stops delivering, e.g.
 * the bucket was recreated: domain/watch-supervisor.ts), the view is frozen and may hold an
 * agent as active that was suspended since. From then until the watch is reopened and has
 * delivered the bucket again, `get` returns `undefined` (every caller then reads KV), `status`
 * reports not ready, and the watch is reopened with backoff.
 *
 * Entries are kept by KV revision: the watch and this replica's own writes ({@link observe}) can
 * arrive in either order, and an older revision never replaces a newer one.
 */
export class KvAgentDirectory implements AgentDirectory {
  private readonly view = new Map<string, ViewEntry>();
  private readonly watch: WatchSupervisor<KvWatchEntry>;
  /** The current watch has delivered every value the bucket held when it was opened. */
  private initialised = false;
  private markReady: () => void = () => undefined;
  /** Resolves once the view first holds every agent the bucket had when the watch started. */
  readonly ready: Promise<void>;

  constructor(
    private readonly store: RegistryStore,
    private readonly logger: MessagingLogger,
    timing?: Partial<WatchTiming>,
  ) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.watch = new WatchSupervisor<KvWatchEntry>({
      name: 'KV agents',
      open: (bucketChanged) => this.open(bucketChanged),
      onEntry: (entry) => {
        this.apply(entry);
        if (entry.isUpdate) this.markInitialised();
      },
      position: () => kvPosition(store.agents),
      onStale: () => {
        this.initialised = false;
      },
      logger,
      ...(timing === undefined ? {} : { timing }),
    });
  }

  /** Whether the view is loaded and its watch alive: the readiness check of the registry. */
  get status(): { ok: boolean; detail: string } {
    if (!this.watch.live) return { ok: false, detail: `agents view stale: ${this.watch.detail}` };
    if (!this.initialised) return { ok: false, detail: 'loading agents' };
    return { ok: true, detail: `${this.view.size} agents` };
  }

  /** Starts the watch; resolves once it is subscribed (await {@link ready} for the initial load). */
  async start(): Promise<void> {
    await this.watch.start();
  }

  /** Stops the watch. */
  stop(): void {
    this.watch.stop();
  }

  /** Declares the watch dead (tests; see WatchSupervisor.fail): `get` misses until it is reopened. */
  failWatch(reason: string): void {
    this.watch.fail(reason);
  }

  /**
   * The agent as the view holds it; `undefined` while the view is not current (loading, or its
   * watch lost), so the caller reads KV instead of trusting a frozen record.
   */
  get(agentId: string): AgentRecord | undefined {
    if (!this.initialised || !this.watch.live) return undefined;
    return this.view.get(agentId)?.record;
  }

  async load(agentId: string): Promise<AgentRecord | undefined> {
    return this.store.getAgent(agentId);
  }

  /** Takes in a record this replica just wrote, before the watch brings it back. */
  observe(agentId: string, record: StoredAgent | undefined, revision: number): void {
    this.put(agentId, record, revision);
  }

  private async open(bucketChanged: boolean): Promise<Watcher> {
    this.initialised = false;
    // A recreated bucket numbers its revisions from 1 again: what the view holds would shadow it.
    if (bucketChanged) this.view.clear();
    // The watch marks the last of the initial values as an update; with no initial values there
    // is nothing to wait for, and the bucket never shrinks (agents are retired, not deleted).
    const { values } = await this.store.agents.status();
    const watcher = await this.store.agents.watch();
    if (values === 0) this.markInitialised();
    return watcher;
  }

  private markInitialised(): void {
    if (this.initialised) return;
    this.initialised = true;
    this.markReady();
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
