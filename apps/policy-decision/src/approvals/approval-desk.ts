import type { ApprovalView } from '@warden/contracts';
import { ApiFailure } from '@warden/messaging';
import type { Logger } from '@warden/telemetry';
import type { HumanCaller } from '@warden/service';
import { ApprovalAnnouncer, type ApprovalPublisher } from './approval-announcer.js';
import type { ApprovalBook, ApprovalFilter } from './approval-book.js';
import { viewOf, type ApprovalRecord } from './approval-record.js';
import { checkAnswer, type AnswerCheck } from './approval-rules.js';

/** `approval-list`'s request (ApprovalListRequest). */
export type ApprovalListQuery = ApprovalFilter;

/** `approval-approve` / `approval-deny`'s request (ApprovalAnswerRequest). */
export interface ApprovalAnswerInput {
  readonly approval_id: string;
  readonly reason: string;
  readonly args_hash?: string | undefined;
}

/** Options of {@link ApprovalDesk}. */
export interface ApprovalDeskOptions {
  readonly book: ApprovalBook;
  /** The service's publisher (events no consumed event causes). */
  readonly publisher: ApprovalPublisher;
  readonly logger: Logger;
}

/**
 * The approval use cases behind the policy API, one method per op. Requests arrive validated and
 * the caller authenticated as an active human; the desk decides who may answer (group membership,
 * separation of duties) inside the compare-and-set, so two approvers racing get one winner.
 */
export class ApprovalDesk {
  private readonly book: ApprovalBook;
  private readonly announcer: ApprovalAnnouncer;
  private readonly logger: Logger;

  constructor(options: ApprovalDeskOptions) {
    this.book = options.book;
    this.announcer = new ApprovalAnnouncer(options.book, options.publisher);
    this.logger = options.logger;
  }

  /** `approval-list`: any human. */
  async list(
    request: ApprovalListQuery,
    _caller: HumanCaller,
  ): Promise<{ approvals: ApprovalView[] }> {
    const records = await this.book.list(request, (error) => {
      this.logger.error(
        { err: error, approval_id: error.approvalId },
        'unreadable approval skipped',
      );
    });
    return { approvals: records.map(viewOf) };
  }

  /** `approval-show`: any human. */
  async show(
    request: { approval_id: string },
    _caller: HumanCaller,
  ): Promise<{ approval: ApprovalView }> {
    const record = await this.book.get(request.approval_id);
    if (record === undefined)
      throw new ApiFailure('not_found', `no approval ${request.approval_id}`);
    return { approval: viewOf(record) };
  }

  /** `approval-approve`: a member of the approval's group; then `approval.granted`. */
  approve(request: ApprovalAnswerInput, caller: HumanCaller): Promise<{ approval: ApprovalView }> {
    return this.answer('granted', request, caller);
  }

  /** `approval-deny`: a member of the group; then `approval.denied` and `intent.resolved{denied}`. */
  deny(request: ApprovalAnswerInput, caller: HumanCaller): Promise<{ approval: ApprovalView }> {
    return this.answer('denied', request, caller);
  }

  private async answer(
    decision: 'granted' | 'denied',
    request: ApprovalAnswerInput,
    caller: HumanCaller,
  ): Promise<{ approval: ApprovalView }> {
    const now = this.book.clock();
    const answer = {
      decision,
      human_id: caller.human_id,
      roles: caller.roles,
      reason: request.reason,
      args_hash: request.args_hash,
    };
    // Decided on the value the write replaces: the check of the round that wrote (or refused) last.
    const last: { check?: AnswerCheck } = {};
    const { record, written } = await this.book.transition(request.approval_id, (current) => {
      const check = checkAnswer(current, answer, request.approval_id, now);
      last.check = check;
      return check.kind === 'refuse' ? undefined : check.next;
    });
    const { check } = last;
    if (check === undefined) throw new Error('compare-and-set never ran its decision');
    switch (check.kind) {
      case 'refuse':
        throw new ApiFailure(check.code, check.message);
      case 'expire':
        if (written && record !== undefined) await this.announceNow(record);
        throw new ApiFailure('approval_expired', check.message);
      case 'answer':
        if (record === undefined) throw new Error(`approval ${request.approval_id} vanished`);
        this.logger.info(
          {
            approval_id: record.approval_id,
            intent_id: record.intent_id,
            run_id: record.run_id,
            decision,
            approver: record.answered_by,
          },
          `approval ${decision}`,
        );
        await this.announceNow(record);
        return { approval: viewOf(record) };
    }
  }

  /**
   * The answer is recorded: a failed publish does not undo it, and is not the approver's to retry
   * (they would be told it is already answered). The sweeper publishes the events again.
   */
  private async announceNow(record: ApprovalRecord): Promise<void> {
    try {
      await this.announcer.announce(record);
    } catch (error) {
      this.logger.warn(
        {
          err: error,
          approval_id: record.approval_id,
          intent_id: record.intent_id,
          run_id: record.run_id,
        },
        'approval events not published yet; the sweeper will publish them',
      );
    }
  }
}
