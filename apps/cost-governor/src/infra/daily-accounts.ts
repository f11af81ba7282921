import type { KV } from '@nats-io/kv';
import { casUpdate } from '@warden/messaging';
import {
  BudgetAccountSchema,
  newAccount,
  setLimit,
  type AccountKey,
  type AccountLimit,
  type AccountUpdater,
  type BudgetAccount,
  type Transition,
} from '../domain/ledger/index.js';

/**
 * The daily accounts of agents and workflows (`agent.<id>.<day>`, `workflow.<id>.<day>`) in KV
 * `budgets`, each updated by compare-and-set. Every update first brings the account's limit to
 * the one configured now, so `warden budgets set` applies to today's account from the next intent
 * on (reservations already held stay held).
 */
export class DailyAccounts {
  constructor(private readonly kv: KV) {}

  /** An updater for `reserveAcross` and settlement, with each key's limit as configured now. */
  updater(limits: ReadonlyMap<AccountKey, AccountLimit>): AccountUpdater {
    return {
      update: async <V>(key: AccountKey, decide: (account: BudgetAccount) => Transition<V>) => {
        const limit = limits.get(key) ?? {};
        let verdict: V | undefined;
        await casUpdate<BudgetAccount>(
          this.kv,
          key,
          (stored) => {
            const current = stored === undefined ? newAccount(limit) : parsed(key, stored);
            const limited = setLimit(current, limit);
            const account = limited ?? current;
            const decision = decide(account);
            verdict = decision.verdict;
            return decision.next ?? limited;
          },
          { maxAttempts: 30 },
        );
        return verdict as V;
      },
    };
  }

  /**
   * Applies `change` to an account that exists; an absent one stays absent (its scope had no
   * daily budget that day).
   */
  async change(
    key: AccountKey,
    change: (account: BudgetAccount) => Transition<unknown>,
  ): Promise<void> {
    await casUpdate<BudgetAccount>(
      this.kv,
      key,
      (stored) => (stored === undefined ? undefined : change(parsed(key, stored)).next),
      { maxAttempts: 30 },
    );
  }

  /** One account as stored, or `undefined` when nothing was ever reserved on it. */
  async read(key: AccountKey): Promise<BudgetAccount | undefined> {
    const entry = await this.kv.get(key);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return parsed(key, entry.json<unknown>());
  }
}

function parsed(key: string, value: unknown): BudgetAccount {
  const result = BudgetAccountSchema.safeParse(value);
  // A value the ledger cannot read must stop the reservation, not be overwritten with a fresh
  // account: failing closed keeps the money it recorded.
  if (!result.success)
    throw new Error(`budget account ${key} is unreadable: ${result.error.message}`);
  return result.data;
}
