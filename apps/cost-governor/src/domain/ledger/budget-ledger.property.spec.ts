import { seededRandom } from '@warden/testing';
import { describe, expect, it } from 'vitest';
import {
  type AccountUpdater,
  type BudgetAccount,
  BudgetAccountSchema,
  type LedgerOptions,
  newAccount,
  reconcile,
  release,
  reserve,
  reserveAcross,
  rollBack,
  settle,
  type Transition,
  usedOf,
} from './budget-ledger.js';

// Nothing expires during the run: the model below remembers everything, and so must the ledger.
const REMEMBER_ALL: LedgerOptions = { closedRetentionMs: Number.MAX_SAFE_INTEGER, maxClosed: 1e9 };

/**
 * The test's own bookkeeping of one account, written as a plain state machine per intent and
 * kept apart from the ledger's code: booked and open totals are recomputed from it, not read
 * from the ledger.
 */
type IntentState =
  | { readonly s: 'open'; readonly micro: number; readonly tokens: number; readonly at: number }
  | { readonly s: 'settled' | 'reconciled'; readonly micro: number; readonly tokens: number }
  | { readonly s: 'released' };

interface Model {
  readonly limitMicro: number;
  readonly limitTokens: number | undefined;
  readonly intents: Map<string, IntentState>;
}

function totals(model: Model): { booked: [number, number]; open: [number, number] } {
  const booked: [number, number] = [0, 0];
  const open: [number, number] = [0, 0];
  for (const state of model.intents.values()) {
    if (state.s === 'released') continue;
    const into = state.s === 'open' ? open : booked;
    into[0] += state.micro;
    into[1] += state.tokens;
  }
  return { booked, open };
}

type Op =
  | { kind: 'reserve'; id: string; micro: number; tokens: number | undefined }
  | { kind: 'settle'; id: string; micro: number; tokens: number | undefined }
  | { kind: 'release'; id: string }
  | { kind: 'rollBack'; id: string }
  | { kind: 'reconcile'; timeout: number };

function apply(account: BudgetAccount, op: Op, now: number): Transition<object> {
  switch (op.kind) {
    case 'reserve':
      return reserve(account, op.id, { micro_usd: op.micro, tokens: op.tokens }, now, REMEMBER_ALL);
    case 'settle':
      return settle(account, op.id, { micro_usd: op.micro, tokens: op.tokens }, now, REMEMBER_ALL);
    case 'release':
      return release(account, op.id, now, REMEMBER_ALL);
    case 'rollBack':
      return rollBack(account, op.id);
    case 'reconcile':
      return reconcile(account, now, op.timeout, REMEMBER_ALL);
  }
}

/** What the model expects `op` to answer, and applies it to the model. */
function expectFromModel(model: Model, op: Op, now: number): string {
  const { intents } = model;
  switch (op.kind) {
    case 'reserve': {
      const state = intents.get(op.id);
      if (state?.s === 'open') return 'already_reserved';
      if (state !== undefined) return 'already_closed';
      const { booked, open } = totals(model);
      const fitsMicro = booked[0] + open[0] + op.micro <= model.limitMicro;
      const fitsTokens =
        model.limitTokens === undefined ||
        booked[1] + open[1] + (op.tokens ?? 0) <= model.limitTokens;
      if (!fitsMicro || !fitsTokens) return 'exceeded';
      intents.set(op.id, { s: 'open', micro: op.micro, tokens: op.tokens ?? 0, at: now });
      return 'reserved';
    }
    case 'settle': {
      const state = intents.get(op.id);
      if (state?.s === 'settled') return 'already_settled';
      intents.set(op.id, { s: 'settled', micro: op.micro, tokens: op.tokens ?? 0 });
      return state?.s === 'reconciled' ? 'corrected' : 'settled';
    }
    case 'release': {
      const state = intents.get(op.id);
      if (state?.s === 'settled' || state?.s === 'released') return 'already_closed';
      intents.set(op.id, { s: 'released' });
      return state?.s === 'reconciled' ? 'refunded' : 'released';
    }
    case 'rollBack': {
      if (intents.get(op.id)?.s !== 'open') return 'not_open';
      intents.delete(op.id);
      return 'rolled_back';
    }
    case 'reconcile': {
      let due = 0;
      for (const [id, state] of intents) {
        if (state.s === 'open' && now - state.at >= op.timeout) {
          intents.set(id, { s: 'reconciled', micro: state.micro, tokens: state.tokens });
          due++;
        }
      }
      return `reconciled:${due}`;
    }
  }
}

/**
 * A cheap equality check for the hot loop (vitest's `expect` costs more than the ledger itself
 * here); on a mismatch it hands over to `expect` for a readable diff.
 */
function same(actual: unknown, expected: unknown, message: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected))
    expect(actual, message).toEqual(expected);
}

describe('budget ledger, random operations against an independent model', () => {
  it.each([1, 2, 3])('holds every invariant over 12,000 operations (seed %i)', (seed) => {
    const random = seededRandom(seed);
    const keys = ['run.a', 'run.b', 'agent.x.2026-01-01', 'workflow.w.2026-01-01'];
    const stored = new Map<string, BudgetAccount>();
    const models = new Map<string, Model>();
    // Booked spend only grows, so every account ends up full; a fresh account now and then (a
    // new day, a new run) keeps reservations succeeding as well as being refused.
    const openAccounts = () => {
      for (const key of keys) {
        const limitMicro = 20_000 + random.int(120_000);
        const limitTokens = random.next() < 0.5 ? undefined : 2_000 + random.int(10_000);
        stored.set(key, newAccount({ micro_usd: limitMicro, tokens: limitTokens }));
        models.set(key, { limitMicro, limitTokens, intents: new Map() });
      }
    };
    openAccounts();
    const ids = Array.from({ length: 400 }, (_, i) => `01J${String(i).padStart(23, '0')}`);
    let now = 1_767_225_600_000;
    let overruns = 0;
    const seen = new Map<string, number>();

    for (let step = 0; step < 12_000; step++) {
      if (step % 1_500 === 1_499) openAccounts();
      // Mostly forward, sometimes a replica with a clock behind (an out-of-order replay).
      now += random.next() < 0.05 ? -random.int(5_000) : random.int(1_000);
      const key = keys[random.int(keys.length)]!;
      const model = models.get(key)!;
      // A small window of "current" intents makes duplicates and replays common.
      const id =
        ids[Math.min(ids.length - 1, Math.floor(step / 40) + random.int(12) - 3)] ?? ids[0]!;
      const micro = random.int(20_000);
      const tokens = random.next() < 0.5 ? undefined : random.int(400);
      // A settlement usually costs at most its reservation; one in twenty costs more.
      const state = model.intents.get(id);
      const held = state?.s === 'open' ? state : undefined;
      const actual =
        held === undefined
          ? { micro: random.int(2_000), tokens: undefined }
          : random.next() < 0.05
            ? { micro: held.micro * 2 + 1, tokens: held.tokens * 2 + 1 }
            : { micro: random.int(held.micro + 1), tokens: random.int(held.tokens + 1) };
      const roll = random.next();
      const op: Op =
        roll < 0.4
          ? { kind: 'reserve', id, micro, tokens }
          : roll < 0.65
            ? { kind: 'settle', id, ...actual }
            : roll < 0.8
              ? { kind: 'release', id }
              : roll < 0.92
                ? { kind: 'rollBack', id }
                : { kind: 'reconcile', timeout: random.int(20_000) };

      const before = stored.get(key)!;
      const usedBefore = usedOf(before);
      const expected = expectFromModel(model, op, now);
      const transition = apply(before, op, now);
      const verdict = transition.verdict as { kind?: string; reconciled?: unknown[] };
      const kind =
        op.kind === 'reconcile' ? `reconciled:${verdict.reconciled?.length ?? -1}` : verdict.kind;
      const answer =
        kind?.startsWith('reconciled:') === true && kind !== 'reconciled:0'
          ? 'reconciled'
          : (kind ?? '');
      seen.set(answer, (seen.get(answer) ?? 0) + 1);
      same(kind, expected, `step ${step}: ${JSON.stringify(op)} on ${key}: answer`);

      // Stored as KV stores it: JSON, read back (through the schema now and then: it is slow).
      const json: unknown = JSON.parse(JSON.stringify(transition.next ?? before));
      const after = (step % 100 === 0 ? BudgetAccountSchema.parse(json) : json) as BudgetAccount;
      stored.set(key, after);

      // Exact arithmetic: booked and open equal the model's sums, to the micro-USD and token.
      const { booked, open } = totals(model);
      same([after.booked.micro_usd, after.booked.tokens], booked, `step ${step}: booked`);
      const used = usedOf(after);
      same(
        [used.micro_usd - after.booked.micro_usd, used.tokens - after.booked.tokens],
        open,
        `step ${step}: open`,
      );
      same(
        Object.keys(after.open).sort(),
        [...model.intents]
          .filter(([, s]) => s.s === 'open')
          .map(([i]) => i)
          .sort(),
        `step ${step}: open intents`,
      );

      // Only settle may take an account past its limit; reserve never does, nor succeeds after.
      const overLimit =
        used.micro_usd > model.limitMicro ||
        (model.limitTokens !== undefined && used.tokens > model.limitTokens);
      if (op.kind === 'reserve') {
        if (verdict.kind === 'reserved') same(overLimit, false, `step ${step}: reserved over`);
        const wasOver =
          usedBefore.micro_usd > model.limitMicro ||
          (model.limitTokens !== undefined && usedBefore.tokens > model.limitTokens);
        // Redeliveries keep their answer (`already_*`); nothing new is reserved.
        if (wasOver) same(verdict.kind === 'reserved', false, `step ${step}: reserved when over`);
      }
      if (overLimit && op.kind === 'settle') overruns++;

      // Idempotent: the same operation again writes nothing.
      same(apply(after, op, now).next, undefined, `step ${step}: replay wrote`);
    }
    // The run exercised the interesting paths, not just refusals.
    expect(overruns).toBeGreaterThan(0);
    const answers = [
      'reserved',
      'already_reserved',
      'exceeded',
      'already_closed',
      'settled',
      'already_settled',
      'corrected',
      'released',
      'refunded',
      'rolled_back',
      'not_open',
      'reconciled',
    ];
    for (const answer of answers) expect(seen.get(answer), answer).toBeGreaterThan(50);
  });
});

describe('multi-account reservation under racing replicas', () => {
  it('never overspends an account and never leaves an intent partly reserved', async () => {
    const random = seededRandom(42);
    const limits: Record<string, number> = {
      'run.r0': 40_000,
      'run.r1': 60_000,
      'run.r2': 1_000_000,
      'agent.bot.2026-01-01': 90_000,
      'agent.eve.2026-01-01': 30_000,
      'workflow.w.2026-01-01': 110_000,
    };
    const accounts = new Map<string, BudgetAccount>();
    let lostRaces = 0;
    // A compare-and-set store: `decide` sometimes runs on a value that then loses the race and
    // is thrown away (as casUpdate does), and every update waits a random number of turns, so
    // the steps of concurrent reservations interleave.
    const store: AccountUpdater = {
      async update<V>(key: string, decide: (account: BudgetAccount) => Transition<V>) {
        for (;;) {
          for (let turns = random.int(4); turns > 0; turns--) await Promise.resolve();
          const seen = accounts.get(key) ?? newAccount({ micro_usd: limits[key] ?? 0 });
          const { next, verdict } = decide(seen);
          if (random.next() < 0.1) {
            lostRaces++;
            continue;
          }
          if (next !== undefined) {
            expect(usedOf(next).micro_usd).toBeLessThanOrEqual(limits[key] ?? 0);
            accounts.set(key, next);
          }
          return verdict;
        }
      },
    };
    const intents = Array.from({ length: 2_000 }, (_, i) => {
      const run = `run.r${random.int(3)}`;
      const agent = random.next() < 0.7 ? 'agent.bot.2026-01-01' : 'agent.eve.2026-01-01';
      return {
        id: `i${i}`,
        keys: [agent, 'workflow.w.2026-01-01', run],
        cost: { micro_usd: 100 + random.int(2_000) },
      };
    });
    // Every intent once, concurrently; then a sequential redelivery of a random tenth.
    const results = await Promise.all(
      intents.map((intent) => reserveAcross(store, intent.keys, intent.id, intent.cost, 0)),
    );
    for (const intent of intents) {
      if (random.next() < 0.1) await reserveAcross(store, intent.keys, intent.id, intent.cost, 0);
    }

    let reserved = 0;
    for (const [index, intent] of intents.entries()) {
      const holders = intent.keys.filter((key) =>
        Object.hasOwn(accounts.get(key)?.open ?? {}, intent.id),
      );
      expect([0, intent.keys.length]).toContain(holders.length);
      if (holders.length > 0) reserved++;
      // A first answer of `reserved` is never undone by a later redelivery.
      if (results[index]?.kind === 'reserved') expect(holders.length).toBe(intent.keys.length);
    }
    for (const [key, account] of accounts) {
      expect(usedOf(account).micro_usd).toBeLessThanOrEqual(limits[key] ?? 0);
    }
    // Enough contention that both answers, and lost races, happened.
    expect(reserved).toBeGreaterThan(10);
    expect(reserved).toBeLessThan(intents.length);
    expect(lostRaces).toBeGreaterThan(50);
  });
});
