/**
 * The budget ledger: pure accounts and transitions for reservations and settlement (issue 6),
 * the limits they enforce, day keys and integer micro-USD arithmetic. No I/O: adapters store
 * accounts in KV and call these inside a compare-and-set loop.
 */
export {
  accountLimitOf,
  BudgetAccountSchema,
  DEFAULT_LEDGER_OPTIONS,
  newAccount,
  orderForReservation,
  reconcile,
  refusalOf,
  release,
  remainingOf,
  reserve,
  reserveAcross,
  RESERVATION_ORDER,
  rollBack,
  setLimit,
  settle,
  usedOf,
} from './budget-ledger.js';
export type {
  AccountLimit,
  AccountUpdater,
  Booked,
  BudgetAccount,
  ClosedIntent,
  ClosedOutcome,
  Cost,
  Dimension,
  LedgerOptions,
  MultiReserveResult,
  ReconciledIntent,
  ReconcileVerdict,
  ReleaseVerdict,
  Remaining,
  Reservation,
  ReserveVerdict,
  RollBackVerdict,
  SettleVerdict,
  Transition,
} from './budget-ledger.js';
export {
  agentDayKey,
  dayOf,
  nextDayStart,
  runAccountKey,
  scopeOfKey,
  UTC_DAY,
  workflowDayKey,
} from './day-key.js';
export type { AccountKey, DayBoundary, ScopeKind } from './day-key.js';
export { dailyLimitsOf, effectiveLimits, LIMIT_FIELDS, runLimitsOf } from './limits.js';
export type { ClampedLimit, EffectiveLimits, LimitField, ScopeLimits } from './limits.js';
