import type { ExecutionRecord } from '../domain/execution-record.js';
import type { CreateResult, ExecutionStore, StoredRecord } from './execution-store.js';

/**
 * Execution records in a `Map`, with the same compare-and-set rules as the KV store: for unit
 * tests of the execution protocol, and a single process that needs no NATS KV.
 */
export class MemoryExecutionStore implements ExecutionStore {
  private readonly records = new Map<string, StoredRecord>();
  private sequence = 0;

  get(intentId: string): Promise<StoredRecord | undefined> {
    return Promise.resolve(this.records.get(intentId));
  }

  create(intentId: string, record: ExecutionRecord): Promise<CreateResult> {
    const existing = this.records.get(intentId);
    if (existing !== undefined) return Promise.resolve({ created: false, existing });
    return Promise.resolve({ created: true, revision: this.write(intentId, record) });
  }

  update(intentId: string, record: ExecutionRecord, revision: number): Promise<number | undefined> {
    if (this.records.get(intentId)?.revision !== revision) return Promise.resolve(undefined);
    return Promise.resolve(this.write(intentId, record));
  }

  private write(intentId: string, record: ExecutionRecord): number {
    const revision = ++this.sequence;
    // A copy, as KV would store bytes: later changes to the caller's object are not the record's.
    this.records.set(intentId, { record: structuredClone(record), revision });
    return revision;
  }
}
