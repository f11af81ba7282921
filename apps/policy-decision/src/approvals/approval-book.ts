import type { KV } from '@nats-io/kv';
import {
  deriveEventId,
  formatMicros,
  type ApprovalView,
  type DataOf,
  type Envelope,
} from '@warden/contracts';
import { casUpdate, type CasOptions } from '@warden/messaging';
import {
  parseRecord,
  viewOf,
  type ApprovalRecord,
  type ApprovalStatus,
} from './approval-record.js';
import { expiredRecord, isOverdue } from './approval-rules.js';

/** What an `approval_required` decision of an `intent.authenticated` event needs approved. */
export interface ApprovalNeed {
  readonly cause: Envelope<'intent.authenticated'>;
  readonly tool: string;
  readonly toolVersion?: number | undefined;
  readonly costMicroUsd?: number | undefined;
  readonly args: DataOf<'approval.requested'>['args'];
  readonly argsHash: string;
  readonly step: number;
  readonly group: string;
  readonly separationOfDuties: boolean;
  readonly owner?: string | undefined;
  readonly policyIds: readonly string[];
  readonly policyVersion: number;
}

/** What {@link ApprovalBook.open} did. */
export type OpenResult =
  | {
      /**
       * `opened`: a new pending approval. `existing`: the intent was seen before with the same
       * args (a redelivery); the record is returned unchanged and may no longer be pending.
       */
      readonly outcome: 'opened' | 'existing';
      /** The `approval.requested` data to publish, caused by the `intent.authenticated` event. */
      readonly data: DataOf<'approval.requested'>;
      readonly approval: ApprovalView;
    }
  | {
      /** The intent id already has an approval for other args: reject the intent. */
      readonly outcome: 'conflict';
      readonly approval: ApprovalView;
      readonly message: string;
    };

/** A filter of {@link ApprovalBook.list}. */
export interface ApprovalFilter {
  readonly status?: ApprovalStatus | undefined;
  readonly group?: string | undefined;
}

/** Options of {@link ApprovalBook}. */
export interface ApprovalBookOptions {
  /** How long a request waits for an answer (`POLICY_APPROVAL_TTL_SECONDS`). */
  readonly ttlSeconds: number;
  /** Epoch milliseconds; the one clock of approvals (the desk and the sweeper read it here). */
  readonly clock?: () => number;
  readonly cas?: CasOptions;
}

/** A record the book could not read: reported, never taken for an approval. */
export class UnreadableApprovalError extends Error {
  override readonly name = 'UnreadableApprovalError';
  constructor(
    readonly approvalId: string,
    detail: string,
  ) {
    super(`stored approval ${approvalId} is unreadable: ${detail}`);
  }
}

const decoder = new TextDecoder();
const LIST_READ_WINDOW = 64;

/**
 * KV `approvals`, key = approval_id: every approval and its status. Every write is a
 * compare-and-set against the revision read, so of an approve, a deny and an expiry racing across
 * replicas exactly one wins, and the others see the winner's record.
 */
export class ApprovalBook {
  readonly clock: () => number;
  private readonly ttlMs: number;

  constructor(
    readonly kv: KV,
    private readonly options: ApprovalBookOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.ttlMs = options.ttlSeconds * 1000;
  }

  /** The approval id of an intent: derived, so a redelivered intent finds its record. */
  static approvalIdOf(intentId: string): string {
    return deriveEventId(intentId, 'approval');
  }

  /**
   * Opens the approval an intent needs: a new pending record expiring after the ttl, or the one
   * already there when the intent is seen again with the same args hash. The caller publishes
   * `approval.requested` with `data` and `cause` = `need.cause`, without a discriminator: the
   * record's answer events derive their ids from that envelope's id.
   *
   * @throws Error when the cause has no intent or agent id (every intent has both).
   */
  async open(need: ApprovalNeed): Promise<OpenResult> {
    const { cause } = need;
    const intentId = cause.intent_id;
    const agentId = cause.agent_id;
    if (intentId === undefined || agentId === undefined) {
      throw new Error(`intent.authenticated ${cause.event_id} has no intent_id or agent_id`);
    }
    const approvalId = ApprovalBook.approvalIdOf(intentId);
    const fresh = (): ApprovalRecord => {
      const now = this.clock();
      return {
        approval_id: approvalId,
        status: 'pending',
        intent_id: intentId,
        agent_id: agentId,
        ...(cause.run_id === undefined ? {} : { run_id: cause.run_id }),
        tool: need.tool,
        ...(need.toolVersion === undefined ? {} : { tool_version: need.toolVersion }),
        ...(need.costMicroUsd === undefined ? {} : { cost_micro_usd: need.costMicroUsd }),
        args: need.args,
        args_hash: need.argsHash,
        step: need.step,
        group: need.group,
        separation_of_duties: need.separationOfDuties,
        ...(need.owner === undefined ? {} : { owner: need.owner }),
        policy_ids: [...need.policyIds],
        policy_version: need.policyVersion,
        requested_at: formatMicros(now * 1000),
        expires_at: formatMicros((now + this.ttlMs) * 1000),
        // Exactly the ids and context buildEvent gives the approval.requested the caller publishes.
        request: {
          event_id: deriveEventId(cause.event_id, 'approval.requested'),
          env: cause.env,
          causation_id: cause.event_id,
          correlation_id: cause.run_id ?? cause.correlation_id,
          intent_id: intentId,
          agent_id: agentId,
          ...(cause.run_id === undefined ? {} : { run_id: cause.run_id }),
          ...(cause.workflow === undefined ? {} : { workflow: cause.workflow }),
        },
        published: false,
      };
    };
    const result = await casUpdate<unknown>(
      this.kv,
      approvalId,
      (current) => (current === undefined ? fresh() : undefined),
      this.options.cas,
    );
    // Either this call wrote it or it was there: the value is never absent here.
    const record = this.read(approvalId, result.value);
    if (!result.written && record.args_hash !== need.argsHash) {
      return {
        outcome: 'conflict',
        approval: viewOf(record),
        message: `intent ${intentId} already asked approval for args ${record.args_hash}; the same intent id with other args (${need.argsHash}) is refused`,
      };
    }
    return {
      outcome: result.written ? 'opened' : 'existing',
      data: requestedData(record),
      approval: viewOf(record),
    };
  }

  /** One approval, or `undefined` when there is none. */
  async get(approvalId: string): Promise<ApprovalRecord | undefined> {
    const entry = await this.kv.get(approvalId);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(entry.value));
    } catch (error) {
      throw new UnreadableApprovalError(approvalId, `not JSON (${String(error)})`);
    }
    return this.read(approvalId, value);
  }

  /**
   * Every approval matching `filter`, oldest request first. Unreadable records are passed to
   * `onUnreadable` (default: skipped) so one bad value never hides the others.
   */
  async list(
    filter: ApprovalFilter = {},
    onUnreadable: (error: UnreadableApprovalError) => void = () => undefined,
  ): Promise<ApprovalRecord[]> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys()) keys.push(key);
    const records: ApprovalRecord[] = [];
    const readOne = async (key: string): Promise<void> => {
      let record: ApprovalRecord | undefined;
      try {
        record = await this.get(key);
      } catch (error) {
        if (!(error instanceof UnreadableApprovalError)) throw error;
        onUnreadable(error);
      }
      if (record === undefined) return;
      if (filter.status !== undefined && record.status !== filter.status) return;
      if (filter.group !== undefined && record.group !== filter.group) return;
      records.push(record);
    };
    // One round trip per key: a bounded number in flight rather than one after another.
    for (let start = 0; start < keys.length; start += LIST_READ_WINDOW) {
      await Promise.all(keys.slice(start, start + LIST_READ_WINDOW).map(readOne));
    }
    return records.sort(
      (a, b) =>
        a.requested_at.localeCompare(b.requested_at) || a.approval_id.localeCompare(b.approval_id),
    );
  }

  /**
   * Compare-and-set of one approval: `decide` sees the current record (`undefined`: none) and
   * returns the next one, or `undefined` to leave it. It may run several times, on fresh reads,
   * when other writers win: keep it pure.
   *
   * @returns the record now stored and whether this call wrote it.
   */
  async transition(
    approvalId: string,
    decide: (current: ApprovalRecord | undefined) => ApprovalRecord | undefined,
  ): Promise<{ record: ApprovalRecord | undefined; written: boolean }> {
    const result = await casUpdate<unknown>(
      this.kv,
      approvalId,
      (current) => decide(current === undefined ? undefined : this.read(approvalId, current)),
      this.options.cas,
    );
    const record = result.value === undefined ? undefined : this.read(approvalId, result.value);
    return { record, written: result.written };
  }

  /** Expires a pending approval past its time; `undefined` if it was not (or another replica did). */
  async expireIfOverdue(approvalId: string): Promise<ApprovalRecord | undefined> {
    const now = this.clock();
    const { record, written } = await this.transition(approvalId, (current) =>
      current !== undefined && isOverdue(current, now) ? expiredRecord(current) : undefined,
    );
    return written ? record : undefined;
  }

  /** Notes that the events of the record's final status are on the stream. */
  async markPublished(record: ApprovalRecord): Promise<void> {
    await this.transition(record.approval_id, (current) =>
      current !== undefined && !current.published && current.status === record.status
        ? { ...current, published: true }
        : undefined,
    );
  }

  private read(approvalId: string, value: unknown): ApprovalRecord {
    const parsed = parseRecord(value);
    if ('error' in parsed) throw new UnreadableApprovalError(approvalId, parsed.error);
    return parsed;
  }
}

/** The `approval.requested` data of a record. */
function requestedData(record: ApprovalRecord): DataOf<'approval.requested'> {
  return {
    approval_id: record.approval_id,
    tool: record.tool,
    ...(record.tool_version === undefined ? {} : { tool_version: record.tool_version }),
    args: record.args,
    args_hash: record.args_hash,
    step: record.step,
    group: record.group,
    separation_of_duties: record.separation_of_duties,
    ...(record.owner === undefined ? {} : { owner: record.owner }),
    policy_ids: record.policy_ids,
    policy_version: record.policy_version,
    expires_at: record.expires_at,
    ...(record.cost_micro_usd === undefined ? {} : { cost_micro_usd: record.cost_micro_usd }),
  };
}
