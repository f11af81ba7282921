import { describe, expect, it } from 'vitest';
import {
  type AccountUpdater,
  type BudgetAccount,
  newAccount,
  orderForReservation,
  reconcile,
  release,
  remainingOf,
  reserve,
  reserveAcross,
  rollBack,
  setLimit,
  settle,
  type Transition,
  usedOf,
} from './budget-ledger.js';

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/** Applies a transition and returns the account after it (the same one when nothing changed). */
function after<V>(account: BudgetAccount, transition: Transition<V>): BudgetAccount {
  return transition.next ?? account;
}

/** An account with `limit` µUSD where `ids` each reserved `each` µUSD. */
function withReservations(limit: number, ids: string[], each: number): BudgetAccount {
  return ids.reduce(
    (account, id) => after(account, reserve(account, id, { micro_usd: each }, T0)),
    newAccount({ micro_usd: limit }),
  );
}

describe('reserve', () => {
  it('holds a reservation that fits and says what remains', () => {
    const decision = reserve(newAccount({ micro_usd: 1_000 }), 'a', { micro_usd: 400 }, T0);
    expect(decision.verdict).toEqual({
      kind: 'reserved',
      reservation: { micro_usd: 400, reserved_at: T0 },
      remaining: { micro_usd: 600 },
    });
    expect(decision.next?.open).toEqual({ a: { micro_usd: 400, reserved_at: T0 } });
  });

  it('fills the budget exactly, then refuses with what remains, writing nothing', () => {
    const account = withReservations(1_000, ['a', 'b'], 500);
    expect(usedOf(account).micro_usd).toBe(1_000);
    expect(reserve(account, 'c', { micro_usd: 1 }, T0)).toEqual({
      next: undefined,
      verdict: { kind: 'exceeded', dimension: 'micro_usd', remaining: { micro_usd: 0 } },
    });
    // A free call still fits a budget that is exactly used up.
    expect(reserve(account, 'c', { micro_usd: 0 }, T0).verdict.kind).toBe('reserved');
  });

  it('answers a redelivered intent as before, without reserving twice', () => {
    const account = withReservations(1_000, ['a'], 400);
    expect(reserve(account, 'a', { micro_usd: 400 }, T0 + 5)).toEqual({
      next: undefined,
      verdict: {
        kind: 'already_reserved',
        reservation: { micro_usd: 400, reserved_at: T0 },
        remaining: { micro_usd: 600 },
      },
    });
  });

  it('keeps a redelivered reservation even after the limit was lowered under it', () => {
    const account = withReservations(1_000, ['a'], 400);
    const lowered = setLimit(account, { micro_usd: 100 });
    if (lowered === undefined) throw new Error('limit unchanged');
    expect(reserve(lowered, 'a', { micro_usd: 400 }, T0).verdict.kind).toBe('already_reserved');
    expect(reserve(lowered, 'b', { micro_usd: 0 }, T0).verdict.kind).toBe('exceeded');
  });

  it('refuses an intent already settled, released or reconciled here', () => {
    let account = withReservations(1_000, ['a', 'b', 'c'], 100);
    account = after(account, settle(account, 'a', { micro_usd: 50 }, T0));
    account = after(account, release(account, 'b', T0));
    account = after(account, reconcile(account, T0 + 10, 10));
    for (const [id, outcome] of [
      ['a', 'settled'],
      ['b', 'released'],
      ['c', 'reconciled'],
    ] as const) {
      expect(reserve(account, id, { micro_usd: 1 }, T0)).toEqual({
        next: undefined,
        verdict: { kind: 'already_closed', outcome },
      });
    }
  });

  it('checks tokens as a second dimension', () => {
    const account = newAccount({ micro_usd: 1_000, tokens: 100 });
    const first = after(account, reserve(account, 'a', { micro_usd: 1, tokens: 80 }, T0));
    expect(reserve(first, 'b', { micro_usd: 1, tokens: 21 }, T0).verdict).toEqual({
      kind: 'exceeded',
      dimension: 'tokens',
      remaining: { micro_usd: 999, tokens: 20 },
    });
    expect(reserve(first, 'b', { micro_usd: 1 }, T0).verdict.kind).toBe('reserved');
  });

  it('reserves anything on an unlimited account', () => {
    const account = newAccount({});
    const decision = reserve(account, 'a', { micro_usd: Number.MAX_SAFE_INTEGER }, T0);
    expect(decision.verdict).toMatchObject({ kind: 'reserved', remaining: {} });
  });

  it('finds no reservation under an intent id that is an Object.prototype member', () => {
    const account = newAccount({ micro_usd: 10 });
    expect(reserve(account, 'constructor', { micro_usd: 1 }, T0).verdict.kind).toBe('reserved');
    expect(rollBack(account, 'toString').verdict.kind).toBe('not_open');
  });

  it('refuses malformed amounts: money is integer micro-USD', () => {
    const account = newAccount({ micro_usd: 10 });
    expect(() => reserve(account, 'a', { micro_usd: 0.5 }, T0)).toThrow(RangeError);
    expect(() => reserve(account, 'a', { micro_usd: -1 }, T0)).toThrow(RangeError);
    expect(() => reserve(account, 'a', { micro_usd: 1, tokens: Number.NaN }, T0)).toThrow(
      RangeError,
    );
    expect(() => reserve(account, '', { micro_usd: 1 }, T0)).toThrow(RangeError);
  });
});

describe('settle', () => {
  it('books the actual cost and releases the rest of the reservation', () => {
    const account = withReservations(1_000, ['a'], 400);
    const decision = settle(account, 'a', { micro_usd: 250 }, T0 + 1);
    expect(decision.verdict).toEqual({
      kind: 'settled',
      reserved: { micro_usd: 400 },
      actual: { micro_usd: 250 },
      booked: { micro_usd: 250, tokens: 0 },
    });
    const next = after(account, decision);
    expect(next.open).toEqual({});
    expect(remainingOf(next)).toEqual({ micro_usd: 750 });
  });

  it('books an actual above the reservation, and then no reservation succeeds', () => {
    const account = withReservations(1_000, ['a'], 900);
    const over = after(account, settle(account, 'a', { micro_usd: 1_200 }, T0));
    expect(over.booked.micro_usd).toBe(1_200);
    expect(remainingOf(over)).toEqual({ micro_usd: 0 });
    expect(reserve(over, 'b', { micro_usd: 0 }, T0).verdict.kind).toBe('exceeded');
  });

  it('is idempotent: a second settlement books nothing and answers with the first actual', () => {
    const account = withReservations(1_000, ['a'], 400);
    const settled = after(account, settle(account, 'a', { micro_usd: 300, tokens: 7 }, T0));
    expect(settle(settled, 'a', { micro_usd: 999 }, T0 + 1)).toEqual({
      next: undefined,
      verdict: {
        kind: 'already_settled',
        actual: { micro_usd: 300, tokens: 7 },
        booked: { micro_usd: 300, tokens: 7 },
      },
    });
  });

  it('corrects a reconciled booking to the actual once it arrives', () => {
    const account = withReservations(1_000, ['a'], 400);
    const reconciled = after(account, reconcile(account, T0 + 60_000, 60_000));
    expect(reconciled.booked.micro_usd).toBe(400);
    const decision = settle(reconciled, 'a', { micro_usd: 120 }, T0 + 70_000);
    expect(decision.verdict).toEqual({
      kind: 'corrected',
      previous: { micro_usd: 400, tokens: 0 },
      actual: { micro_usd: 120 },
      booked: { micro_usd: 120, tokens: 0 },
    });
    const corrected = after(reconciled, decision);
    expect(settle(corrected, 'a', { micro_usd: 120 }, T0).verdict.kind).toBe('already_settled');
  });

  it('books an unreserved actual (it happened), once', () => {
    const account = newAccount({ micro_usd: 1_000 });
    const decision = settle(account, 'x', { micro_usd: 30 }, T0);
    expect(decision.verdict).toMatchObject({ kind: 'settled', reserved: undefined });
    const booked = after(account, decision);
    expect(settle(booked, 'x', { micro_usd: 30 }, T0).next).toBeUndefined();
    expect(booked.booked.micro_usd).toBe(30);
  });

  it('books the actual of an intent released before (the settlement is evidence of cost)', () => {
    const account = withReservations(1_000, ['a'], 400);
    const released = after(account, release(account, 'a', T0));
    const settled = after(released, settle(released, 'a', { micro_usd: 10 }, T0));
    expect(settled.booked.micro_usd).toBe(10);
    expect(settled.closed).toEqual([
      { id: 'a', outcome: 'settled', micro_usd: 10, tokens: 0, at: T0 },
    ]);
  });
});

describe('release', () => {
  it('frees the reservation and remembers the intent so it cannot be reserved again', () => {
    const account = withReservations(1_000, ['a'], 400);
    const decision = release(account, 'a', T0);
    expect(decision.verdict).toEqual({
      kind: 'released',
      reservation: { micro_usd: 400, reserved_at: T0 },
    });
    const released = after(account, decision);
    expect(usedOf(released).micro_usd).toBe(0);
    expect(release(released, 'a', T0 + 1)).toEqual({
      next: undefined,
      verdict: { kind: 'already_closed', outcome: 'released' },
    });
    expect(reserve(released, 'a', { micro_usd: 1 }, T0).verdict.kind).toBe('already_closed');
  });

  it('leaves a settled cost standing', () => {
    const account = withReservations(1_000, ['a'], 400);
    const settled = after(account, settle(account, 'a', { micro_usd: 100 }, T0));
    expect(release(settled, 'a', T0)).toEqual({
      next: undefined,
      verdict: { kind: 'already_closed', outcome: 'settled' },
    });
  });

  it('refunds a reconciled booking: the intent is now known not to have run', () => {
    const account = withReservations(1_000, ['a'], 400);
    const reconciled = after(account, reconcile(account, T0 + 5, 5));
    const decision = release(reconciled, 'a', T0 + 6);
    expect(decision.verdict).toEqual({ kind: 'refunded', previous: { micro_usd: 400, tokens: 0 } });
    expect(after(reconciled, decision).booked).toEqual({ micro_usd: 0, tokens: 0 });
  });

  it('writes a tombstone for an intent never reserved here (a denial that raced ahead)', () => {
    const account = newAccount({ micro_usd: 1_000 });
    const released = after(account, release(account, 'a', T0));
    expect(reserve(released, 'a', { micro_usd: 1 }, T0).verdict).toEqual({
      kind: 'already_closed',
      outcome: 'released',
    });
  });
});

describe('rollBack', () => {
  it('undoes a reservation without a trace, so the intent may reserve again', () => {
    const account = withReservations(1_000, ['a'], 400);
    const rolled = after(account, rollBack(account, 'a'));
    expect(rolled).toEqual(newAccount({ micro_usd: 1_000 }));
    expect(rollBack(rolled, 'a')).toEqual({ next: undefined, verdict: { kind: 'not_open' } });
    expect(reserve(rolled, 'a', { micro_usd: 400 }, T0).verdict.kind).toBe('reserved');
  });

  it('does not touch a settled intent', () => {
    const account = withReservations(1_000, ['a'], 400);
    const settled = after(account, settle(account, 'a', { micro_usd: 1 }, T0));
    expect(rollBack(settled, 'a').next).toBeUndefined();
  });
});

describe('reconcile', () => {
  it('books reservations older than the timeout at their reserved amount, and lists them', () => {
    let account = withReservations(1_000, ['old'], 300);
    account = after(account, reserve(account, 'new', { micro_usd: 200 }, T0 + 50_000));
    const decision = reconcile(account, T0 + 60_000, 60_000);
    expect(decision.verdict).toEqual({
      reconciled: [{ intentId: 'old', reservation: { micro_usd: 300, reserved_at: T0 } }],
      booked: { micro_usd: 300, tokens: 0 },
    });
    const next = after(account, decision);
    expect(Object.keys(next.open)).toEqual(['new']);
    expect(usedOf(next).micro_usd).toBe(500);
  });

  it('writes nothing when nothing is due, and is idempotent', () => {
    const account = withReservations(1_000, ['a'], 300);
    expect(reconcile(account, T0 + 59_999, 60_000).next).toBeUndefined();
    const reconciled = after(account, reconcile(account, T0 + 60_000, 60_000));
    expect(reconcile(reconciled, T0 + 120_000, 60_000).next).toBeUndefined();
  });

  it('leaves a reservation stamped in the future (a clock ahead of ours) alone', () => {
    const account = withReservations(1_000, ['a'], 300);
    expect(reconcile(account, T0 - 1_000, 0).next).toBeUndefined();
  });
});

describe('closed intents are bounded', () => {
  const options = { closedRetentionMs: 1_000, maxClosed: 3 };

  it('keeps at most maxClosed, dropping the oldest', () => {
    let account = newAccount({});
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      account = after(account, settle(account, id, { micro_usd: 1 }, T0, options));
    }
    expect(account.closed.map((entry) => entry.id)).toEqual(['c', 'd', 'e']);
    expect(account.booked.micro_usd).toBe(5);
  });

  it('forgets entries past their retention on the next write', () => {
    let account = newAccount({});
    account = after(account, settle(account, 'a', { micro_usd: 1 }, T0, options));
    account = after(account, settle(account, 'b', { micro_usd: 1 }, T0 + 999, options));
    account = after(account, reserve(account, 'c', { micro_usd: 1 }, T0 + 1_000, options));
    expect(account.closed.map((entry) => entry.id)).toEqual(['b']);
  });

  it('refuses options that would forget the entry just written', () => {
    const account = newAccount({});
    expect(() =>
      settle(account, 'a', { micro_usd: 1 }, T0, { closedRetentionMs: 0, maxClosed: 3 }),
    ).toThrow(RangeError);
  });
});

describe('setLimit', () => {
  it('changes the limit, and writes nothing when it is the same', () => {
    const account = newAccount({ micro_usd: 10 });
    expect(setLimit(account, { micro_usd: 10 })).toBeUndefined();
    expect(setLimit(account, { micro_usd: 5, tokens: 3 })?.limit).toEqual({
      micro_usd: 5,
      tokens: 3,
    });
    expect(() => setLimit(account, { micro_usd: -1 })).toThrow(RangeError);
  });
});

/** Accounts in a Map behind the {@link AccountUpdater} port; every update is atomic. */
function memoryAccounts(limits: Record<string, number>): AccountUpdater & {
  accounts: Map<string, BudgetAccount>;
  log: string[];
} {
  const accounts = new Map<string, BudgetAccount>();
  const log: string[] = [];
  return {
    accounts,
    log,
    update<V>(key: string, decide: (account: BudgetAccount) => Transition<V>): Promise<V> {
      const current = accounts.get(key) ?? newAccount({ micro_usd: limits[key] ?? 0 });
      const { next, verdict } = decide(current);
      if (next !== undefined) accounts.set(key, next);
      log.push(key);
      return Promise.resolve(verdict);
    },
  };
}

describe('reserveAcross', () => {
  const keys = ['workflow.w.2026-01-01', 'run.r1', 'agent.bot.2026-01-01'];

  it('orders the accounts narrowest first: run, agent-day, workflow-day', () => {
    expect(orderForReservation([...keys, 'run.r1'])).toEqual([
      'run.r1',
      'agent.bot.2026-01-01',
      'workflow.w.2026-01-01',
    ]);
  });

  it('holds the intent on every account when all fit', async () => {
    const store = memoryAccounts({
      'run.r1': 100,
      'agent.bot.2026-01-01': 100,
      'workflow.w.2026-01-01': 100,
    });
    const result = await reserveAcross(store, keys, 'a', { micro_usd: 60 }, T0);
    expect(result).toEqual({
      kind: 'reserved',
      keys: ['run.r1', 'agent.bot.2026-01-01', 'workflow.w.2026-01-01'],
    });
    for (const account of store.accounts.values()) expect(usedOf(account).micro_usd).toBe(60);
  });

  it('rolls back the accounts already reserved when a later one is exceeded', async () => {
    const store = memoryAccounts({
      'run.r1': 100,
      'agent.bot.2026-01-01': 100,
      'workflow.w.2026-01-01': 50,
    });
    const result = await reserveAcross(store, keys, 'a', { micro_usd: 60 }, T0);
    expect(result).toEqual({
      kind: 'refused',
      key: 'workflow.w.2026-01-01',
      verdict: { kind: 'exceeded', dimension: 'micro_usd', remaining: { micro_usd: 50 } },
      rolledBack: ['agent.bot.2026-01-01', 'run.r1'],
    });
    for (const account of store.accounts.values()) expect(usedOf(account).micro_usd).toBe(0);
    // The rollback left no tombstone: a redelivery, once there is room, reserves.
    store.accounts.set('workflow.w.2026-01-01', newAccount({ micro_usd: 100 }));
    expect((await reserveAcross(store, keys, 'a', { micro_usd: 60 }, T0)).kind).toBe('reserved');
  });

  it('touches no daily account when the run refuses', async () => {
    const store = memoryAccounts({ 'run.r1': 10 });
    const result = await reserveAcross(store, keys, 'a', { micro_usd: 60 }, T0);
    expect(result).toMatchObject({ kind: 'refused', key: 'run.r1', rolledBack: [] });
    expect(store.log).toEqual(['run.r1']);
  });

  it('finishes the rollback a crashed attempt left undone', async () => {
    const store = memoryAccounts({
      'run.r1': 100,
      'agent.bot.2026-01-01': 100,
      'workflow.w.2026-01-01': 50,
    });
    // The first attempt reserved the run and died before the agent-day.
    await store.update('run.r1', (account) => reserve(account, 'a', { micro_usd: 60 }, T0));
    const result = await reserveAcross(store, keys, 'a', { micro_usd: 60 }, T0);
    expect(result.kind).toBe('refused');
    for (const account of store.accounts.values()) expect(usedOf(account).micro_usd).toBe(0);
  });
});
