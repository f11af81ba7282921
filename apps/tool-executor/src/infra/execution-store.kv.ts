import type { KV } from '@nats-io/kv';
import { ExecutionRecord } from '../domain/execution-record.js';
import type { CreateResult, ExecutionStore, StoredRecord } from './execution-store.js';

const encoder = new TextEncoder();

/**
 * Execution records in the env's NATS KV bucket `executions` (`warden_<env>_executions`), one key
 * per intent id, written with `create` (fails if the key exists) and `update` on the revision read.
 *
 * A failed write is told apart from a lost race by reading the key again rather than by
 * JetStream's error codes: if the key is there (at another revision), somebody else wrote it.
 * That also covers a write whose acknowledgement was lost: the record read back is then this
 * replica's own, and the caller decides on it like on anyone's.
 */
export class KvExecutionStore implements ExecutionStore {
  constructor(private readonly kv: KV) {}

  async get(intentId: string): Promise<StoredRecord | undefined> {
    const entry = await this.kv.get(intentId);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return { record: ExecutionRecord.parse(entry.json<unknown>()), revision: entry.revision };
  }

  async create(intentId: string, record: ExecutionRecord): Promise<CreateResult> {
    try {
      return { created: true, revision: await this.kv.create(intentId, encode(record)) };
    } catch (error) {
      const existing = await this.get(intentId);
      if (existing === undefined) throw error;
      return { created: false, existing };
    }
  }

  async update(
    intentId: string,
    record: ExecutionRecord,
    revision: number,
  ): Promise<number | undefined> {
    try {
      return await this.kv.update(intentId, encode(record), revision);
    } catch (error) {
      const current = await this.kv.get(intentId);
      if (current !== null && current.revision !== revision) return undefined;
      throw error;
    }
  }
}

function encode(record: ExecutionRecord): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}
