import type { ExecutionRecord } from '../domain/execution-record.js';

/** Nest token of the {@link ExecutionStore}. */
export const EXECUTION_STORE = Symbol('tool-executor.execution-store');

/** A record and the revision it was read at (the compare-and-set handle). */
export interface StoredRecord {
  readonly record: ExecutionRecord;
  readonly revision: number;
}

/** What {@link ExecutionStore.create} did: claimed the intent, or found it claimed. */
export type CreateResult =
  | { readonly created: true; readonly revision: number }
  | { readonly created: false; readonly existing: StoredRecord };

/**
 * The port of the execution records `executions/<intent_id>` (DESIGN §5). Every write is a
 * compare-and-set, so of two replicas handling one intent exactly one claims it and exactly one
 * finishes each attempt.
 */
export interface ExecutionStore {
  /** Writes the first record of an intent, unless one exists: then returns that one instead. */
  create(intentId: string, record: ExecutionRecord): Promise<CreateResult>;
  /**
   * Replaces the record if it is still at `revision`; returns the new revision, or `undefined`
   * when somebody wrote it in between (read it again and decide again).
   */
  update(intentId: string, record: ExecutionRecord, revision: number): Promise<number | undefined>;
  get(intentId: string): Promise<StoredRecord | undefined>;
}
