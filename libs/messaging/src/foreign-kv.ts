import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { kvBucketName } from './provision.js';

/**
 * A KV bucket another service owns and this one only reads (the governor reading the identity
 * broker's `agents`, the executor reading the policy service's `tools`). It is opened, never
 * created: a reader may not have the right to create it (scoped NATS credentials grant it reads
 * only), and creating it would fix its settings before its owner does. So it is opened on first
 * use, and again after a failure, which covers a reader that starts before the owner.
 */
export class ForeignKv {
  private kv: KV | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly env: string,
    private readonly name: string,
  ) {}

  /**
   * The entry at `key`, or `null` when it is absent, deleted, or the bucket does not exist yet.
   * Other failures (NATS down) throw, so the caller's event is retried rather than decided on a
   * value that could not be read.
   */
  async get(key: string): Promise<KvEntry | null> {
    let kv: KV;
    try {
      kv = this.kv ?? (await new Kvm(this.nc).open(kvBucketName(this.env, this.name)));
    } catch (error) {
      if (isMissingStream(error)) return null;
      throw error;
    }
    try {
      const entry = await kv.get(key);
      this.kv = kv;
      return entry === null || entry.operation !== 'PUT' ? null : entry;
    } catch (error) {
      this.kv = undefined;
      if (isMissingStream(error)) return null;
      throw error;
    }
  }
}

function isMissingStream(error: unknown): boolean {
  return error instanceof Error && /stream not found/i.test(error.message);
}
