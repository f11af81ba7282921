import { describe, expect, it } from 'vitest';
import { deriveRisk, type RiskSource } from './derive-risk.js';
import { type Condition, evaluateCondition } from './risk-condition.js';

describe('evaluateCondition', () => {
  const args = {
    amount: 120,
    status: 'open',
    ticket_ids: [1, 2, 3],
    items: [{ price: 5 }, { price: 50 }],
    note: null,
  };

  it.each<[Condition, boolean]>([
    [{ path: 'amount', op: 'present' }, true],
    [{ path: 'missing', op: 'present' }, false],
    [{ path: 'note', op: 'present' }, false], // null counts as absent
    [{ path: 'ticket_ids', op: 'count_gt', value: 2 }, true],
    [{ path: 'ticket_ids', op: 'count_gt', value: 3 }, false],
    [{ path: 'amount', op: 'gt', value: 119 }, true],
    [{ path: 'amount', op: 'gt', value: 120 }, false],
    [{ path: 'amount', op: 'gte', value: 120 }, true],
    [{ path: 'amount', op: 'lt', value: 121 }, true],
    [{ path: 'amount', op: 'lte', value: 119 }, false],
    [{ path: 'status', op: 'eq', value: 'open' }, true],
    [{ path: 'status', op: 'eq', value: 'closed' }, false],
    [{ path: 'status', op: 'in', value: ['pending', 'open'] }, true],
    [{ path: 'items.*.price', op: 'gt', value: 10 }, true], // any item
    [{ path: 'items.*.price', op: 'gt', value: 100 }, false],
    [
      {
        all: [
          { path: 'amount', op: 'present' },
          { path: 'status', op: 'eq', value: 'open' },
        ],
      },
      true,
    ],
    [
      {
        all: [
          { path: 'amount', op: 'present' },
          { path: 'status', op: 'eq', value: 'x' },
        ],
      },
      false,
    ],
    [
      {
        any: [
          { path: 'missing', op: 'present' },
          { path: 'status', op: 'eq', value: 'open' },
        ],
      },
      true,
    ],
  ])('%j → %s', (condition, expected) => {
    expect(evaluateCondition(condition, args)).toBe(expected);
  });

  it('is false, never an exception, when the args do not have the expected shape', () => {
    const conditions: Condition[] = [
      { path: 'a.b', op: 'present' },
      { path: 'a', op: 'count_gt', value: 0 },
      { path: 'a', op: 'gt', value: 0 },
      { path: 'a.*.b', op: 'eq', value: 1 },
      { path: 'a', op: 'in', value: [1] },
    ];
    const shapes: unknown[] = [
      undefined,
      null,
      1,
      'a',
      [],
      { a: 'text' },
      { a: { b: null } },
      { a: { length: 5 } },
    ];
    for (const condition of conditions) {
      for (const shape of shapes) expect(evaluateCondition(condition, shape)).toBe(false);
    }
    // Prototype properties are never read.
    expect(evaluateCondition({ path: 'constructor', op: 'present' }, {})).toBe(false);
    expect(
      evaluateCondition(
        { path: 'ticket_ids', op: 'count_gt', value: 0 },
        Object.create({ ticket_ids: [1] }),
      ),
    ).toBe(false);
  });
});

describe('deriveRisk', () => {
  const bulkClose: RiskSource = {
    kind: 'write',
    pii: ['note', 'customer.email'],
    risk: [
      { flag: 'bulk', when: { path: 'ticket_ids', op: 'count_gt', value: 10 } },
      { flag: 'money', when: { path: 'amount', op: 'present' } },
      { flag: 'vip', when: { path: 'customer.tier', op: 'eq', value: 'vip' } },
      { flag: 'vip', when: { path: 'amount', op: 'gte', value: 1_000 } },
    ],
  };
  const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  it('flags bulk when ticket_ids has more than 10 items', () => {
    expect(deriveRisk(bulkClose, { ticket_ids: ids(10) }).bulk).toBe(false);
    expect(deriveRisk(bulkClose, { ticket_ids: ids(11) }).bulk).toBe(true);
  });

  it('flags money when amount is set', () => {
    expect(deriveRisk(bulkClose, {}).money).toBe(false);
    expect(deriveRisk(bulkClose, { amount: 0 }).money).toBe(true);
  });

  it('flags pii when any pii path holds a value', () => {
    expect(deriveRisk(bulkClose, { note: null }).pii).toBe(false);
    expect(deriveRisk(bulkClose, { customer: { email: 'a@b.co' } }).pii).toBe(true);
    expect(deriveRisk(bulkClose, { note: '' }).pii).toBe(true);
  });

  it('derives write from the kind and always lists every standard and declared flag', () => {
    expect(deriveRisk({ kind: 'read', pii: [], risk: [] }, {})).toEqual({
      write: false,
      bulk: false,
      money: false,
      pii: false,
      permission: false,
      production: false,
    });
    expect(deriveRisk(bulkClose, {})).toEqual({
      write: true,
      bulk: false,
      money: false,
      pii: false,
      permission: false,
      production: false,
      vip: false,
    });
  });

  it('raises a flag when any of its rules holds', () => {
    expect(deriveRisk(bulkClose, { amount: 5_000 }).vip).toBe(true);
    expect(deriveRisk(bulkClose, { customer: { tier: 'vip' } }).vip).toBe(true);
  });

  it('never throws on args that were not validated', () => {
    for (const args of [undefined, null, 42, 'x', [], { ticket_ids: 'many' }, { customer: [] }]) {
      expect(deriveRisk(bulkClose, args).write).toBe(true);
    }
  });
});
