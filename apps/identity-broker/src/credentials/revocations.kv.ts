import { KvWatchInclude, type KV } from '@nats-io/kv';
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
 * The bucket's max age is the longest token life plus the clock leeway plus a margin, so an entry
 * disappears only once every token it could concern has expired.
 */
export class KvRevocations {
  /** The view the stage reads. */
  readonly list = new RevocationList();
  private watching: { stop(): void } | undefined;
  private pruning: NodeJS.Timeout | undefined;

  constructor(
    private readonly kv: KV,
    private readonly retentionMs: number,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Loads every stored revocation, then follows new ones. Resolves once the view holds all that
   * was stored before the call: the stage must not accept a token revoked before it started.
   */
  async start(): Promise<void> {
    // Watch updates first, then read what is stored: entries only tighten, so seeing one twice
    // (from both) is harmless, and nothing written between the two is missed.
    const watcher = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.watching = watcher;
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation !== 'PUT') continue;
        this.take(entry.key, entry.json<unknown>());
      }
    })();
    const keys = await this.kv.keys();
    const names: string[] = [];
    for await (const key of keys) names.push(key);
    for (const key of names) {
      const entry = await this.kv.get(key);
      if (entry?.operation === 'PUT') this.take(key, entry.json<unknown>());
    }
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
    this.watching?.stop();
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

  private take(key: string, value: unknown): void {
    const revocation = revocationOf(key, value);
    if (revocation === undefined) {
      this.logger.warn({ key }, 'ignoring a revocation entry this broker does not understand');
      return;
    }
    this.list.apply(revocation);
  }
}
