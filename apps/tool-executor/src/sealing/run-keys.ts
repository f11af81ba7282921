import { randomBytes } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { isWrongLastSequence } from '@warden/messaging';
import { openValue, sealValue, type SealedValue } from '../secrets/secret-seal.js';

/**
 * One data key per run (KV `run_keys`, key = run id), each stored wrapped with the executor's
 * master key (AES-256-GCM, `<env>:run-key:<run id>` as additional data). Sealed outputs of a run
 * open only while its key exists: deleting it (`erase`) makes them unreadable everywhere they
 * were copied, which is how a fact is forgotten in an append-only log.
 */
export class RunKeys {
  constructor(
    private readonly kv: KV,
    private readonly env: string,
    private readonly masterKey: Buffer | undefined,
  ) {}

  /** The run's key, made on first use; `undefined` without a master key. */
  async keyFor(runId: string): Promise<Buffer | undefined> {
    const existing = await this.find(runId);
    if (existing !== undefined || this.masterKey === undefined) return existing;
    const key = randomBytes(32);
    const wrapped = sealValue(key.toString('base64'), this.masterKey, this.aad(runId));
    try {
      await this.kv.create(runId, JSON.stringify(wrapped));
      return key;
    } catch (error) {
      // Another replica made it first: use theirs.
      if (!isWrongLastSequence(error)) throw error;
      return this.find(runId);
    }
  }

  /** The run's key if it exists (and the master key opens it). */
  async find(runId: string): Promise<Buffer | undefined> {
    if (this.masterKey === undefined) return undefined;
    const entry = await this.kv.get(runId);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const opened = openValue(entry.json<SealedValue>(), this.masterKey, this.aad(runId));
    return opened === undefined ? undefined : Buffer.from(opened, 'base64');
  }

  /** Whether the run has a key (whether or not this executor's master key opens it). */
  async exists(runId: string): Promise<boolean> {
    const entry = await this.kv.get(runId);
    return entry !== null && entry.operation === 'PUT';
  }

  /**
   * Forgets the run's key: its sealed outputs can no longer be opened. A purge, not a delete, so
   * no earlier revision of the entry keeps the wrapped key in the bucket's history.
   */
  async erase(runId: string): Promise<void> {
    await this.kv.purge(runId);
  }

  private aad(runId: string): string {
    return `${this.env}:run-key:${runId}`;
  }
}
