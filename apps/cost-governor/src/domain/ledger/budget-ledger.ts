import { z } from 'zod';
import { type AccountKey, scopeOfKey, type ScopeKind } from './day-key.js';
import type { ScopeLimits } from './limits.js';
import { addExact, assertNonNegativeSafeInteger, assertSafeInteger } from '../money.js';

/**
 * A budget account: one per scope key (`run.<id>`, `agent.<id>.<day>`, `workflow.<id>.<day>`),
 * stored as one KV value and changed only through the pure transitions below, each returning
 * `{ next, verdict }` for a compare-and-set loop (`casUpdate` may call them several times on
 * newer values; they have no side effects). `next` is `undefined` when nothing changes, so a
 * redelivered event writes nothing and gets the answer it got the first time.
 *
 * The invariant `reserve` keeps: booked + open reservations ≤ limit, per dimension (micro-USD and
 * tokens). Only `settle` may break it, when a call cost more than was reserved: that money was
 * spent, so it is booked anyway, and from then on every `reserve` is refused.
 *
 * Times are epoch milliseconds passed in by the caller: the ledger never reads a clock.
 */

/** A cost: micro-USD, and tokens when the call is a model call. */
export interface Cost {
  readonly micro_usd: number;
  readonly tokens?: number | undefined;
}

/** An account's limit per dimension; an absent dimension is unlimited. */
export interface AccountLimit {
  readonly micro_usd?: number | undefined;
  readonly tokens?: number | undefined;
}

/** An open reservation: held from `reserve` until `settle`, `release`, `rollBack` or `reconcile`. */
export interface Reservation {
  readonly micro_usd: number;
  readonly tokens?: number | undefined;
  /** When it was reserved (epoch ms), for `reconcile`. */
  readonly reserved_at: number;
}

/**
 * How an intent left the open reservations, kept so that later deliveries about it stay
 * idempotent: `settled` (actual cost booked), `reconciled` (never settled; the reservation was
 * booked by `reconcile`), `released` (will not execute; nothing booked).
 */
export type ClosedOutcome = 'settled' | 'reconciled' | 'released';

/** An intent recently closed on this account. */
export interface ClosedIntent {
  readonly id: string;
  readonly outcome: ClosedOutcome;
  /** What this intent contributed to `booked` (0 when released). */
  readonly micro_usd: number;
  readonly tokens: number;
  /** When it was closed (epoch ms): the clock of its retention. */
  readonly at: number;
  /** Why a released intent was refused (`run_budget`, `paused`, …): its answer on redelivery. */
  readonly reason?: string;
}

/** Booked (settled) spend of an account. */
export interface Booked {
  readonly micro_usd: number;
  readonly tokens: number;
}

/** One scope's budget account, as stored (plain JSON). */
export interface BudgetAccount {
  readonly limit: AccountLimit;
  readonly booked: Booked;
  /** Open reservations by intent id. Read with `Object.hasOwn`: an id is data, not a property. */
  readonly open: Readonly<Record<string, Reservation>>;
  /** Recently closed intents, oldest first, bounded by {@link LedgerOptions}. */
  readonly closed: readonly ClosedIntent[];
}

const Amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The schema of a stored {@link BudgetAccount}, for adapters that read it back from KV. */
export const BudgetAccountSchema = z.strictObject({
  limit: z.strictObject({ micro_usd: Amount.optional(), tokens: Amount.optional() }),
  // Booked may not go below zero, but a corrupted value is better caught here than summed.
  booked: z.strictObject({ micro_usd: Amount, tokens: Amount }),
  open: z.record(
    z.string().min(1),
    z.strictObject({ micro_usd: Amount, tokens: Amount.optional(), reserved_at: z.number().int() }),
  ),
  closed: z.array(
    z.strictObject({
      id: z.string().min(1),
      outcome: z.enum(['settled', 'reconciled', 'released']),
      micro_usd: Amount,
      tokens: Amount,
      at: z.number().int(),
      reason: z.string().optional(),
    }),
  ),
});

/**
 * How long closed intents are remembered. Both bounds apply; whichever drops more wins.
 *
 * - `closedRetentionMs`: an entry younger than this is kept (unless `maxClosed` forces it out).
 *   It must exceed the longest time a duplicate can still arrive: JetStream redelivery
 *   (AckWait × MaxDeliver), the stream's duplicate window, and a late result after `reconcile`.
 *   A duplicate arriving after its entry is dropped is treated as new: a `settle` would be booked
 *   again. That is why the default is hours, not minutes.
 * - `maxClosed`: a hard cap on entries, because the whole account is rewritten on every
 *   reservation (the cost of a CAS write grows with it) and a KV value is at most the server's
 *   max payload (1 MiB by default; an entry is about 100 bytes as JSON). A run account never
 *   reaches it (its steps are capped); a busy agent-day account can, and then its oldest entries
 *   go first.
 */
export interface LedgerOptions {
  readonly closedRetentionMs: number;
  readonly maxClosed: number;
}

/** Six hours of memory, at most 2,000 entries (about 200 KB of JSON). */
export const DEFAULT_LEDGER_OPTIONS: LedgerOptions = {
  closedRetentionMs: 6 * 60 * 60 * 1000,
  maxClosed: 2000,
};

/** A new account value, or `undefined` when nothing changes, and the answer. */
export interface Transition<V> {
  readonly next: BudgetAccount | undefined;
  readonly verdict: V;
}

/** What is left under the limit per dimension (never negative); absent: unlimited. */
export interface Remaining {
  readonly micro_usd?: number | undefined;
  readonly tokens?: number | undefined;
}

/** A dimension of a budget. */
export type Dimension = 'micro_usd' | 'tokens';

/** The answer of {@link reserve}. */
export type ReserveVerdict =
  /** Reserved now (`next` holds it). */
  | { readonly kind: 'reserved'; readonly reservation: Reservation; readonly remaining: Remaining }
  /** Reserved by an earlier delivery of the same intent: the same answer, nothing written. */
  | {
      readonly kind: 'already_reserved';
      readonly reservation: Reservation;
      readonly remaining: Remaining;
    }
  /** It does not fit: nothing written. `dimension` is the first one that does not fit. */
  | { readonly kind: 'exceeded'; readonly dimension: Dimension; readonly remaining: Remaining }
  /** The intent was already settled, reconciled or released here: nothing written. */
  | { readonly kind: 'already_closed'; readonly outcome: ClosedOutcome };

/** The answer of {@link settle}. */
export type SettleVerdict =
  /**
   * Booked now. `reserved` is what had been reserved (`undefined`: nothing was open, e.g. the
   * intent had been released or its entry had expired; booked anyway, it happened).
   */
  | {
      readonly kind: 'settled';
      readonly reserved: Cost | undefined;
      readonly actual: Cost;
      readonly booked: Booked;
    }
  /** A reconciled intent's actual cost arrived late: the booking was corrected to it. */
  | {
      readonly kind: 'corrected';
      readonly previous: Cost;
      readonly actual: Cost;
      readonly booked: Booked;
    }
  /** Settled before: the first actual stands, nothing written. */
  | { readonly kind: 'already_settled'; readonly actual: Cost; readonly booked: Booked };

/** The answer of {@link release}. */
export type ReleaseVerdict =
  /** Released now; `reservation` is what was freed (`undefined`: none was open, tombstone only). */
  | { readonly kind: 'released'; readonly reservation: Reservation | undefined }
  /** It had been reconciled (booked at its reservation): the booking was refunded. */
  | { readonly kind: 'refunded'; readonly previous: Cost }
  /** Released or settled before: nothing written (a cost once settled stands). */
  | { readonly kind: 'already_closed'; readonly outcome: 'settled' | 'released' };

/** The answer of {@link rollBack}. */
export type RollBackVerdict =
  | { readonly kind: 'rolled_back'; readonly reservation: Reservation }
  | { readonly kind: 'not_open' };

/** An intent that `reconcile` closed, with what it booked. */
export interface ReconciledIntent {
  readonly intentId: string;
  readonly reservation: Reservation;
}

/** The answer of {@link reconcile}. */
export interface ReconcileVerdict {
  readonly reconciled: readonly ReconciledIntent[];
  readonly booked: Booked;
}

/** The account limit a scope's limits give (steps and wall-clock are kept elsewhere). */
export function accountLimitOf(limits: ScopeLimits): AccountLimit {
  return {
    ...(limits.budget_micro_usd === undefined ? {} : { micro_usd: limits.budget_micro_usd }),
    ...(limits.max_tokens === undefined ? {} : { tokens: limits.max_tokens }),
  };
}

/** A new, empty account with `limit`. */
export function newAccount(limit: AccountLimit): BudgetAccount {
  assertLimit(limit);
  return { limit: { ...limit }, booked: { micro_usd: 0, tokens: 0 }, open: {}, closed: [] };
}

/**
 * Sets the account's limit (an operator's `budgets set`, a run's declared limits). Reservations
 * already held stay held; a lower limit only refuses later ones. `undefined` when unchanged.
 */
export function setLimit(account: BudgetAccount, limit: AccountLimit): BudgetAccount | undefined {
  assertLimit(limit);
  if (limit.micro_usd === account.limit.micro_usd && limit.tokens === account.limit.tokens) {
    return undefined;
  }
  return {
    ...account,
    limit: {
      ...(limit.micro_usd === undefined ? {} : { micro_usd: limit.micro_usd }),
      ...(limit.tokens === undefined ? {} : { tokens: limit.tokens }),
    },
  };
}

/** Booked spend plus open reservations, per dimension. */
export function usedOf(account: BudgetAccount): Booked {
  let microUsd = account.booked.micro_usd;
  let tokens = account.booked.tokens;
  for (const reservation of Object.values(account.open)) {
    microUsd = addExact(microUsd, reservation.micro_usd);
    tokens = addExact(tokens, reservation.tokens ?? 0);
  }
  return { micro_usd: microUsd, tokens };
}

/** What is left to reserve, per limited dimension (0 once overspent). */
export function remainingOf(account: BudgetAccount): Remaining {
  const used = usedOf(account);
  const { micro_usd: microUsd, tokens } = account.limit;
  return {
    ...(microUsd === undefined ? {} : { micro_usd: Math.max(0, microUsd - used.micro_usd) }),
    ...(tokens === undefined ? {} : { tokens: Math.max(0, tokens - used.tokens) }),
  };
}

/**
 * Reserves `cost` for `intentId` if booked + open + cost stays within the limit in every
 * dimension. A redelivered intent gets `already_reserved` (or `already_closed`) and nothing is
 * written, so it is never reserved twice. An overspent account (only `settle` can overspend)
 * refuses every reservation, even a free one.
 *
 * @throws RangeError on a malformed cost, intent id or time.
 */
export function reserve(
  account: BudgetAccount,
  intentId: string,
  cost: Cost,
  now: number,
  options: LedgerOptions = DEFAULT_LEDGER_OPTIONS,
): Transition<ReserveVerdict> {
  assertIntentId(intentId);
  assertCost(cost);
  assertSafeInteger(now, 'now');
  const held = openOf(account, intentId);
  if (held !== undefined) {
    return {
      next: undefined,
      verdict: { kind: 'already_reserved', reservation: held, remaining: remainingOf(account) },
    };
  }
  const closed = closedOf(account, intentId);
  if (closed !== undefined) {
    return { next: undefined, verdict: { kind: 'already_closed', outcome: closed.outcome } };
  }
  const used = usedOf(account);
  const dimension = overLimit(account.limit, used, cost);
  if (dimension !== undefined) {
    return {
      next: undefined,
      verdict: { kind: 'exceeded', dimension, remaining: remainingOf(account) },
    };
  }
  const reservation: Reservation = {
    micro_usd: cost.micro_usd,
    ...(cost.tokens === undefined ? {} : { tokens: cost.tokens }),
    reserved_at: now,
  };
  const next: BudgetAccount = {
    ...account,
    open: { ...account.open, [intentId]: reservation },
    closed: prune(account.closed, now, options),
  };
  return { next, verdict: { kind: 'reserved', reservation, remaining: remainingOf(next) } };
}

/**
 * Books the actual cost of `intentId` and frees its reservation. The actual may exceed the
 * reservation: it is booked anyway (the money was spent) and the account may end up over its
 * limit, which refuses every later reservation. Idempotent: a second settlement of the same
 * intent books nothing and answers with the first actual.
 *
 * Not open here: after `reconcile` the booking is corrected to the actual (`corrected`); after
 * `release`, or unknown (never reserved, or its entry expired), the actual is booked as
 * unreserved spend (`settled` with `reserved: undefined`).
 *
 * @throws RangeError on a malformed cost, intent id or time, or a total beyond 2^53.
 */
export function settle(
  account: BudgetAccount,
  intentId: string,
  actual: Cost,
  now: number,
  options: LedgerOptions = DEFAULT_LEDGER_OPTIONS,
): Transition<SettleVerdict> {
  assertIntentId(intentId);
  assertCost(actual);
  assertSafeInteger(now, 'now');
  const actualTokens = actual.tokens ?? 0;
  const entry: ClosedIntent = {
    id: intentId,
    outcome: 'settled',
    micro_usd: actual.micro_usd,
    tokens: actualTokens,
    at: now,
  };
  const held = openOf(account, intentId);
  const closed = closedOf(account, intentId);
  if (held === undefined && closed?.outcome === 'settled') {
    return {
      next: undefined,
      verdict: {
        kind: 'already_settled',
        actual: { micro_usd: closed.micro_usd, tokens: closed.tokens },
        booked: account.booked,
      },
    };
  }
  if (held === undefined && closed?.outcome === 'reconciled') {
    // Replace the reconciled booking by the actual: subtract what reconcile booked, add the
    // actual. Both are in `booked`, so it cannot go below zero.
    const booked = {
      micro_usd: addExact(account.booked.micro_usd - closed.micro_usd, actual.micro_usd),
      tokens: addExact(account.booked.tokens - closed.tokens, actualTokens),
    };
    const next = {
      ...account,
      booked,
      closed: prune(replaceClosed(account.closed, entry), now, options),
    };
    return {
      next,
      verdict: {
        kind: 'corrected',
        previous: { micro_usd: closed.micro_usd, tokens: closed.tokens },
        actual,
        booked,
      },
    };
  }
  const booked = {
    micro_usd: addExact(account.booked.micro_usd, actual.micro_usd),
    tokens: addExact(account.booked.tokens, actualTokens),
  };
  const next: BudgetAccount = {
    ...account,
    booked,
    open: withoutOpen(account.open, intentId),
    closed: prune(replaceClosed(account.closed, entry), now, options),
  };
  const reserved =
    held === undefined
      ? undefined
      : {
          micro_usd: held.micro_usd,
          ...(held.tokens === undefined ? {} : { tokens: held.tokens }),
        };
  return { next, verdict: { kind: 'settled', reserved, actual, booked } };
}

/**
 * Frees the reservation of an intent that will not execute (denied, rejected, or failed before
 * execution) and remembers it as released, so a late redelivery of the decision cannot reserve
 * it again (and leave a reservation for `reconcile` to book). Releasing an intent never reserved
 * here writes that tombstone too. A reconciled intent is refunded: it is now known not to have
 * run. A settled one stays settled: its cost was observed.
 *
 * @throws RangeError on a malformed intent id or time.
 */
export function release(
  account: BudgetAccount,
  intentId: string,
  now: number,
  options: LedgerOptions = DEFAULT_LEDGER_OPTIONS,
  /** Why it will not execute, kept as its answer for later deliveries (see {@link refusalOf}). */
  reason?: string,
): Transition<ReleaseVerdict> {
  assertIntentId(intentId);
  assertSafeInteger(now, 'now');
  const held = openOf(account, intentId);
  const closed = closedOf(account, intentId);
  const entry: ClosedIntent = {
    id: intentId,
    outcome: 'released',
    micro_usd: 0,
    tokens: 0,
    at: now,
    ...(reason === undefined ? {} : { reason }),
  };
  if (held === undefined && closed !== undefined) {
    if (closed.outcome !== 'reconciled') {
      return { next: undefined, verdict: { kind: 'already_closed', outcome: closed.outcome } };
    }
    const next: BudgetAccount = {
      ...account,
      booked: {
        micro_usd: account.booked.micro_usd - closed.micro_usd,
        tokens: account.booked.tokens - closed.tokens,
      },
      closed: prune(replaceClosed(account.closed, entry), now, options),
    };
    return {
      next,
      verdict: {
        kind: 'refunded',
        previous: { micro_usd: closed.micro_usd, tokens: closed.tokens },
      },
    };
  }
  const next: BudgetAccount = {
    ...account,
    open: withoutOpen(account.open, intentId),
    closed: prune(replaceClosed(account.closed, entry), now, options),
  };
  return { next, verdict: { kind: 'released', reservation: held } };
}

/**
 * The reason a released intent was refused, when one was recorded: `undefined` for an intent not
 * closed here, or closed otherwise.
 */
export function refusalOf(account: BudgetAccount, intentId: string): string | undefined {
  const closed = closedOf(account, intentId);
  return closed?.outcome === 'released' ? closed.reason : undefined;
}

/**
 * Undoes a reservation as if it had never been made, leaving no tombstone: the compensation of a
 * multi-account reservation that failed on a later account (see {@link reserveAcross}). The
 * intent may be asked about again (a redelivery) and must then be free to reserve. Idempotent:
 * nothing open, nothing written.
 */
export function rollBack(account: BudgetAccount, intentId: string): Transition<RollBackVerdict> {
  assertIntentId(intentId);
  const held = openOf(account, intentId);
  if (held === undefined) return { next: undefined, verdict: { kind: 'not_open' } };
  return {
    next: { ...account, open: withoutOpen(account.open, intentId) },
    verdict: { kind: 'rolled_back', reservation: held },
  };
}

/**
 * Closes reservations held for `timeoutMs` or longer (their executor was lost) by BOOKING them at
 * the reserved amount, and lists them.
 *
 * Why book rather than release: a lost executor may have called a paid upstream before it died,
 * and the reservation is the governor's own estimate of that call. Releasing would let the budget
 * be spent again on money that may already be gone, the one failure a budget exists to prevent;
 * booking can at worst over-count, and it is corrected when the truth arrives: a late `settle`
 * replaces the booking by the actual cost, a late `release` refunds it. The caller publishes the
 * list (`budget.settled`), so an operator sees what was booked without evidence.
 *
 * A reservation stamped in the future (another replica's clock ahead of ours) is not yet due.
 *
 * @throws RangeError on a malformed time or timeout.
 */
export function reconcile(
  account: BudgetAccount,
  now: number,
  timeoutMs: number,
  options: LedgerOptions = DEFAULT_LEDGER_OPTIONS,
  /** Only this intent, when given (its own timer came due). */
  only?: string,
): Transition<ReconcileVerdict> {
  assertSafeInteger(now, 'now');
  assertNonNegativeSafeInteger(timeoutMs, 'timeout');
  const due = Object.entries(account.open)
    .filter(([id]) => only === undefined || id === only)
    .filter(([, reservation]) => now - reservation.reserved_at >= timeoutMs)
    // Oldest first, then by id: the same account always gives the same list.
    .sort(([a, x], [b, y]) => x.reserved_at - y.reserved_at || (a < b ? -1 : a > b ? 1 : 0));
  if (due.length === 0) {
    return { next: undefined, verdict: { reconciled: [], booked: account.booked } };
  }
  let microUsd = account.booked.micro_usd;
  let tokens = account.booked.tokens;
  let open = account.open;
  let closed = account.closed;
  for (const [intentId, reservation] of due) {
    microUsd = addExact(microUsd, reservation.micro_usd);
    tokens = addExact(tokens, reservation.tokens ?? 0);
    open = withoutOpen(open, intentId);
    closed = replaceClosed(closed, {
      id: intentId,
      outcome: 'reconciled',
      micro_usd: reservation.micro_usd,
      tokens: reservation.tokens ?? 0,
      at: now,
    });
  }
  const booked = { micro_usd: microUsd, tokens };
  return {
    next: { ...account, booked, open, closed: prune(closed, now, options) },
    verdict: {
      reconciled: due.map(([intentId, reservation]) => ({ intentId, reservation })),
      booked,
    },
  };
}

/**
 * The order in which one intent's accounts are reserved: the run first, then the agent's day,
 * then the workflow's day. Narrowest first because the narrow account is both the likeliest to
 * refuse (the smallest budget) and the least contended (one run's intents): a refusal there costs
 * no write, and no compensating write, on the hot shared daily accounts that every run of an agent
 * or workflow compare-and-sets.
 */
export const RESERVATION_ORDER: readonly ScopeKind[] = ['run', 'agent', 'workflow'];

/** `keys` without duplicates, in {@link RESERVATION_ORDER} (unknown scopes last, in given order). */
export function orderForReservation(keys: readonly AccountKey[]): AccountKey[] {
  const rank = (key: AccountKey): number => {
    const scope = scopeOfKey(key);
    return scope === undefined ? RESERVATION_ORDER.length : RESERVATION_ORDER.indexOf(scope);
  };
  // Array.prototype.sort is stable: keys of one rank keep the caller's order.
  return [...new Set(keys)].sort((a, b) => rank(a) - rank(b));
}

/**
 * The storage a multi-account reservation needs: a compare-and-set update of one account. The
 * adapter supplies a new account (with the scope's configured limit) when the key is absent, runs
 * `decide` (possibly several times, on newer values after a lost race), writes `next` when it is
 * defined, and resolves to the verdict of the round that won.
 */
export interface AccountUpdater {
  update<V>(key: AccountKey, decide: (account: BudgetAccount) => Transition<V>): Promise<V>;
}

/** The answer of {@link reserveAcross}. */
export type MultiReserveResult =
  /** Held on every account (reserved now or by an earlier delivery). */
  | { readonly kind: 'reserved'; readonly keys: readonly AccountKey[] }
  /**
   * Refused by `key` (`exceeded`, or the intent is already closed there); the accounts reserved
   * before it were rolled back (`rolledBack`), so nothing is held anywhere.
   */
  | {
      readonly kind: 'refused';
      readonly key: AccountKey;
      readonly verdict: Extract<ReserveVerdict, { kind: 'exceeded' | 'already_closed' }>;
      readonly rolledBack: readonly AccountKey[];
    };

/**
 * Reserves `cost` for one intent on several accounts (its run, agent-day and workflow-day), all
 * or nothing: one compare-and-set per account in {@link RESERVATION_ORDER}; when one refuses, the
 * ones already held are rolled back, newest first.
 *
 * Why racing replicas cannot overspend: each account's own CAS enforces booked + open ≤ limit on
 * that account alone, whatever happens on the others, and a rollback only lowers what is held.
 * Between a reservation and its rollback another intent may be refused for lack of room it would
 * have had: the race costs a false denial, never money.
 *
 * If the process dies between a reservation and its rollback (or a rollback throws), the event is
 * redelivered: the retry finds the early accounts `already_reserved`, is refused at the same or an
 * earlier account, and rolls back again. A reservation left by an intent never retried is booked
 * by `reconcile` after its timeout: conservative, and corrected by a later `release`.
 *
 * Rolled back are also accounts the intent held from an earlier delivery (`already_reserved`):
 * they belong to this intent, and an intent is either held everywhere or nowhere. Two copies of
 * the SAME intent processed at the same moment by two replicas share its reservations, so one may
 * roll back what the other relies on; the handler must give one intent one outcome (record the
 * first answer per intent, as the run record does for steps) — that is not the ledger's to solve.
 */
export async function reserveAcross(
  accounts: AccountUpdater,
  keys: readonly AccountKey[],
  intentId: string,
  cost: Cost,
  now: number,
  options: LedgerOptions = DEFAULT_LEDGER_OPTIONS,
): Promise<MultiReserveResult> {
  const ordered = orderForReservation(keys);
  const held: AccountKey[] = [];
  for (const key of ordered) {
    const verdict = await accounts.update(key, (account) =>
      reserve(account, intentId, cost, now, options),
    );
    if (verdict.kind === 'reserved' || verdict.kind === 'already_reserved') {
      held.push(key);
      continue;
    }
    const rolledBack: AccountKey[] = [];
    // Newest first: the mirror of the order of reservation.
    for (const heldKey of [...held].reverse()) {
      await accounts.update(heldKey, (account) => rollBack(account, intentId));
      rolledBack.push(heldKey);
    }
    return { kind: 'refused', key, verdict, rolledBack };
  }
  return { kind: 'reserved', keys: ordered };
}

function overLimit(limit: AccountLimit, used: Booked, cost: Cost): Dimension | undefined {
  if (limit.micro_usd !== undefined && addExact(used.micro_usd, cost.micro_usd) > limit.micro_usd) {
    return 'micro_usd';
  }
  if (limit.tokens !== undefined && addExact(used.tokens, cost.tokens ?? 0) > limit.tokens) {
    return 'tokens';
  }
  return undefined;
}

function openOf(account: BudgetAccount, intentId: string): Reservation | undefined {
  // `hasOwn`: an intent id such as "constructor" must not find Object.prototype's.
  return Object.hasOwn(account.open, intentId) ? account.open[intentId] : undefined;
}

function closedOf(account: BudgetAccount, intentId: string): ClosedIntent | undefined {
  return account.closed.find((entry) => entry.id === intentId);
}

function withoutOpen(
  open: Readonly<Record<string, Reservation>>,
  intentId: string,
): Readonly<Record<string, Reservation>> {
  if (!Object.hasOwn(open, intentId)) return open;
  return Object.fromEntries(Object.entries(open).filter(([id]) => id !== intentId));
}

/** `closed` with `entry` as the newest entry, and any older entry of the same intent dropped. */
function replaceClosed(closed: readonly ClosedIntent[], entry: ClosedIntent): ClosedIntent[] {
  return [...closed.filter((existing) => existing.id !== entry.id), entry];
}

/**
 * Drops closed entries older than the retention, then the oldest beyond the cap. Entries are
 * appended in time order by one writer at a time (CAS), but replicas' clocks differ: filter on
 * age rather than assuming the list is sorted by `at`.
 */
function prune(
  closed: readonly ClosedIntent[],
  now: number,
  options: LedgerOptions,
): readonly ClosedIntent[] {
  // A zero retention or cap would forget the entry just written, and with it idempotency.
  if (options.closedRetentionMs < 1 || options.maxClosed < 1) {
    throw new RangeError('ledger options must keep at least one closed intent for 1 ms');
  }
  const fresh = closed.filter((entry) => now - entry.at < options.closedRetentionMs);
  return fresh.length > options.maxClosed ? fresh.slice(fresh.length - options.maxClosed) : fresh;
}

function assertIntentId(intentId: string): void {
  if (intentId.length === 0) throw new RangeError('intent id must not be empty');
}

function assertCost(cost: Cost): void {
  assertNonNegativeSafeInteger(cost.micro_usd, 'cost in micro-USD');
  if (cost.tokens !== undefined) assertNonNegativeSafeInteger(cost.tokens, 'tokens');
}

function assertLimit(limit: AccountLimit): void {
  if (limit.micro_usd !== undefined) assertNonNegativeSafeInteger(limit.micro_usd, 'limit');
  if (limit.tokens !== undefined) assertNonNegativeSafeInteger(limit.tokens, 'token limit');
}
