import type { KV, KvEntry } from '@nats-io/kv';
import { nowMicros, type SecretView } from '@warden/contracts';
import { casUpdate, isWrongLastSequence } from '@warden/messaging';
import { openValue, sealValue, secretAad, type SealedValue } from './secret-seal.js';
import { StoredSecret, viewOf, type SecretChange } from './secret-record.js';
import { SecretsError } from './secrets.errors.js';

/** Records every change for audit before it is written (the event log: `secret.changed`). */
export interface SecretAudit {
  record(change: SecretChange): Promise<void>;
}

/** The longest a resolved value is reused: a rotation reaches every replica within it. */
export const MAX_SECRET_CACHE_TTL_MS = 5_000;
/** How long a resolved value is reused by default. */
export const DEFAULT_SECRET_CACHE_TTL_MS = 2_000;

/** Options of {@link SecretStore}. */
export interface SecretStoreOptions {
  /** The env every value is bound to (part of its AAD). */
  readonly env: string;
  /** 32 bytes (EXECUTOR_MASTER_KEY); absent: set, rotate and resolve fail `master_key_missing`. */
  readonly masterKey: Buffer | undefined;
  readonly audit: SecretAudit;
  /** Capped at {@link MAX_SECRET_CACHE_TTL_MS}; 0 turns the cache off. */
  readonly cacheTtlMs?: number;
  /** For tests. */
  readonly clock?: { now(): number; stamp(): string };
}

/** A secret's values, opened: the current one and, after a rotation, the one it replaced. */
export interface ResolvedSecret {
  readonly version: number;
  readonly current: string;
  readonly previous?: string;
}

/** What `set` and `rotate` answer. */
export interface SecretWrite {
  readonly secret: SecretView;
  readonly created: boolean;
}

const SYSTEM_CLOCK = { now: () => Date.now(), stamp: nowMicros };

/**
 * The executor's credential store (`secrets` KV bucket of the env): each ref's value sealed with
 * AES-256-GCM under the master key, bound to `<env>:<ref>:<version>`. Every change is recorded
 * for audit first, then written by compare-and-set against the version it was planned on, so a
 * concurrent change is refused rather than lost. Values go in through `set`/`rotate` and out only
 * through `resolve` (to the upstream call); nothing here logs, returns or throws one.
 */
export class SecretStore {
  private readonly cache = new Map<string, { expiresAt: number; secret: ResolvedSecret }>();
  private readonly ttlMs: number;
  private readonly clock: { now(): number; stamp(): string };

  constructor(
    private readonly kv: KV,
    private readonly options: SecretStoreOptions,
  ) {
    this.ttlMs = Math.min(
      Math.max(options.cacheTtlMs ?? DEFAULT_SECRET_CACHE_TTL_MS, 0),
      MAX_SECRET_CACHE_TTL_MS,
    );
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Creates `ref` or replaces its value; a replaced value (and any previous one) is forgotten. */
  async set(ref: string, value: string, by: string): Promise<SecretWrite> {
    const existing = await this.read(ref);
    const version = (existing?.version ?? 0) + 1;
    const record: StoredSecret = {
      ref,
      version,
      current: this.seal(ref, version, value),
      set_by: by,
      set_at: this.clock.stamp(),
    };
    await this.write(existing, record, { ref, version, action: 'set', by });
    return { secret: viewOf(record), created: existing === undefined };
  }

  /**
   * Makes `value` current and keeps the current one as `previous` until the next rotation.
   *
   * @throws SecretsError `secret_not_found` when the ref is not stored.
   */
  async rotate(ref: string, value: string, by: string): Promise<SecretWrite> {
    const existing = await this.read(ref);
    if (existing === undefined) throw SecretsError.notFound(ref);
    const version = existing.version + 1;
    const at = this.clock.stamp();
    const record: StoredSecret = {
      ref,
      version,
      current: this.seal(ref, version, value),
      previous: { ...existing.current, version: existing.version },
      set_by: by,
      set_at: at,
      rotated_at: at,
    };
    await this.write(existing, record, { ref, version, action: 'rotated', by });
    return { secret: viewOf(record), created: false };
  }

  /** Every stored ref, sorted, without values (also without a master key). */
  async list(): Promise<SecretView[]> {
    const refs: string[] = [];
    for await (const key of await this.kv.keys()) refs.push(key);
    const records = await Promise.all(refs.map((ref) => this.read(ref)));
    return records
      .filter((record): record is StoredSecret => record !== undefined)
      .map(viewOf)
      .sort((a, b) => a.ref.localeCompare(b.ref));
  }

  /**
   * Forgets `ref` and both its values (purged: no earlier revision of the key stays in the
   * bucket). `deleted: false` when it was not stored.
   */
  async delete(ref: string, by: string): Promise<{ deleted: boolean; version?: number }> {
    const entry = await this.kv.get(ref);
    const existing =
      entry === null || entry.operation !== 'PUT' ? undefined : this.parse(ref, entry);
    if (entry === null || existing === undefined) return { deleted: false };
    await this.options.audit.record({ ref, version: existing.version, action: 'deleted', by });
    try {
      await this.kv.purge(ref, { previousSeq: entry.revision });
    } catch (error) {
      if (isWrongLastSequence(error)) throw SecretsError.conflict(ref);
      throw error;
    }
    this.cache.delete(ref);
    return { deleted: true, version: existing.version };
  }

  /** The current value of `ref` for an upstream call, or `undefined` when it is not stored. */
  async resolve(ref: string): Promise<string | undefined> {
    return (await this.resolveBoth(ref))?.current;
  }

  /**
   * The current value and, after a rotation, the previous one (for an upstream that still has a
   * call under way with it, or that has not taken the new one yet). Reused for at most the
   * cache TTL, so a rotation on another replica takes effect within it.
   *
   * @throws SecretsError `secret_unreadable` when a value does not open.
   */
  async resolveBoth(ref: string): Promise<ResolvedSecret | undefined> {
    this.requireKey();
    const now = this.clock.now();
    const cached = this.cache.get(ref);
    if (cached !== undefined && cached.expiresAt > now) return cached.secret;
    this.cache.delete(ref);
    const record = await this.read(ref);
    if (record === undefined) return undefined;
    const secret: ResolvedSecret = {
      version: record.version,
      current: this.open(ref, record.version, record.current),
      ...(record.previous === undefined
        ? {}
        : { previous: this.open(ref, record.previous.version, record.previous) }),
    };
    if (this.ttlMs > 0) this.cache.set(ref, { expiresAt: now + this.ttlMs, secret });
    return secret;
  }

  /** The record, metadata and sealed values (no key needed: `list` and `delete` work without). */
  private async read(ref: string): Promise<StoredSecret | undefined> {
    const entry = await this.kv.get(ref);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return this.parse(ref, entry);
  }

  private parse(ref: string, entry: KvEntry): StoredSecret {
    let raw: unknown;
    try {
      raw = entry.json();
    } catch {
      raw = undefined;
    }
    const parsed = StoredSecret.safeParse(raw);
    if (!parsed.success || parsed.data.ref !== ref) {
      throw new SecretsError(
        'secret_unreadable',
        `secret ${ref}: the stored record (revision ${entry.revision}) is not a secret record of this ref`,
      );
    }
    return parsed.data;
  }

  /**
   * Audit first, then the write: a change is never in force without its record. The write only
   * goes ahead on the version it was planned on (sealed under that version's AAD).
   */
  private async write(
    existing: StoredSecret | undefined,
    record: StoredSecret,
    change: SecretChange,
  ): Promise<void> {
    await this.options.audit.record(change);
    await casUpdate<unknown>(this.kv, record.ref, (current) => {
      const version = StoredSecret.safeParse(current).data?.version;
      if (version !== existing?.version) throw SecretsError.conflict(record.ref);
      return record;
    });
    this.cache.delete(record.ref);
  }

  private seal(ref: string, version: number, value: string): SealedValue {
    return sealValue(value, this.requireKey(), secretAad(this.options.env, ref, version));
  }

  private open(ref: string, version: number, sealed: SealedValue): string {
    const value = openValue(sealed, this.requireKey(), secretAad(this.options.env, ref, version));
    if (value === undefined) {
      throw SecretsError.unreadable(
        ref,
        version,
        `sealed under another EXECUTOR_MASTER_KEY, env or ref, or altered; every replica of env ${this.options.env} needs the key it was set with`,
      );
    }
    return value;
  }

  private requireKey(): Buffer {
    if (this.options.masterKey === undefined) throw SecretsError.masterKeyMissing();
    return this.options.masterKey;
  }
}
