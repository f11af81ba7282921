import { KvWatchInclude, type KV, type KvWatchEntry } from '@nats-io/kv';
import { casUpdate } from '@warden/messaging';
import type { Logger } from '@warden/telemetry';
import {
  revocationKey,
  revocationOf,
  RevocationList,
  revocationValue,
  type Revocation,
  type RevocationValue,
} from '../domain/revocation-list.js';
import { kvPosition, WatchSupervisor, type WatchTiming } from '@warden/messaging';

/** How often the in-memory view forgets entries that can no longer matter. */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * The revocation list: KV `revocations` (the record every replica shares) and its in-memory view
 * (what the authentication stage reads on every intent, with no round trip).
 *
 * **Propagation bound.** A revocation is effective on the replica that wrote it before the
 * `revoke` API answers (it applies its own write to its view first). Every other replica applies
 * it when its KV watch delivers the entry: one JetStream push from the server, about the cost of
 * one hop (≈ 0.3 ms on loopback, a few ms across a cluster), so an intent published after the
 * revoke reply normally meets the revocation on whichever replica takes it. The bound is that
 * delivery: a replica whose NATS connection is down neither receives the entry nor receives
 * intents (both come over the same connection, and the watch resumes from where it was on
 * reconnect, before the replica's pull consumer is served again in practice).
 *
 * **When the watch dies** (its iterator ends or throws, or it silently stops delivering, e.g.
 * because the bucket was recreated: see domain/watch-supervisor.ts), the view is reported not
 * {@link healthy} until the watch is reopened and every stored entry read again. The stage then
 * retries intents instead of accepting them (a revocation it cannot see must not let a token
 * through), and readiness reports it. A value this broker cannot read is logged and skipped.
 *
 * The bucket's max age is the longest token life plus the clock leeway plus a margin, so an entry
 * disappears only once every token it could concern has expired.
 */
export class KvRevocations {
  /** The view the stage reads. */
  readonly list = new RevocationList();
  private readonly watch: WatchSupervisor<KvWatchEntry>;
  private pruning: NodeJS.Timeout | undefined;

  constructor(
    private readonly kv: KV,
    private readonly retentionMs: number,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
    timing?: Partial<WatchTiming>,
  ) {
    this.watch = new WatchSupervisor<KvWatchEntry>({
      name: 'KV revocations',
      open: () => this.open(),
      onEntry: (entry) => {
        if (entry.operation === 'PUT') this.take(entry.key, () => entry.json<unknown>());
      },
      position: () => kvPosition(kv),
      logger,
      ...(timing === undefined ? {} : { timing }),
    });
  }

  /**
   * Whether the view holds every stored revocation and its watch is live. When not, a token the
   * view does not find revoked may still be: callers must not accept it (retry instead).
   */
  get healthy(): boolean {
    return this.watch.live;
  }

  /** The readiness check: `ok` while {@link healthy}. */
  get status(): { ok: boolean; detail: string } {
    return this.watch.live
      ? { ok: true, detail: `${this.list.size} revocations` }
      : { ok: false, detail: `revocations view stale: ${this.watch.detail}` };
  }

  /**
   * Loads every stored revocation, then follows new ones. Resolves once the view holds all that
   * was stored before the call: the stage must not accept a token revoked before it started.
   */
  async start(): Promise<void> {
    await this.watch.start();
    this.pruning = setInterval(() => {
      this.list.prune(this.clock(), this.retentionMs);
    }, PRUNE_INTERVAL_MS);
    this.pruning.unref();
  }

  /** Nest's shutdown hook. */
  onModuleDestroy(): void {
    this.stop();
  }

  /** Stops the watch and the pruning. */
  stop(): void {
    clearInterval(this.pruning);
    this.watch.stop();
  }

  /** Declares the watch dead (tests; see WatchSupervisor.fail): the view is stale until reopened. */
  failWatch(reason: string): void {
    this.watch.fail(reason);
  }

  /**
   * Records `revocation` in KV (an agent's cut-off by compare-and-set, so it only ever moves
   * later) and in this replica's view, before it returns.
   */
  async revoke(revocation: Revocation): Promise<void> {
    const key = revocationKey(revocation);
    const value = revocationValue(revocation);
    if (revocation.kind === 'agent') {
      await casUpdate<RevocationValue>(this.kv, key, (current) =>
        (current?.issued_before_ms ?? Number.NEGATIVE_INFINITY) >= revocation.issuedBeforeMs
          ? undefined
          : value,
      );
    } else {
      await this.kv.put(key, JSON.stringify(value));
    }
    this.list.apply(revocation);
  }

  /** Opens the watch and reads every stored entry (at start and after each restart). */
  private async open(): Promise<Awaited<ReturnType<KV['watch']>>> {
    // Watch updates first, then read what is stored: entries only tighten, so seeing one twice
    // (from both) is harmless, and nothing written between the two is missed.
    const watcher = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    try {
      const names: string[] = [];
      for await (const key of await this.kv.keys()) names.push(key);
      for (const key of names) {
        const entry = await this.kv.get(key);
        if (entry?.operation === 'PUT') this.take(key, () => entry.json<unknown>());
      }
    } catch (error) {
      watcher.stop();
      throw error;
    }
    return watcher;
  }

  /** Applies one stored value; one that is not JSON, or not a revocation, is logged and skipped. */
  private take(key: string, read: () => unknown): void {
    let value: unknown;
    try {
      value = read();
    } catch {
      value = undefined;
    }
    const revocation = revocationOf(key, value);
    if (revocation === undefined) {
      this.logger.warn({ key }, 'ignoring a revocation entry this broker does not understand');
      return;
    }
    this.list.apply(revocation);
  }
}
