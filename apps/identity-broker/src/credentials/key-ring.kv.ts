import type { KeyObject } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { formatMicros, type JwksResult } from '@warden/contracts';
import { casUpdate } from '@warden/messaging';
import type { Logger } from '@warden/telemetry';
import {
  firstRing,
  nextRotationAt,
  RING_KEY,
  rotatedRing,
  rotationDue,
  timestampMs,
  verifyingKeys,
  type KeyRingDocument,
} from '../domain/key-ring.js';
import {
  generateSigningKey,
  openSigningKey,
  publicKeyOf,
  sealSigningKey,
  type SigningKey,
} from '../domain/signing-key.js';

/** What caused a rotation (the `trigger` of `signing_key.rotated`). */
export type RotationTrigger = 'bootstrap' | 'command' | 'schedule';

/** A rotation this replica wrote. */
export interface Rotation {
  readonly trigger: RotationTrigger;
  readonly key: SigningKey;
  readonly previousKid?: string;
  /** RFC 3339 (µs). */
  readonly previousRetiresAt?: string;
  readonly by?: string;
}

/** A signing key as `key-list` shows it. */
export interface SigningKeyListing {
  readonly kid: string;
  readonly status: 'active' | 'previous';
  readonly created_at: string;
  readonly retires_at?: string;
}

/** Options of {@link KvKeyRing}. */
export interface KeyRingOptions {
  readonly masterKey: Buffer;
  /** 0: rotation on command only. */
  readonly rotationPeriodMs: number;
  readonly retireAfterMs: number;
  /** Records a rotation this replica wrote (`signing_key.rotated`). */
  readonly onRotated: (rotation: Rotation) => Promise<void>;
  readonly logger: Logger;
  readonly clock?: () => number;
}

/** An unknown kid re-reads the ring at most this often: random kids must not cost a KV read each. */
const REFRESH_INTERVAL_MS = 250;
/** A schedule timer never waits longer than this (setTimeout's limit is ~24.8 days). */
const MAX_TIMER_MS = 3_600_000;
/** After a failed scheduled rotation (NATS away), try again this soon. */
const RETRY_MS = 5_000;

/**
 * The broker's signing keys, kept in KV `signing_keys` as one document (domain/key-ring.ts) and
 * mirrored in memory, so signing and verifying never wait for NATS.
 *
 * - **First start**: the document is created with compare-and-set: replicas starting together
 *   each try, one wins, and the others adopt its key.
 * - **Rotation**: on command (`rotate('command')`) and on schedule. Every replica arms a timer
 *   for the active key's due time; the ones that fire together each try a CAS on the document,
 *   and their mutation rotates only while the key is still due. The first write makes the new
 *   key active (not due), so the others' retries leave it: one rotation per period.
 * - **Propagation**: a KV watch applies every new revision at once; a token signed by a key this
 *   replica has not seen yet (the watch a few ms behind) triggers a re-read before it is refused.
 * - **At rest**: private keys are sealed (AES-256-GCM, master key, kid as AAD); a copy of the
 *   bucket cannot mint tokens. Public keys are in clear: they are the JWKS.
 */
export class KvKeyRing {
  private ring: KeyRingDocument | undefined;
  private revision = 0;
  private signing: SigningKey | undefined;
  private readonly publicKeys = new Map<string, KeyObject>();
  private readonly clock: () => number;
  private watching: { stop(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private lastRefreshAt = 0;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly options: KeyRingOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Loads the ring (creating it, with its first key, when there is none), starts watching it and
   * arms the rotation schedule.
   *
   * @throws SealedKeyError when the stored active key does not open with this master key.
   */
  async start(): Promise<void> {
    let generated: SigningKey | undefined;
    const result = await casUpdate<KeyRingDocument>(this.kv, RING_KEY, (current) => {
      if (current !== undefined) return undefined;
      generated = generateSigningKey();
      return firstRing(sealSigningKey(generated, this.options.masterKey, this.now()));
    });
    if (result.value === undefined) throw new Error('the signing key ring could not be created');
    this.apply(result.value, result.revision);
    if (result.written && generated !== undefined) {
      await this.options.onRotated({ trigger: 'bootstrap', key: generated });
    }
    const watcher = await this.kv.watch({ key: RING_KEY });
    this.watching = watcher;
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation !== 'PUT' || entry.revision <= this.revision) continue;
        try {
          this.apply(entry.json<KeyRingDocument>(), entry.revision);
        } catch (error) {
          // A key sealed under another master key: keep signing with the one this replica has
          // (its tokens verify everywhere), and say so loudly.
          this.options.logger.error({ err: error }, 'a new signing key could not be opened');
        }
      }
    })();
    this.schedule();
  }

  /** Nest's shutdown hook. */
  onModuleDestroy(): void {
    this.stop();
  }

  /** Stops the watch and the schedule. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watching?.stop();
  }

  /** The key that signs now. */
  activeKey(): SigningKey {
    if (this.signing === undefined) throw new Error('the key ring is not started');
    return this.signing;
  }

  /** The public key of `kid`, when it verifies now (active, or previous and not yet retired). */
  readonly lookup = (kid: string): KeyObject | undefined => this.publicKeys.get(kid);

  /**
   * Re-reads the ring from KV (a token with a kid this replica does not know may come from a
   * rotation its watch has not delivered yet). At most every {@link REFRESH_INTERVAL_MS}; callers
   * in between share the last read.
   */
  refresh(): Promise<void> {
    if (this.refreshing !== undefined) return this.refreshing;
    if (this.clock() - this.lastRefreshAt < REFRESH_INTERVAL_MS) return Promise.resolve();
    this.lastRefreshAt = this.clock();
    this.refreshing = (async () => {
      try {
        const entry = await this.kv.get(RING_KEY);
        if (entry?.operation === 'PUT' && entry.revision > this.revision) {
          this.apply(entry.json<KeyRingDocument>(), entry.revision);
        }
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /**
   * Rotates: a new key signs from now on; the replaced one verifies until its tokens expired.
   * `schedule` rotates only when the active key is due (see the class comment); `command`
   * always does.
   *
   * @returns the rotation this replica wrote, or `undefined` (another replica rotated first).
   */
  async rotate(trigger: 'command' | 'schedule', by?: string): Promise<Rotation | undefined> {
    let generated: SigningKey | undefined;
    let replaced: KeyRingDocument | undefined;
    const result = await casUpdate<KeyRingDocument>(this.kv, RING_KEY, (current) => {
      if (current === undefined) throw new Error('the signing key ring is gone from KV');
      if (
        trigger === 'schedule' &&
        !rotationDue(current, this.options.rotationPeriodMs, this.clock())
      ) {
        return undefined;
      }
      replaced = current;
      generated = generateSigningKey();
      const sealed = sealSigningKey(generated, this.options.masterKey, this.now());
      return rotatedRing(current, sealed, this.clock(), this.options.retireAfterMs);
    });
    // Won or lost, the value read is the newest: take it in now rather than wait for the watch.
    if (result.value !== undefined) this.apply(result.value, result.revision);
    if (
      !result.written ||
      result.value === undefined ||
      generated === undefined ||
      replaced === undefined
    ) {
      return undefined;
    }
    const retiring = result.value.previous[0];
    const rotation: Rotation = {
      trigger,
      key: generated,
      previousKid: replaced.active.kid,
      ...(retiring === undefined ? {} : { previousRetiresAt: retiring.retires_at }),
      ...(by === undefined ? {} : { by }),
    };
    await this.options.onRotated(rotation);
    return rotation;
  }

  /** The public keys that verify now (RFC 7517). */
  jwks(): JwksResult {
    const ring = this.current();
    return {
      keys: verifyingKeys(ring, this.clock()).map((key) => ({
        kty: 'OKP' as const,
        crv: 'Ed25519' as const,
        x: key.x,
        kid: key.kid,
        alg: 'EdDSA' as const,
      })),
    };
  }

  /** The keys, active first, as `key-list` shows them. */
  list(): SigningKeyListing[] {
    const ring = this.current();
    const now = this.clock();
    return [
      { kid: ring.active.kid, status: 'active', created_at: ring.active.created_at },
      ...ring.previous
        .filter((key) => timestampMs(key.retires_at) > now)
        .map((key) => ({
          kid: key.kid,
          status: 'previous' as const,
          created_at: key.created_at,
          retires_at: key.retires_at,
        })),
    ];
  }

  private current(): KeyRingDocument {
    if (this.ring === undefined) throw new Error('the key ring is not started');
    return this.ring;
  }

  /** Takes a ring revision in: opens a new active key, and rebuilds the verifying keys. */
  private apply(ring: KeyRingDocument, revision: number): void {
    if (revision <= this.revision) return;
    const signing =
      this.signing?.kid === ring.active.kid
        ? this.signing
        : openSigningKey(ring.active, this.options.masterKey);
    this.ring = ring;
    this.revision = revision;
    this.signing = signing;
    const verifying = verifyingKeys(ring, this.clock());
    for (const kid of this.publicKeys.keys()) {
      if (!verifying.some((key) => key.kid === kid)) this.publicKeys.delete(kid);
    }
    for (const key of verifying) {
      if (!this.publicKeys.has(key.kid)) this.publicKeys.set(key.kid, publicKeyOf(key));
    }
    this.schedule();
  }

  /**
   * Arms the timer for the next thing due: the scheduled rotation, or the retirement of a
   * previous key (which then leaves the verifying keys).
   */
  private schedule(): void {
    clearTimeout(this.timer);
    const ring = this.ring;
    if (this.stopped || ring === undefined) return;
    const now = this.clock();
    const due = [
      ...(this.options.rotationPeriodMs > 0
        ? [nextRotationAt(ring, this.options.rotationPeriodMs)]
        : []),
      ...ring.previous.map((key) => timestampMs(key.retires_at)).filter((at) => at > now),
    ];
    if (due.length === 0) return;
    const delay = Math.min(Math.max(0, Math.min(...due) - now), MAX_TIMER_MS);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const ring = this.current();
    // Keys that retired leave the verifying set.
    const verifying = new Set(verifyingKeys(ring, this.clock()).map((key) => key.kid));
    for (const kid of this.publicKeys.keys()) if (!verifying.has(kid)) this.publicKeys.delete(kid);
    if (!rotationDue(ring, this.options.rotationPeriodMs, this.clock())) {
      this.schedule();
      return;
    }
    try {
      // Won or lost, rotate() took the newest ring in, which is not due: re-arm for its time.
      await this.rotate('schedule');
      this.schedule();
    } catch (error) {
      this.options.logger.error({ err: error }, 'scheduled signing key rotation failed; retrying');
      clearTimeout(this.timer);
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.tick(), RETRY_MS);
        this.timer.unref();
      }
    }
  }

  private now(): string {
    return formatMicros(this.clock() * 1000);
  }
}
