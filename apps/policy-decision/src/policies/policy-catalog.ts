import type { KvWatchEntry } from '@nats-io/kv';
import {
  kvPosition,
  WatchSupervisor,
  type MessagingLogger,
  type WatchTiming,
} from '@warden/messaging';
import { compileVersion, type PolicyEngine } from '@warden/policy';
import { resolvesWithin } from '../resolves-within.js';
import type { PolicyStore } from './policy-store.js';
import { HEAD_KEY, PolicyHead, type StoredPolicyVersion } from './stored-policy.js';

/** A version in force, ready to decide: its engine, or why it cannot (then it denies everything). */
export interface LoadedVersion {
  readonly version: number;
  readonly engine?: PolicyEngine;
  /** Why the version has no engine (it failed to load): every decision under it is a deny. */
  readonly error?: string;
}

/** No version published: every intent is denied (deny by default). */
const NONE: LoadedVersion = { version: 0 };

/**
 * The policy versions in force (KV `policies` `head`): the active one and, when enabled, the shadow
 * one, each compiled into a {@link PolicyEngine} once per version, never per request. Kept current
 * by a supervised watch; a version that cannot be loaded (never expected: it was validated before
 * it was published) makes every decision a deny that names the version, rather than falling back
 * to an older, looser one.
 */
export class PolicyCatalog {
  private active: LoadedVersion = NONE;
  private shadowVersion: LoadedVersion | undefined;
  private readonly watch: WatchSupervisor<KvWatchEntry>;
  private loaded = false;
  private markLoaded: () => void = () => undefined;
  private readonly firstLoad = new Promise<void>((resolve) => {
    this.markLoaded = resolve;
  });
  private updating: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: PolicyStore,
    private readonly env: string,
    private readonly logger: MessagingLogger,
    private readonly shadowEnabled: boolean,
    timing?: Partial<WatchTiming>,
  ) {
    this.watch = new WatchSupervisor<KvWatchEntry>({
      name: 'KV policies',
      open: async () => {
        const watcher = await this.store.kv.watch({ key: HEAD_KEY });
        // The watch delivers nothing when no version was ever published: that is loaded too.
        if ((await this.store.kv.get(HEAD_KEY)) === null) this.setLoaded();
        return watcher;
      },
      onEntry: (entry) => {
        if (entry.operation !== 'PUT') return;
        const head = PolicyHead.safeParse(entry.json<unknown>());
        if (!head.success) {
          this.logger.error({ reason: head.error.message }, 'invalid policy head in KV');
          return;
        }
        // Loads one after another, so an older head never overwrites a newer one.
        this.updating = this.updating.then(() => this.load(head.data));
      },
      position: () => kvPosition(store.kv),
      logger,
      ...(timing === undefined ? {} : { timing }),
    });
  }

  /** Readiness `policies`: loaded, and the watch alive. */
  get status(): { ok: boolean; detail: string } {
    if (!this.watch.live) return { ok: false, detail: `policies view stale: ${this.watch.detail}` };
    if (!this.loaded) return { ok: false, detail: 'loading the active policy version' };
    const shadow =
      this.shadowVersion === undefined ? '' : `, shadow v${this.shadowVersion.version}`;
    return { ok: true, detail: `active v${this.active.version}${shadow}` };
  }

  async start(): Promise<void> {
    await this.watch.start();
  }

  stop(): void {
    this.watch.stop();
  }

  /** The active version (version 0 when none was published). */
  current(): LoadedVersion {
    return this.active;
  }

  /** The shadow version to evaluate beside the active one, if any (and enabled). */
  shadow(): LoadedVersion | undefined {
    return this.shadowVersion;
  }

  /**
   * Whether the versions in force are known, waiting up to `timeoutMs` for the first load: a
   * decision taken before it would deny everything as "no policy" during every restart.
   */
  async whenLoaded(timeoutMs: number): Promise<boolean> {
    return this.loaded || resolvesWithin(this.firstLoad, timeoutMs);
  }

  private setLoaded(): void {
    this.loaded = true;
    this.markLoaded();
  }

  private async load(head: PolicyHead): Promise<void> {
    try {
      const active = await this.loadVersion(head.active, this.active);
      const wantShadow = this.shadowEnabled ? head.shadow : undefined;
      const shadow =
        wantShadow === undefined
          ? undefined
          : await this.loadVersion(wantShadow, this.shadowVersion);
      const retired = [this.active, this.shadowVersion].filter(
        (old) => old !== undefined && old !== active && old !== shadow,
      );
      this.active = active;
      this.shadowVersion = shadow;
      for (const old of retired) old?.engine?.dispose();
      this.setLoaded();
      this.logger.info(
        { active: active.version, shadow: shadow?.version ?? null },
        'policy versions in force',
      );
    } catch (error) {
      this.logger.error(
        { err: error },
        'loading policy versions failed; the previous stay in force',
      );
    }
  }

  private async loadVersion(
    version: number,
    held: LoadedVersion | undefined,
  ): Promise<LoadedVersion> {
    if (version === 0) return NONE;
    if (held?.version === version) return held;
    const stored = await this.store.get(version);
    if (stored === undefined)
      return { version, error: `policy version ${version} is missing from KV` };
    return this.compile(stored);
  }

  private compile(stored: StoredPolicyVersion): LoadedVersion {
    const { version } = stored;
    // Compiling validates the set again (it was validated at publish as well).
    const loaded = compileVersion(
      `${this.env}:v${version}:${stored.content_hash.slice(0, 16)}`,
      version,
      stored.schema,
      stored.files,
    );
    if (loaded.error === undefined) return loaded;
    this.logger.error(
      { version, error: loaded.error },
      'policy version does not load: every intent is denied',
    );
    return loaded;
  }
}
