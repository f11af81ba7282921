import type { Logger } from '@warden/telemetry';
import { ApprovalAnnouncer, type ApprovalPublisher } from './approval-announcer.js';
import type { ApprovalBook } from './approval-book.js';
import type { ApprovalRecord } from './approval-record.js';
import { isOverdue } from './approval-rules.js';

/** Options of {@link ApprovalSweeper}. */
export interface ApprovalSweeperOptions {
  readonly book: ApprovalBook;
  readonly publisher: ApprovalPublisher;
  readonly logger: Logger;
  /** Pause between the end of one sweep and the next (`POLICY_APPROVAL_SWEEP_MS`). */
  readonly intervalMs: number;
}

/** What one sweep did. */
export interface SweepReport {
  /** Pending approvals this sweep expired (and announced). */
  readonly expired: number;
  /** Answered or expired approvals whose events it published again. */
  readonly republished: number;
  /** Approvals it failed on (logged; tried again next sweep). */
  readonly failed: number;
}

/**
 * Expires pending approvals past their time (`approval.expired` + `intent.resolved{denied,
 * approval_expired}`) and publishes the events of final records still marked unpublished (a crash
 * between the compare-and-set and the publish). Every replica sweeps: the compare-and-set gives
 * each expiry one winner, and derived event ids make a second publish a duplicate.
 */
export class ApprovalSweeper {
  private readonly book: ApprovalBook;
  private readonly announcer: ApprovalAnnouncer;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(options: ApprovalSweeperOptions) {
    this.book = options.book;
    this.announcer = new ApprovalAnnouncer(options.book, options.publisher);
    this.logger = options.logger;
    this.intervalMs = options.intervalMs;
  }

  /** Sweeps now (a crash may have left events unpublished), then every interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops sweeping; resolves once a sweep in flight has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sweep over every approval. Never throws: failures are logged and counted. */
  async sweepOnce(): Promise<SweepReport> {
    let expired = 0;
    let republished = 0;
    let failed = 0;
    let records: ApprovalRecord[];
    try {
      records = await this.book.list({}, (error) => {
        failed++;
        this.logger.error(
          { err: error, approval_id: error.approvalId },
          'unreadable approval skipped',
        );
      });
    } catch (error) {
      this.logger.error({ err: error }, 'approval sweep could not list approvals');
      return { expired, republished, failed: failed + 1 };
    }
    const now = this.book.clock();
    for (const record of records) {
      try {
        if (isOverdue(record, now)) {
          const expiredRecord = await this.book.expireIfOverdue(record.approval_id);
          if (expiredRecord !== undefined) {
            await this.announcer.announce(expiredRecord);
            expired++;
            this.logger.info(fieldsOf(record), 'approval expired');
          }
        } else if (record.status !== 'pending' && !record.published) {
          await this.announcer.announce(record);
          republished++;
          this.logger.info(fieldsOf(record), 'approval events published again');
        }
      } catch (error) {
        failed++;
        this.logger.error(
          { err: error, ...fieldsOf(record) },
          'approval sweep failed on one approval',
        );
      }
    }
    return { expired, republished, failed };
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.sweepOnce()
        .then(() => undefined)
        .catch((error: unknown) => {
          this.logger.error({ err: error }, 'approval sweep failed');
        })
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.intervalMs);
        });
    }, delayMs);
    // The sweeper never keeps a process alive on its own.
    this.timer.unref();
  }
}

function fieldsOf(record: ApprovalRecord): Record<string, string | undefined> {
  return {
    approval_id: record.approval_id,
    intent_id: record.intent_id,
    run_id: record.run_id,
    status: record.status,
  };
}
