/** Approvals: the book (KV), the desk (API use cases) and the sweeper (expiry, republish). */
export {
  ApprovalBook,
  UnreadableApprovalError,
  type ApprovalBookOptions,
  type ApprovalFilter,
  type ApprovalNeed,
  type OpenResult,
} from './approval-book.js';
export { ApprovalAnnouncer, type ApprovalPublisher } from './approval-announcer.js';
export {
  ApprovalDesk,
  type ApprovalAnswerInput,
  type ApprovalDeskOptions,
  type ApprovalListQuery,
} from './approval-desk.js';
export { outcomeEvents } from './approval-events.js';
export { ApprovalRecord, viewOf, type ApprovalStatus, type RequestRef } from './approval-record.js';
export { approverOf, checkAnswer, isOverdue, type AnswerRefusalCode } from './approval-rules.js';
export {
  ApprovalSweeper,
  type ApprovalSweeperOptions,
  type SweepReport,
} from './approval-sweeper.js';
