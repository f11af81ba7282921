import type { KvWatchEntry } from '@nats-io/kv';
import { canaryArm, CanaryView, ReleaseView, type ReleaseAssignResult } from '@warden/contracts';
import {
  kvPosition,
  WatchSupervisor,
  type MessagingLogger,
  type WatchTiming,
} from '@warden/messaging';
import { compileVersion } from '@warden/policy';
import type { LoadedVersion } from '../policies/policy-catalog.js';
import type { PolicyStore } from '../policies/policy-store.js';
import { resolvesWithin } from '../resolves-within.js';
import type { ReleaseStore } from './release-store.js';

/** A canary in force, with its policy version compiled once (when it has one). */
interface HeldCanary {
  readonly view: CanaryView;
  readonly revision: number;
  readonly policy: Promise<LoadedVersion | undefined>;
}

/**
 * The canaries in force and the promoted releases (KV `releases`), in memory and kept current by a
 * supervised watch of the whole bucket: which release a new run gets (`release-assign`) and, for a
 * canary with a policy version, which version decides the intents of the runs on its side. Both
 * answers come from {@link canaryArm} over the same canary, so the run's recorded release and its
 * decisions agree.
 */
export class ReleaseCatalog {
  private readonly held = new Map<string, HeldCanary>();
  private readonly releases = new Map<string, { view: ReleaseView; revision: number }>();
  private readonly watch: WatchSupervisor<KvWatchEntry>;
  private isLoaded = false;
  private markLoaded: () => void = () => undefined;
  private readonly loaded = new Promise<void>((resolve) => {
    this.markLoaded = resolve;
  });

  constructor(
    private readonly store: ReleaseStore,
    private readonly policies: PolicyStore,
    private readonly env: string,
    private readonly logger: MessagingLogger,
    timing?: Partial<WatchTiming>,
  ) {
    this.watch = new WatchSupervisor<KvWatchEntry>({
      name: 'KV releases',
      open: async () => {
        const watcher = await this.store.kv.watch();
        // Loaded before start() resolves: a decision never runs on a half-known set of canaries.
        for await (const key of await this.store.kv.keys()) {
          const entry = await this.store.kv.get(key);
          if (entry !== null) this.apply(entry);
        }
        return watcher;
      },
      onEntry: (entry) => {
        this.apply(entry);
      },
      position: () => kvPosition(store.kv),
      logger,
      ...(timing === undefined ? {} : { timing }),
    });
  }

  /** Readiness `canaries`: the watch alive. */
  get status(): { ok: boolean; detail: string } {
    return this.watch.live
      ? { ok: true, detail: `${this.held.size} canaries in force` }
      : { ok: false, detail: `canaries view stale: ${this.watch.detail}` };
  }

  async start(): Promise<void> {
    await this.watch.start();
    this.isLoaded = true;
    this.markLoaded();
  }

  /**
   * Whether the canaries are known, waiting up to `timeoutMs` for the start: a run on a canary's
   * side decided before it would be decided under the active version.
   */
  async whenLoaded(timeoutMs: number): Promise<boolean> {
    // Asked for every intent: no timer once loaded.
    return this.isLoaded || resolvesWithin(this.loaded, timeoutMs);
  }

  /** Stops the watch; the view stays as it was for the intents still being decided in the drain. */
  stop(): void {
    this.watch.stop();
  }

  /**
   * The policy version that decides the intents of run `runId` of `workflow` instead of the
   * active one: the canary's, when the run is on its side; otherwise `undefined`.
   */
  async policyFor(
    workflow: string | undefined,
    runId: string | undefined,
  ): Promise<LoadedVersion | undefined> {
    if (workflow === undefined || runId === undefined) return undefined;
    const held = this.held.get(workflow);
    if (held?.view.policy_version === undefined) return undefined;
    if (canaryArm(held.view.canary_id, runId, held.view.percent) !== 'canary') return undefined;
    return held.policy.catch((error: unknown) => {
      // KV did not answer: compile again on the next intent (this one is retried).
      if (this.held.get(workflow) === held) {
        this.held.set(workflow, { ...held, policy: this.compile(held.view) });
      }
      throw error;
    });
  }

  /** The release a new run of `workflow` gets: the canary decides, else the promoted release. */
  async assign(workflow: string, runId: string): Promise<ReleaseAssignResult> {
    const live = this.watch.live;
    const canary = live ? this.held.get(workflow)?.view : await this.store.canary(workflow);
    if (canary !== undefined) {
      const arm = canaryArm(canary.canary_id, runId, canary.percent);
      const version = arm === 'canary' ? canary.version : canary.baseline;
      return {
        ...(version === undefined ? {} : { version }),
        canary: { id: canary.canary_id, arm },
      };
    }
    const release = live ? this.releases.get(workflow)?.view : await this.store.release(workflow);
    return release === undefined ? {} : { version: release.version };
  }

  private apply(entry: Pick<KvWatchEntry, 'key' | 'operation' | 'revision' | 'json'>): void {
    const [kind, workflow] = entry.key.split('.', 2);
    if (workflow === undefined) return;
    if (kind === 'canary') this.applyCanary(workflow, entry);
    else if (kind === 'release') this.applyRelease(workflow, entry);
  }

  private applyRelease(
    workflow: string,
    entry: Pick<KvWatchEntry, 'key' | 'operation' | 'revision' | 'json'>,
  ): void {
    const held = this.releases.get(workflow);
    if (held !== undefined && held.revision >= entry.revision) return;
    if (entry.operation !== 'PUT') {
      this.releases.delete(workflow);
      return;
    }
    const parsed = ReleaseView.safeParse(entry.json<unknown>());
    if (!parsed.success) {
      this.logger.error({ key: entry.key, reason: parsed.error.message }, 'invalid release in KV');
      return;
    }
    this.releases.set(workflow, { view: parsed.data, revision: entry.revision });
  }

  private applyCanary(
    workflow: string,
    entry: Pick<KvWatchEntry, 'key' | 'operation' | 'revision' | 'json'>,
  ): void {
    const held = this.held.get(workflow);
    if (held !== undefined && held.revision >= entry.revision) return;
    if (entry.operation !== 'PUT') {
      if (held !== undefined) void this.dispose(held);
      this.held.delete(workflow);
      this.logger.info({ workflow }, 'canary ended');
      return;
    }
    const parsed = CanaryView.safeParse(entry.json<unknown>());
    if (!parsed.success) {
      this.logger.error({ key: entry.key, reason: parsed.error.message }, 'invalid canary in KV');
      return;
    }
    const view = parsed.data;
    const same = held?.view.canary_id === view.canary_id;
    if (held !== undefined && !same) void this.dispose(held);
    this.held.set(workflow, {
      view,
      revision: entry.revision,
      policy: same ? held.policy : this.compile(view),
    });
    if (!same) {
      this.logger.info(
        {
          workflow,
          canary_id: view.canary_id,
          version: view.version,
          percent: view.percent,
          policy_version: view.policy_version ?? null,
        },
        'canary in force',
      );
    }
  }

  private async compile(view: CanaryView): Promise<LoadedVersion | undefined> {
    const version = view.policy_version;
    if (version === undefined) return undefined;
    const stored = await this.policies.get(version);
    if (stored === undefined) {
      return { version, error: `canary policy version ${version} is missing from KV` };
    }
    // Its own cache id: the same version may be active or shadow too, and disposing this one
    // when the canary ends must not dispose theirs.
    const loaded = compileVersion(
      `${this.env}:canary:${view.canary_id}:v${version}`,
      version,
      stored.schema,
      stored.files,
    );
    if (loaded.error !== undefined) {
      this.logger.error(
        { workflow: view.workflow, version, error: loaded.error },
        'canary policy version does not load: its runs are denied',
      );
    }
    return loaded;
  }

  private async dispose(held: HeldCanary): Promise<void> {
    (await held.policy.catch(() => undefined))?.engine?.dispose();
  }
}
