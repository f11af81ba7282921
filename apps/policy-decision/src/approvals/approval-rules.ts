import { formatMicros } from '@warden/contracts';
import { timestampMs, type ApprovalRecord } from './approval-record.js';

/*
 * Pure rules of answering an approval: who may, when, and what the record becomes. The desk runs
 * them inside a compare-and-set, against the value it is about to replace, so a decision is never
 * taken on a stale read.
 */

/** Why an answer is refused; the same strings are the API's error codes. */
export type AnswerRefusalCode =
  'not_found' | 'forbidden' | 'approval_expired' | 'already_answered' | 'args_mismatch';

/** A human answering: the verified caller and what they sent. */
export interface Answer {
  readonly decision: 'granted' | 'denied';
  readonly human_id: string;
  readonly roles: readonly string[];
  readonly reason: string;
  /** The args hash the approver checked, when they gave it. */
  readonly args_hash?: string | undefined;
}

/** What {@link checkAnswer} concluded. */
export type AnswerCheck =
  | { readonly kind: 'answer'; readonly next: ApprovalRecord }
  | { readonly kind: 'refuse'; readonly code: AnswerRefusalCode; readonly message: string }
  /** Past its expiry but not yet swept: expire it now, and refuse with `approval_expired`. */
  | { readonly kind: 'expire'; readonly next: ApprovalRecord; readonly message: string };

/** The actor string an approver is recorded as. */
export function approverOf(humanId: string): string {
  return `human:${humanId}`;
}

/** Whether a pending approval's time is up at `nowMs` (epoch ms). */
export function isOverdue(record: ApprovalRecord, nowMs: number): boolean {
  return record.status === 'pending' && nowMs >= timestampMs(record.expires_at);
}

/** The record once expired; its events are still to be published. */
export function expiredRecord(record: ApprovalRecord): ApprovalRecord {
  return { ...record, status: 'expired', published: false };
}

/**
 * Decides an answer against the current record. The order matters: the approval's state is public
 * (anyone may `show` it), so a stale request learns that first; then who may answer; then whether
 * the approver saw these args.
 */
export function checkAnswer(
  record: ApprovalRecord | undefined,
  answer: Answer,
  approvalId: string,
  nowMs: number,
): AnswerCheck {
  if (record === undefined) {
    return refuse('not_found', `no approval ${approvalId}`);
  }
  switch (record.status) {
    case 'granted':
    case 'denied':
      return refuse(
        'already_answered',
        `approval ${record.approval_id} was already ${record.status} by ${record.answered_by ?? 'someone'}` +
          (record.answered_at === undefined ? '' : ` at ${record.answered_at}`) +
          (record.comment === undefined ? '' : `: ${record.comment}`),
      );
    case 'expired':
      return refuse('approval_expired', expiredMessage(record));
    case 'pending':
      break;
  }
  if (isOverdue(record, nowMs)) {
    return { kind: 'expire', next: expiredRecord(record), message: expiredMessage(record) };
  }
  if (!answer.roles.includes(record.group)) {
    return refuse(
      'forbidden',
      `human ${answer.human_id} is not a member of ${record.group}, whose approval this needs`,
    );
  }
  if (record.separation_of_duties && isOwner(record.owner, answer.human_id)) {
    return refuse(
      'forbidden',
      `separation of duties: human ${answer.human_id} owns agent ${record.agent_id} and may not answer its approvals`,
    );
  }
  if (answer.args_hash !== undefined && answer.args_hash !== record.args_hash) {
    return refuse(
      'args_mismatch',
      `approval ${record.approval_id} is for args ${record.args_hash}, not ${answer.args_hash}: show it again and check the args`,
    );
  }
  return {
    kind: 'answer',
    next: {
      ...record,
      status: answer.decision,
      answered_by: approverOf(answer.human_id),
      answered_at: formatMicros(nowMs * 1000),
      comment: answer.reason,
      published: false,
    },
  };
}

/** Owners are human ids (`alice`); an owner recorded as an actor (`human:alice`) is the same human. */
function isOwner(owner: string | undefined, humanId: string): boolean {
  return owner !== undefined && (owner === humanId || owner === approverOf(humanId));
}

function refuse(code: AnswerRefusalCode, message: string): AnswerCheck {
  return { kind: 'refuse', code, message };
}

function expiredMessage(record: ApprovalRecord): string {
  return `approval ${record.approval_id} expired at ${record.expires_at}; the intent was denied`;
}
