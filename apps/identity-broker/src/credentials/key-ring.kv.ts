import type { KeyObject } from 'node:crypto';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import { formatMicros, type JwksResult } from '@warden/contracts';
import { casUpdate } from '@warden/messaging';
import type { Logger } from '@warden/telemetry';
import {
  firstRing,
  isRetired,
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
  sealSigningKey,
  type SealedSigningKey,
  type SigningKey,
} from '../domain/signing-key.js';
import { kvPosition, WatchSupervisor, type WatchTiming } from '@warden/messaging';

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
  /** Why, as the operator said it (`key-rotate {reason}`). */
  readonly reason?: string;
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
  /** The watch's probe and restart timing (tests shorten it). */
  readonly watchTiming?: Partial<WatchTiming>;
}

/** A key of the ring that opened with the master key: what it was opened from, and its public half. */
interface AuthenticKey {
  readonly sealed: string;
  readonly x: string;
  readonly publicKey: KeyObject;
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
 * - **Integrity**: the bucket is not trusted. Every key that verifies (active *and* previous) is
 *   opened with the master key and its stored public half checked against its private half
 *   (openSigningKey) before it is used or published; a key that does not open is left out and
 *   logged. So whoever can write the bucket but lacks the master key cannot add a verifying key
 *   of their own: they cannot seal one. (Not covered: `created_at` and `retires_at` are not
 *   sealed, so such a writer can keep a genuine old key verifying longer, or delete the ring.)
 * - **Watch lost**: the watch is supervised (domain/watch-supervisor.ts): reopened with backoff,
 *   reported by {@link status}. Meanwhile signing and verifying go on with what this replica
 *   holds, and an unknown kid still re-reads the ring ({@link refresh}).
 */
export class KvKeyRing {
  private ring: KeyRingDocument | undefined;
  private revision = 0;
  private signing: SigningKey | undefined;
  private readonly publicKeys = new Map<string, KeyObject>();
  /** Keys this replica opened, by kid: reused while the stored record is the same. */
  private readonly authentic = new Map<string, AuthenticKey>();
  private readonly clock: () => number;
  private readonly watch: WatchSupervisor<KvWatchEntry>;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private lastRefreshAt = 0;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly options: KeyRingOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.watch = new WatchSupervisor<KvWatchEntry>({
      name: 'KV signing_keys',
      open: async (bucketChanged) => {
        // A recreated bucket numbers revisions from 1 again: its ring must not look older.
        if (bucketChanged) this.revision = 0;
        return this.kv.watch({ key: RING_KEY });
      },
      onEntry: (entry) => {
        if (entry.operation !== 'PUT' || entry.revision <= this.revision) return;
        try {
          this.apply(entry.json<KeyRingDocument>(), entry.revision);
        } catch (error) {
          // A key sealed under another master key (or not sealed at all): keep signing with the
          // one this replica has (its tokens verify everywhere), and say so loudly.
          this.options.logger.error({ err: error }, 'a new signing key could not be opened');
        }
      },
      position: () => kvPosition(kv),
      logger: options.logger,
      ...(options.watchTiming === undefined ? {} : { timing: options.watchTiming }),
    });
  }

  /** The readiness check: the ring is loaded and its watch live. */
  get status(): { ok: boolean; detail: string } {
    if (this.ring === undefined) return { ok: false, detail: 'not started' };
    return this.watch.live
      ? { ok: true, detail: `${this.publicKeys.size} verifying keys` }
      : { ok: false, detail: `signing key watch lost: ${this.watch.detail}` };
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
    await this.watch.start();
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
    this.watch.stop();
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
   *
   * @throws when KV cannot be read, or the stored ring's active key does not open.
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
  async rotate(
    trigger: 'command' | 'schedule',
    by?: string,
    reason?: string,
  ): Promise<Rotation | undefined> {
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
      // Carry forward only keys that open: a key someone slipped into the bucket leaves it here.
      const authentic = { ...current, previous: current.previous.filter((key) => this.opens(key)) };
      return rotatedRing(authentic, sealed, this.clock(), this.options.retireAfterMs);
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
      ...(reason === undefined ? {} : { reason }),
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

  /**
   * Takes a ring revision in: opens its active key (throws if it does not open: the revision is
   * refused whole and this replica keeps the ring it has), authenticates every previous key that
   * still verifies (one that does not open is dropped and logged), and rebuilds the verifying
   * keys from the authenticated ones only. `this.ring` holds the authenticated ring, so the JWKS,
   * `key-list` and the schedule never see a key that did not open.
   */
  private apply(stored: KeyRingDocument, revision: number): void {
    if (revision <= this.revision) return;
    const now = this.clock();
    const signing =
      this.signing?.kid === stored.active.kid && this.isOpened(stored.active)
        ? this.signing
        : openSigningKey(stored.active, this.options.masterKey);
    const active: AuthenticKey = {
      sealed: stored.active.sealed,
      x: stored.active.x,
      publicKey: signing.publicKey,
    };
    const authentic = new Map<string, AuthenticKey>([[stored.active.kid, active]]);
    const previous = stored.previous.filter((key) => {
      if (isRetired(key, now) || key.kid === stored.active.kid || authentic.has(key.kid)) {
        return false;
      }
      const opened = this.authenticate(key);
      if (opened instanceof Error) {
        this.options.logger.error(
          { kid: key.kid, err: opened },
          'a previous signing key in KV does not open with the master key: it will not verify',
        );
        return false;
      }
      authentic.set(key.kid, opened);
      return true;
    });
    this.ring = { active: stored.active, previous };
    this.revision = revision;
    this.signing = signing;
    this.authentic.clear();
    for (const [kid, key] of authentic) this.authentic.set(kid, key);
    this.publicKeys.clear();
    for (const [kid, key] of authentic) this.publicKeys.set(kid, key.publicKey);
    this.schedule();
  }

  /** Whether `key` is, byte for byte, a record this replica already opened. */
  private isOpened(key: SealedSigningKey): boolean {
    const known = this.authentic.get(key.kid);
    return known !== undefined && known.sealed === key.sealed && known.x === key.x;
  }

  /** Whether a stored key opens with the master key (cached by its sealed record). */
  private opens(key: SealedSigningKey): boolean {
    return !(this.authenticate(key) instanceof Error);
  }

  /**
   * Opens `key` with the master key (seal, kid as AAD, public half its own) and keeps its public
   * half; the private half is dropped at once: a previous key never signs again.
   */
  private authenticate(key: SealedSigningKey): AuthenticKey | Error {
    const known = this.authentic.get(key.kid);
    if (known !== undefined && this.isOpened(key)) return known;
    try {
      const opened = openSigningKey(key, this.options.masterKey);
      return { sealed: key.sealed, x: key.x, publicKey: opened.publicKey };
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
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
